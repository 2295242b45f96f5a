package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/hypervisor/shim/cgroup"
)

// supervisor is the shim's root half: it prepares, starts the jailed VMM, copies its
// output into the rings, and cleans up when it ends.
type supervisor struct {
	cfg     Config
	cfgPath string
	stderr  io.Writer // the shim's own messages (Dir.ShimLog)
}

func (s *supervisor) logf(format string, a ...any) {
	fmt.Fprintf(s.stderr, "unik-shim: "+format+"\n", a...)
}

// run returns once the VMM has ended and its output is drained and its cgroup removed.
func (s *supervisor) run() error {
	c := s.cfg
	h, err := cgroup.Host()
	if err != nil {
		return err
	}
	if _, err := h.Create(c.Cgroup.Path, c.Cgroup.Limits); err != nil {
		return err
	}
	defer func() {
		if err := h.Release(c.Cgroup.Path); err != nil {
			s.logf("%v", err)
		}
	}()
	if err := prepareDir(c); err != nil {
		return err
	}
	var fifos []fifo
	defer func() {
		for _, f := range fifos {
			f.keep.Close()
		}
	}()
	srcs := make([]io.ReadCloser, 0, len(c.Outputs)+1)
	for _, o := range c.Outputs {
		f, err := openFIFO(o.FIFO, c.UID, c.GID)
		if err != nil {
			closeAll(srcs)
			return err
		}
		fifos = append(fifos, f)
		srcs = append(srcs, f.r)
	}
	vmmOut, vmmOutW, err := os.Pipe()
	if err != nil {
		closeAll(srcs)
		return fmt.Errorf("pipe: %w", err)
	}
	srcs = append(srcs, vmmOut)
	pumps, err := newPumps(append(append([]Output{}, c.Outputs...), c.VMMLog), srcs, c.LogRateLimit)
	if err != nil {
		vmmOutW.Close()
		closeAll(srcs)
		return err
	}
	defer closePumps(pumps)
	inherit, err := s.descriptors()
	if err != nil {
		vmmOutW.Close()
		return err
	}
	var wg sync.WaitGroup
	for _, p := range pumps {
		wg.Add(1)
		go func() { defer wg.Done(); p.run(s.logf) }()
	}
	status, err := s.startAndWait(inherit, vmmOutW)
	for _, f := range fifos { // the VMM and its namespace are gone: let the copies reach EOF
		f.keep.Close()
	}
	fifos = nil
	wg.Wait()
	if err != nil {
		return err
	}
	s.logf("vmm exited: %s", status)
	return nil
}

// descriptors opens what the VMM inherits, in the order of TapFD and MonitorFD.
func (s *supervisor) descriptors() ([]*os.File, error) {
	var files []*os.File
	if s.cfg.Tap != "" {
		tap, err := openTap(s.cfg.Tap)
		if err != nil {
			return nil, err
		}
		files = append(files, tap)
	}
	mon, err := listenMonitor(s.cfg.Monitor)
	if err != nil {
		closeAll(files)
		return nil, err
	}
	return append(files, mon), nil
}

// startAndWait starts the jailed child (which becomes the VMM) and waits for it. The thread
// that starts the child stays locked until the child is gone: the child's parent-death
// signal fires when that thread ends, not the process.
func (s *supervisor) startAndWait(inherit []*os.File, out *os.File) (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer out.Close()
	defer closeAll(inherit)
	// the child is this very binary (whatever its path), in its jail mode
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: []string{"unik-shim", "jail", s.cfgPath}, Env: []string{}}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = inherit
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start jail: %w", err)
	}
	stop := forwardSignals(cmd.Process)
	defer stop()
	if err := writePID(s.cfg.PIDFile, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", fmt.Errorf("pid file: %w", err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return "", fmt.Errorf("wait: %w", err)
	}
	return cmd.ProcessState.String(), nil
}

// forwardSignals passes SIGTERM and SIGINT to the VMM (QEMU quits cleanly on them); SIGHUP
// and SIGPIPE are ignored: the shim lives in its own session and outlives its starter.
func forwardSignals(p *os.Process) func() {
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-ch:
				_ = p.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

func closeAll[T io.Closer](cs []T) {
	for _, c := range cs {
		c.Close()
	}
}
