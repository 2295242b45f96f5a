//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func mountAll() error {
	mounts := []struct {
		src, target, fstype string
		flags               uintptr
		data                string
	}{
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
		{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	}
	var errs []error
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.src, m.target, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount %s: %w", m.target, err))
		}
	}
	if err := os.Chmod("/tmp", 0o1777); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// setupSystem gives the guest its identity and network.
func setupSystem(c Config) error {
	hostname := c.Hostname
	if hostname == "" {
		hostname = c.InstanceID
	}
	if len(hostname) > 64 {
		hostname = hostname[:64]
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	if err := linkUp("lo"); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	hosts := "127.0.0.1 localhost\n"
	if n := c.Network; n != nil {
		if err := configureInterface(n); err != nil {
			return err
		}
		if addr, _, ok := strings.Cut(n.Address, "/"); ok {
			hosts += addr + " " + hostname + "\n"
		}
		var resolv strings.Builder
		for _, d := range n.DNS {
			fmt.Fprintf(&resolv, "nameserver %s\n", d)
		}
		if err := os.WriteFile("/etc/resolv.conf", []byte(resolv.String()), 0o644); err != nil {
			return fmt.Errorf("write resolv.conf: %w", err)
		}
	}
	if err := os.WriteFile("/etc/hosts", []byte(hosts), 0o644); err != nil {
		return fmt.Errorf("write hosts: %w", err)
	}
	return nil
}

// killAll ends every process but init; the app's helpers do not outlive it.
func killAll() {
	_ = unix.Kill(-1, unix.SIGKILL)
	for {
		if _, err := unix.Wait4(-1, nil, 0, nil); err != nil {
			return
		}
	}
}
