package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/kernel"
)

// accelChoice is the probe's verdict, cached per host boot, kernel and QEMU binary.
type accelChoice struct {
	Key    string           `json:"key"`
	Accel  hypervisor.Accel `json:"accel"`
	Reason string           `json:"reason"`
}

// chooseAccel uses KVM only when a smoke boot under KVM reports back; otherwise TCG, with the
// reason. A /dev/kvm that opens is not proof: a PVM host has one that cannot run ordinary
// guests.
func (e *Engine) chooseAccel(ctx context.Context, k kernel.Kernel) (hypervisor.Accel, string) {
	switch e.cfg.Accel {
	case string(hypervisor.AccelKVM):
		return hypervisor.AccelKVM, "forced by configuration"
	case string(hypervisor.AccelTCG):
		return hypervisor.AccelTCG, "forced by configuration"
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return hypervisor.AccelTCG, fmt.Sprintf("/dev/kvm unusable: %v", err)
	}
	f.Close()
	bootID, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	key := strings.TrimSpace(string(bootID)) + "|" + k.Name + "|" + e.cfg.QEMU
	cache := filepath.Join(e.cfg.StateDir, "accel.json")
	var c accelChoice
	if b, err := os.ReadFile(cache); err == nil && json.Unmarshal(b, &c) == nil && c.Key == key {
		return c.Accel, c.Reason
	}
	c = accelChoice{Key: key, Accel: hypervisor.AccelTCG}
	if err := e.smokeBoot(ctx, k); err != nil {
		c.Reason = "a KVM smoke boot failed (" + err.Error() + ")"
	} else {
		c.Accel, c.Reason = hypervisor.AccelKVM, "a KVM smoke boot succeeded"
	}
	if b, err := json.Marshal(c); err == nil {
		_ = os.WriteFile(cache, b, 0o644)
	}
	return c.Accel, c.Reason
}

// smokeBoot boots init alone under KVM and waits for its smoke-ok.
func (e *Engine) smokeBoot(ctx context.Context, k kernel.Kernel) error {
	if e.cfg.InitPath == "" {
		return fmt.Errorf("no guest init to boot")
	}
	dir, err := os.MkdirTemp(e.cfg.StateDir, ".probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d := instanceDir{hypervisor.Dir(dir)}
	payload := filepath.Join(dir, "payload")
	if err := initOnlyPayload(e.cfg.InitPath, payload); err != nil {
		return err
	}
	if err := writeInitrd(d.Initrd(), k.PrefixPath(), payload, guestinit.Config{Mode: guestinit.ModeSmoke}); err != nil {
		return err
	}
	spec := hypervisor.Spec{Name: "probe-" + filepath.Base(dir), Dir: d.Dir, Kernel: k.ImagePath(), Initrd: d.Initrd(),
		Transport: k.Transport, MemoryMB: 64, CPUs: 1, Accel: hypervisor.AccelKVM, Channels: channels(0)}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := e.driver.Start(ctx, spec)
	if err != nil {
		return err
	}
	defer m.Kill()
	if err := m.Wait(ctx); err != nil {
		return fmt.Errorf("no answer within 10s")
	}
	if !readStatus(d.Log(guestinit.PortStatus)).SmokeOK {
		return fmt.Errorf("the guest did not report back")
	}
	return nil
}

func initOnlyPayload(initPath, out string) error {
	b, err := os.ReadFile(initPath)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := image.NewCpioWriter(&buf)
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "unik"} {
		if err := w.WriteDir(d, 0o755, 0, 0); err != nil {
			return err
		}
	}
	if err := w.WriteDevice("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := w.WriteFile("init", 0o755, 0, 0, bytes.NewReader(b), int64(len(b))); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o600)
}

// Accel tells which accelerator instances of kernel k get, and why.
func (e *Engine) Accel(ctx context.Context, k kernel.Kernel) (hypervisor.Accel, string) {
	return e.chooseAccel(ctx, k)
}
