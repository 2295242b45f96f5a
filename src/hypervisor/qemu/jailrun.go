package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/hypervisor/shim"
	"github.com/unik-cf/unik/src/hypervisor/shim/cgroup"
)

// startJailed starts unik-shim for spec, in its own session, and waits for QEMU's monitor.
// The process tree is driver -> unik-shim (root, host namespaces) -> QEMU (jailed); the shim
// reaps QEMU, drains its output, removes its cgroup and exits.
func (d Driver) startJailed(ctx context.Context, spec hypervisor.Spec) (hypervisor.Machine, error) {
	fail := func(err error) (hypervisor.Machine, error) {
		return nil, fmt.Errorf("qemu: start %s jailed: %w", spec.Name, err)
	}
	cfg, err := d.shimConfig(spec)
	if err != nil {
		return fail(err)
	}
	if err := cfg.Write(spec.Dir.ShimConfig()); err != nil {
		return fail(err)
	}
	logf, err := os.OpenFile(spec.Dir.ShimLog(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	cmd := exec.Command(spec.Jail.Shim, "run", spec.Dir.ShimConfig()) // outlives ctx, like QEMU
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = string(spec.Dir)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reap it if we live longer than the VM
	if err := writePIDFile(spec.Dir.ShimPIDFile(), cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		return fail(err)
	}
	if err := waitForMonitor(ctx, spec.Dir.MonitorSocket(), exited); err != nil {
		if m, oerr := d.Open(spec.Dir, spec.Name); oerr == nil {
			_ = m.Kill()
			_ = m.Release()
		}
		return fail(withOutput(err, spec.Dir.ShimLog(), spec.Dir.VMMLog().Current))
	}
	m, err := d.Open(spec.Dir, spec.Name)
	if err != nil {
		return fail(err)
	}
	return m, nil
}

func writePIDFile(path string, pid int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", pid)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// releaseJail removes the cgroup of the ended jailed VM in dir (the shim removes it itself
// when it ends normally; a killed shim leaves it).
func releaseJail(dir hypervisor.Dir) error {
	cfg, err := shim.Load(dir.ShimConfig())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	h, err := cgroup.Host()
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := h.Release(cfg.Cgroup.Path); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}
