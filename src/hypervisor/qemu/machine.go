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

type machine struct {
	dir  hypervisor.Dir
	name string
	pid  int // 0: not running when opened

	once sync.Once
	done chan struct{}
}

func (m *machine) PID() int { return m.pid }

func (m *machine) Alive() bool {
	if m.pid == 0 {
		return false
	}
	select {
	case <-m.waitCh():
		return false
	default:
	}
	return unix.Kill(m.pid, 0) == nil && isOurs(m.pid, m.name)
}

// waitCh is closed when the process is gone. One watcher per machine, shared by all callers.
func (m *machine) waitCh() chan struct{} {
	m.once.Do(func() {
		m.done = make(chan struct{})
		if m.pid == 0 {
			close(m.done)
			return
		}
		go m.watch()
	})
	return m.done
}

// watch waits on a pidfd: QEMU is daemonized, so it is not our child and wait4 cannot be used.
func (m *machine) watch() {
	defer close(m.done)
	fd, err := unix.PidfdOpen(m.pid, 0)
	if err != nil {
		return // ESRCH: already gone
	}
	defer unix.Close(fd)
	if !isOurs(m.pid, m.name) {
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

func (m *machine) Kill() error {
	if m.pid == 0 || !m.Alive() {
		return nil
	}
	if err := syscall.Kill(m.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill qemu %d: %w", m.pid, err)
	}
	if !m.waitFor(5 * time.Second) {
		return fmt.Errorf("qemu %d did not exit after SIGKILL", m.pid)
	}
	return nil
}

func (m *machine) Stats() (hypervisor.Stats, error) {
	if !m.Alive() {
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
