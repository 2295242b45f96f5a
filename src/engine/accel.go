package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/hypervisor"
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
	if reason := kvmCannotRunGuests(hostFacts{}); reason != "" {
		return hypervisor.AccelTCG, reason
	}
	bootID, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	key := strings.TrimSpace(string(bootID)) + "|" + k.Name + "|" + e.cfg.QEMU
	// one verdict file per key: hosts that alternate kernels (bench-boot) probe each once
	sum := sha256.Sum256([]byte(key))
	cache := filepath.Join(e.cfg.StateDir, "accel-"+hex.EncodeToString(sum[:8])+".json")
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
	// init alone: the system segment brings it and the console
	if err := writeInitrd(d.Initrd(), k.PrefixPath(), "", e.cfg.InitPath, guestinit.Config{Mode: guestinit.ModeSmoke}); err != nil {
		return err
	}
	spec := hypervisor.Spec{Name: "probe-" + filepath.Base(dir), Dir: d.Dir, Kernel: k.ImagePath(), Initrd: d.Initrd(),
		Transport: k.Transport, MemoryMB: 64, CPUs: 1, Accel: hypervisor.AccelKVM, Channels: channels(0, 0)}
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

// Accel tells which accelerator instances of kernel k get, and why.
func (e *Engine) Accel(ctx context.Context, k kernel.Kernel) (hypervisor.Accel, string) {
	return e.chooseAccel(ctx, k)
}

// hostFacts reads what tells, without booting anything, that KVM cannot run ordinary guests.
// Its zero value reads the real host; tests point it at files of their own.
type hostFacts struct {
	CPUInfo   string // default /proc/cpuinfo
	PVMModule string // default /sys/module/kvm_pvm
}

// kvmCannotRunGuests returns why KVM obviously cannot run an ordinary guest here, or "" when
// only a smoke boot can tell: no vmx/svm CPU flag (no hardware virtualization, not even
// nested), or a PVM KVM, which only runs PVM-enlightened guest kernels.
func kvmCannotRunGuests(h hostFacts) string {
	if h.CPUInfo == "" {
		h.CPUInfo = "/proc/cpuinfo"
	}
	if h.PVMModule == "" {
		h.PVMModule = "/sys/module/kvm_pvm"
	}
	if _, err := os.Stat(h.PVMModule); err == nil {
		return "/dev/kvm is PVM (kvm_pvm is loaded), which runs only PVM-enlightened guest kernels"
	}
	info, err := os.ReadFile(h.CPUInfo)
	if err != nil {
		return "" // cannot tell: let the smoke boot decide
	}
	for _, line := range strings.Split(string(info), "\n") {
		name, flags, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != "flags" {
			continue
		}
		for _, f := range strings.Fields(flags) {
			if f == "vmx" || f == "svm" {
				return ""
			}
		}
		return "the CPU has no vmx or svm flag (no hardware virtualization here; on a cloud VM enable nested virtualization)"
	}
	return ""
}
