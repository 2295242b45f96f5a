package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/hypervisor/shim/cgroup"
)

// jail runs in the child the supervisor started in new mount, PID, IPC and UTS namespaces
// (it is PID 1 of its PID namespace). It builds the jail's root, enters it, joins the cgroup,
// drops every privilege and becomes the VMM; it returns only on failure.
func jail(c Config) error {
	// Capability bounding sets, no_new_privs and the parent-death signal are per thread: do
	// everything on this one, which is the thread that execs.
	runtime.LockOSThread()
	h, err := cgroup.Host()
	if err != nil {
		return err
	}
	group, err := h.Group(c.Cgroup.Path)
	if err != nil {
		return err
	}
	// Opened now, written last: the runtime's threads must not count against pids.max
	// while this program still needs them; a process may join past the limit.
	var procs []*os.File
	for _, p := range group.ProcsFiles() {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		procs = append(procs, f)
	}
	if err := buildRoot(c); err != nil {
		return err
	}
	if err := enterRoot(c.Root); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte("unik-vm")); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	for _, f := range procs {
		if _, err := f.WriteString("0"); err != nil {
			return fmt.Errorf("join cgroup %s: %w", f.Name(), err)
		}
		f.Close()
	}
	if err := dropPrivileges(c); err != nil {
		return err
	}
	argv := append([]string{filepath.Base(c.VMM)}, c.Args...)
	if err := unix.Exec(c.VMM, argv, []string{}); err != nil {
		return fmt.Errorf("exec %s: %w", c.VMM, err)
	}
	return nil
}

// buildRoot mounts a small tmpfs on c.Root and lays out the jail: read-only binds of what
// the VMM needs, the device nodes it opens, merged-/usr symlinks, and the VM's directory at
// JailDir, read-only (the VMM opens its FIFOs there, which a read-only mount allows, and
// creates nothing).
func buildRoot(c Config) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("tmpfs", c.Root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=256k,nr_inodes=256"); err != nil {
		return fmt.Errorf("jail root: %w", err)
	}
	mounts := append([]Mount{{Kind: BindRO, Source: c.Dir, Target: JailDir}}, c.Mounts...)
	for _, m := range mounts {
		if err := place(c.Root, m); err != nil {
			return fmt.Errorf("jail: %s %s: %w", m.Kind, m.Target, err)
		}
	}
	return nil
}

func place(root string, m Mount) error {
	target := filepath.Join(root, m.Target)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if m.Kind == Symlink {
		return os.Symlink(m.Source, target)
	}
	st, err := os.Stat(m.Source)
	if err != nil {
		return err
	}
	if st.IsDir() {
		err = os.Mkdir(target, 0o755)
	} else {
		var f *os.File
		if f, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	if err != nil {
		return err
	}
	if err := unix.Mount(m.Source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", m.Source, err)
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NOSUID)
	if m.Kind == Device {
		flags |= unix.MS_NOEXEC
	} else {
		flags |= unix.MS_RDONLY | unix.MS_NODEV
	}
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", target, err)
	}
	return nil
}

// enterRoot makes root the process's / (pivot_root onto itself, then detach the old root)
// and makes the tmpfs read-only.
func enterRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("read-only root: %w", err)
	}
	return nil
}

// dropPrivileges leaves nothing of root: supplementary groups, gid and uid become the VM's
// (all threads), the capability bounding set and ambient set are emptied, the remaining sets
// cleared, no_new_privs set, and the parent-death signal re-armed (a uid change clears it)
// so the VMM dies with its shim.
func dropPrivileges(c Config) error {
	groups := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(c.GID), int(c.GID), int(c.GID)); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	for cp := 0; cp < 64; cp++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(cp), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the kernel's last capability
			}
			return fmt.Errorf("drop capability %d from the bounding set: %w", cp, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if err := syscall.Setresuid(int(c.UID), int(c.UID), int(c.UID)); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("parent-death signal: %w", err)
	}
	return nil
}
