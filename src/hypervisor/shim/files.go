package shim

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// prepareDir gives the VM's user exactly what the VMM touches: the directory may be
// traversed by its group (0710 root:gid; every other file in it stays root's), the input
// FIFOs and the readable files are its own, and the jail's mount point exists.
func prepareDir(c Config) error {
	if err := os.Chown(c.Dir, 0, int(c.GID)); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	if err := os.Chmod(c.Dir, 0o710); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	if err := os.Mkdir(c.Root, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("jail root: %w", err)
	}
	for _, p := range c.Readable {
		if err := os.Chown(p, int(c.UID), int(c.GID)); err != nil {
			return fmt.Errorf("readable: %w", err)
		}
		if err := os.Chmod(p, 0o400); err != nil {
			return fmt.Errorf("readable: %w", err)
		}
	}
	for _, base := range c.Inputs {
		for _, p := range []string{base + ".in", base + ".out"} {
			if err := mkfifo(p, c.UID, c.GID); err != nil {
				return err
			}
		}
	}
	return nil
}

// mkfifo makes a fresh FIFO owned by the VM's user, 0600.
func mkfifo(path string, uid, gid uint32) error {
	_ = os.Remove(path)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return fmt.Errorf("mkfifo %s: %w", path, err)
	}
	if err := os.Chown(path, int(uid), int(gid)); err != nil {
		return fmt.Errorf("mkfifo %s: %w", path, err)
	}
	return nil
}

// fifo is the shim's side of an output FIFO: the read end, and a write end held until the
// VMM is gone so that reading only ends (EOF) when the shim lets go.
type fifo struct {
	r, keep *os.File
}

func openFIFO(path string, uid, gid uint32) (fifo, error) {
	if err := mkfifo(path, uid, gid); err != nil {
		return fifo{}, err
	}
	// nonblocking: opening the read end does not wait for a writer, and reads go through
	// the runtime's poller
	r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return fifo{}, fmt.Errorf("open %s: %w", path, err)
	}
	keep, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		r.Close()
		return fifo{}, fmt.Errorf("open %s: %w", path, err)
	}
	return fifo{r: r, keep: keep}, nil
}

// openTap attaches to the persistent tap name as QEMU's tap backend would (IFF_TAP,
// IFF_NO_PI, IFF_VNET_HDR), so the jail needs no /dev/net/tun. QEMU probes the descriptor
// for IFF_VNET_HDR and uses virtio-net headers as it does with ifname=.
func openTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: TUNSETIFF: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

// listenMonitor makes the monitor's listening socket (0600 root: only the host connects).
func listenMonitor(path string) (*os.File, error) {
	_ = os.Remove(path)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	l.SetUnlinkOnClose(false)
	defer l.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	f, err := l.File() // a blocking duplicate; QEMU sets its own flags
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	return f, nil
}

// writePID writes pid to path atomically.
func writePID(path string, pid int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", pid)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
