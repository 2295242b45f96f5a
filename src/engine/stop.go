package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/vmlog"
)

// Stop asks the app to end (SIGTERM inside the guest, SIGKILL after its grace period) and
// forces the VM down when it has not ended shortly after. Stopping an ended instance is a no-op.
func (e *Engine) Stop(ctx context.Context, id string) error {
	info, err := e.Get(id)
	if err != nil {
		return err
	}
	d := e.dir(id)
	m, err := e.driver.Open(d.Dir, id)
	if err != nil {
		return err
	}
	if !m.Alive() {
		return nil
	}
	if err := os.WriteFile(d.stopRequested(), nil, 0o600); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	if err := writeControl(d.Control(), "stop\n"); err != nil {
		return fmt.Errorf("stop %s: control channel: %w", id, err)
	}
	grace := time.Duration(info.StopGraceMS)*time.Millisecond + 3*time.Second
	if err := m.Stop(ctx, grace); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	return nil
}

// PushFiles writes files into a running guest (rotated credentials): init replaces each
// atomically. It returns once the message is in the control channel, not once it is applied.
func (e *Engine) PushFiles(id string, files []guestinit.File) error {
	if err := guestinit.ValidateFiles(files); err != nil {
		return fmt.Errorf("push files to %s: %w", id, err)
	}
	d := e.dir(id)
	m, err := e.driver.Open(d.Dir, id)
	if err != nil {
		return err
	}
	if !m.Alive() {
		return fmt.Errorf("push files to %s: %w", id, ErrNotRunning)
	}
	b, err := json.Marshal(files)
	if err != nil {
		return err
	}
	if err := writeControl(d.Control(), guestinit.ControlFiles+string(b)+"\n"); err != nil {
		return fmt.Errorf("push files to %s: control channel: %w", id, err)
	}
	return nil
}

// writeControl writes a message to the VM's control FIFO. QEMU holds its read end, so the open
// does not block; a message longer than the pipe's buffer is written in full (the runtime's
// poller waits for room), within a deadline. A lock file beside the FIFO keeps two writers'
// messages from interleaving.
func writeControl(path, msg string) error {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	_, err = f.WriteString(msg)
	return err
}

// Remove deletes an ended instance and everything it holds on the host: a jailed VM's
// cgroup (when its shim was killed before removing it), its jail id, the network attachment
// (tap, DNAT rules, address and port leases) and directory. A running instance is refused
// unless force, which kills it first.
func (e *Engine) Remove(ctx context.Context, id string, force bool) error {
	d := e.dir(id)
	rec, err := d.readRecord()
	if errors.Is(err, os.ErrNotExist) {
		if _, statErr := os.Stat(string(d.Dir)); statErr != nil {
			return fmt.Errorf("%w: %q (see `unik ps`)", ErrNoInstance, id)
		}
	}
	m, err := e.driver.Open(d.Dir, id)
	if err != nil {
		return err
	}
	if m.Alive() {
		if !force {
			return fmt.Errorf("%w: %s (stop it first, or rm -f)", ErrRunning, id)
		}
		_ = os.WriteFile(d.stopRequested(), nil, 0o600)
		if err := m.Kill(); err != nil {
			return fmt.Errorf("rm %s: %w", id, err)
		}
	}
	if err := m.Release(); err != nil {
		return fmt.Errorf("rm %s: %w", id, err)
	}
	if err := releaseJailID(e.cfg.jailIDDir(), rec.JailID, string(d.Dir)); err != nil {
		return fmt.Errorf("rm %s: %w", id, err)
	}
	if err := e.net.Detach(ctx, id); err != nil {
		return fmt.Errorf("rm %s: network: %w", id, err)
	}
	if err := os.RemoveAll(string(d.Dir)); err != nil {
		return fmt.Errorf("rm %s: %w", id, err)
	}
	return nil
}

// Paths of an instance's output, for logs: each a ring (read it with vmlog).
type Paths struct {
	Stdout, Stderr, Console vmlog.Files
	Sidecars                []SidecarPaths // in the order of RunSpec.Sidecars
}

// SidecarPaths are one sidecar's output rings.
type SidecarPaths struct {
	Name           string
	Stdout, Stderr vmlog.Files
}

// LogPaths returns where an instance's output is.
func (e *Engine) LogPaths(id string) (Paths, error) {
	d := e.dir(id)
	rec, err := d.readRecord()
	if err != nil {
		return Paths{}, fmt.Errorf("%w: %q (see `unik ps`)", ErrNoInstance, id)
	}
	p := Paths{Stdout: d.Log(guestinit.PortStdout), Stderr: d.Log(guestinit.PortStderr), Console: d.Console()}
	for i, name := range rec.Sidecars {
		p.Sidecars = append(p.Sidecars, SidecarPaths{Name: name,
			Stdout: d.Log(guestinit.PortSidecarStdout(i)), Stderr: d.Log(guestinit.PortSidecarStderr(i))})
	}
	return p, nil
}
