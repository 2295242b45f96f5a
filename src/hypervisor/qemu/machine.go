package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/hypervisor"
)

// machine is a QEMU VM. A jailed one is alive while its unik-shim is: the shim outlives
// QEMU by the moment it takes to drain QEMU's output, so the status channel is complete once
// the VM is seen gone.
type machine struct {
	dir    hypervisor.Dir
	name   string
	pid    int  // QEMU; 0: not running when opened
	jailed bool // started through unik-shim
	shim   int  // the shim; 0: not running when opened

	once sync.Once
	done chan struct{}
}

func (m *machine) PID() int { return m.pid }

// Alive reports whether the VM runs. A jailed QEMU whose shim is gone (killed) is an orphan:
// its output has no reader and its cgroup no owner, so it is killed here and the VM counts
// as ended (the engine then sees it crashed: no exit status). The shim's parent-death signal
// normally kills such a QEMU at once; this is the backstop.
func (m *machine) Alive() bool {
	select {
	case <-m.waitCh():
		return false
	default:
	}
	if !m.jailed {
		return m.qemuAlive()
	}
	if m.shim != 0 && unix.Kill(m.shim, 0) == nil && isShim(m.shim, m.dir) {
		return true
	}
	if m.qemuAlive() {
		_ = syscall.Kill(m.pid, syscall.SIGKILL)
		waitPID(m.pid, m.name, isOurs)
	}
	return false
}

func (m *machine) qemuAlive() bool {
	return m.pid != 0 && unix.Kill(m.pid, 0) == nil && isOurs(m.pid, m.name)
}

// waitCh is closed when the VM is gone. One watcher per machine, shared by all callers.
func (m *machine) waitCh() chan struct{} {
	m.once.Do(func() {
		m.done = make(chan struct{})
		if m.pid == 0 && m.shim == 0 {
			close(m.done)
			return
		}
		go m.watch()
	})
	return m.done
}

// watch waits for the VM's processes to end: the shim first when jailed (it ends after
// QEMU), then QEMU (an orphan left by a killed shim is killed).
func (m *machine) watch() {
	defer close(m.done)
	if m.shim != 0 {
		waitPID(m.shim, m.name, func(pid int, _ string) bool { return isShim(pid, m.dir) })
		if m.qemuAlive() {
			_ = syscall.Kill(m.pid, syscall.SIGKILL)
		}
	}
	if m.pid != 0 {
		waitPID(m.pid, m.name, isOurs)
	}
}

// waitPID waits on a pidfd until pid ends: our VMs are daemonized, so they are not our
// children and wait4 cannot be used. It returns at once when pid is not (or no longer) the
// process ours says it is.
func waitPID(pid int, name string, ours func(int, string) bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // ESRCH: already gone
	}
	defer unix.Close(fd)
	if !ours(pid, name) {
		return
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if fds[0].Revents != 0 {
			return
		}
	}
}

func (m *machine) Wait(ctx context.Context) error {
	select {
	case <-m.waitCh():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *machine) waitFor(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return m.Wait(ctx) == nil
}

// Stop: ACPI power button (for guests that listen), then QMP quit, then SIGKILL.
func (m *machine) Stop(ctx context.Context, grace time.Duration) error {
	if !m.Alive() {
		return nil
	}
	_ = qmpCommand(m.dir.MonitorSocket(), "system_powerdown")
	waitCtx, cancel := context.WithTimeout(ctx, grace)
	err := m.Wait(waitCtx)
	cancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	_ = qmpCommand(m.dir.MonitorSocket(), "quit")
	if m.waitFor(2 * time.Second) {
		return nil
	}
	return m.Kill()
}

// Kill ends QEMU with SIGKILL and waits until the VM is gone (a jailed one: until its shim
// has drained the output and removed the cgroup; a shim that does not end is killed too).
func (m *machine) Kill() error {
	if !m.Alive() {
		return nil
	}
	if m.pid != 0 {
		if err := syscall.Kill(m.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill qemu %d: %w", m.pid, err)
		}
	} else if m.shim != 0 { // QEMU not exec'd yet: the shim's child dies with the shim
		_ = syscall.Kill(m.shim, syscall.SIGKILL)
	}
	if m.waitFor(5 * time.Second) {
		return nil
	}
	if m.shim != 0 {
		_ = syscall.Kill(m.shim, syscall.SIGKILL)
		if m.waitFor(5 * time.Second) {
			return nil
		}
	}
	return fmt.Errorf("vm %s (qemu %d) did not end after SIGKILL", m.name, m.pid)
}

// Release frees what an ended VM still holds on the host beyond its directory: a jailed
// VM's cgroup, when its shim could not remove it (the shim was killed).
func (m *machine) Release() error {
	if m.Alive() {
		return fmt.Errorf("release %s: %w", m.name, errRunning)
	}
	return releaseJail(m.dir)
}

var errRunning = errors.New("vm is running")

func (m *machine) Stats() (hypervisor.Stats, error) {
	if !m.Alive() || m.pid == 0 {
		return hypervisor.Stats{}, ErrNotRunning
	}
	var s hypervisor.Stats
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.pid))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			s.RSSBytes = kb * 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.pid))
	if err != nil {
		return s, err
	}
	// fields after the command name (which may hold spaces) are space-separated; utime and
	// stime are the 14th and 15th fields of the line
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 12 {
			ut, _ := strconv.ParseUint(f[11], 10, 64)
			st, _ := strconv.ParseUint(f[12], 10, 64)
			s.CPUTime = time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
		}
	}
	return s, nil
}
