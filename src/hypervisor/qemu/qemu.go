package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/unik-cf/unik/src/hypervisor"
)

// Driver starts and finds QEMU VMs.
type Driver struct {
	// Binary is the QEMU executable; default qemu-system-x86_64 from PATH.
	Binary string
}

func (d Driver) binary() string {
	if d.Binary != "" {
		return d.Binary
	}
	return "qemu-system-x86_64"
}

// Start boots spec and returns once QEMU has set the VM up (its monitor answers; the kernel
// and initrd are loaded by then). QEMU runs in its own session, so the VM outlives the caller.
// With spec.Jail it starts unik-shim instead, which jails QEMU (see package shim). A QEMU
// that refuses the configuration is reported with what it printed.
func (d Driver) Start(ctx context.Context, spec hypervisor.Spec) (hypervisor.Machine, error) {
	if spec.Jail != nil {
		return d.startJailed(ctx, spec)
	}
	args, err := Args(spec, nil)
	if err != nil {
		return nil, err
	}
	if err := prepareFiles(spec); err != nil {
		return nil, fmt.Errorf("qemu: start %s: %w", spec.Name, err)
	}
	logf, err := os.OpenFile(spec.Dir.VMMLog().Current, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("qemu: start %s: %w", spec.Name, err)
	}
	defer logf.Close()
	cmd := exec.Command(d.binary(), args...) // not CommandContext: the VM must outlive ctx
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = string(spec.Dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: start %s: %w", spec.Name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reap it if we live longer than the VM
	if err := waitForMonitor(ctx, spec.Dir.MonitorSocket(), exited); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("qemu: start %s: %w", spec.Name, withOutput(err, spec.Dir.VMMLog().Current))
	}
	m, err := d.Open(spec.Dir, spec.Name)
	if err != nil {
		return nil, fmt.Errorf("qemu: start %s: %w", spec.Name, err)
	}
	return m, nil
}

// withOutput adds what QEMU (or the shim) printed to err.
func withOutput(err error, files ...string) error {
	var msgs []string
	for _, f := range files {
		if b, _ := os.ReadFile(f); len(strings.TrimSpace(string(b))) > 0 {
			msgs = append(msgs, strings.TrimSpace(string(b)))
		}
	}
	if len(msgs) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s", err, strings.Join(msgs, "; "))
}

// prepareFiles creates the output files private (0600) before QEMU opens them, and the
// FIFOs of input channels.
func prepareFiles(spec hypervisor.Spec) error {
	files := []string{spec.Dir.Console().Current}
	for _, ch := range spec.Channels {
		if ch.Input {
			for _, p := range []string{spec.Dir.ChannelInput(ch.Name), spec.Dir.Channel(ch.Name) + ".out"} {
				_ = os.Remove(p)
				if err := syscall.Mkfifo(p, 0o600); err != nil {
					return fmt.Errorf("mkfifo %s: %w", p, err)
				}
			}
			continue
		}
		files = append(files, spec.Dir.Log(ch.Name).Current)
	}
	for _, p := range files {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

// waitForMonitor waits until QMP answers a command, or QEMU exits, or ctx ends. The greeting
// alone proves nothing: QMP greets from its I/O thread while the machine (kernel, initrd) is
// still being loaded; commands run on the main loop, which starts after that.
func waitForMonitor(ctx context.Context, socket string, exited <-chan error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("qemu exited during start")
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if qmpCommand(socket, "query-status") == nil {
				return nil
			}
		}
	}
}

// ErrNotRunning means the VM's process is gone (or was never started).
var ErrNotRunning = errors.New("vm is not running")

// Open attaches to the VM in dir. The returned Machine reports a VM that has ended as not
// alive rather than failing, so callers can still read what it left behind. A jailed VM
// (one with a shim pid file) is alive while its shim is.
func (d Driver) Open(dir hypervisor.Dir, name string) (hypervisor.Machine, error) {
	m := &machine{dir: dir, name: name}
	pid, err := readPID(dir.PIDFile())
	if err != nil {
		return nil, err
	}
	if pid > 0 && isOurs(pid, name) {
		m.pid = pid
	}
	shimPID, err := readPID(dir.ShimPIDFile())
	if err != nil {
		return nil, err
	}
	if _, statErr := os.Stat(dir.ShimPIDFile()); statErr == nil {
		m.jailed = true
		if shimPID > 0 && isShim(shimPID, dir) {
			m.shim = shimPID
		}
	}
	return m, nil
}

// readPID reads a pid file; a missing file is pid 0.
func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds %q", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// isOurs checks that pid is the QEMU of VM name, not a process that reused the number.
func isOurs(pid int, name string) bool {
	return cmdlineHas(pid, func(args []string) bool { return slices.Contains(args, "unik-"+name+",debug-threads=off") })
}

// isShim checks that pid is the unik-shim of the VM in dir.
func isShim(pid int, dir hypervisor.Dir) bool {
	return cmdlineHas(pid, func(args []string) bool {
		return len(args) == 3 && args[1] == "run" && args[2] == dir.ShimConfig()
	})
}

func cmdlineHas(pid int, match func([]string) bool) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	var args []string
	for _, a := range bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0}) {
		args = append(args, string(a))
	}
	return match(args)
}
