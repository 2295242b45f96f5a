package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/hypervisor/shim"
	"github.com/unik-cf/unik/src/hypervisor/shim/cgroup"
)

// Memory a jailed QEMU may use beyond the guest's RAM (and, under TCG, beyond the
// translation cache of TCGCacheMB): QEMU's binary and libraries, heap, the kernel and initrd
// images it keeps mapped, page tables and pipe buffers. Measured on QEMU 7.2 (TCG, microvm,
// the minimal kernel, hello-go): see README "Isolation".
const VMMOverheadMB = 64

// Threads (pids) of a jailed QEMU beyond one per vCPU: main loop, RCU, and room for QEMU's
// worker threads and the BOSH package's shell wrapper (which forks before it execs QEMU).
const VMMBaseThreads = 12

// Paths inside the jail.
const (
	jailKernel = "/kernel" // the guest kernel, bound read-only
	jailInitrd = "/initrd" // an initrd from outside the VM's directory, bound read-only
)

// JailView is spec as QEMU sees it inside the jail: the VM's directory at shim.JailDir and
// the kernel (and an initrd outside that directory) at fixed paths.
func JailView(spec hypervisor.Spec) hypervisor.Spec {
	v := spec
	v.Dir = hypervisor.Dir(shim.JailDir)
	v.Kernel = jailKernel
	if spec.Initrd != "" {
		if rel, ok := within(string(spec.Dir), spec.Initrd); ok {
			v.Initrd = filepath.Join(shim.JailDir, rel)
		} else {
			v.Initrd = jailInitrd
		}
	}
	return v
}

func within(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	return rel, err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// Limits are the cgroup limits of a jailed VM of spec.
func Limits(spec hypervisor.Spec) cgroup.Limits {
	mb := int64(spec.MemoryMB + VMMOverheadMB)
	if spec.Accel == hypervisor.AccelTCG {
		mb += TCGCacheMB
	}
	return cgroup.Limits{MemoryBytes: mb << 20, Pids: int64(VMMBaseThreads + spec.CPUs),
		CPUShares: cgroup.SharesFromWeight(spec.CPUWeight)}
}

// shimConfig is the jail of spec: QEMU's arguments as seen inside it, what it may see, its
// limits, and where every output goes.
func (d Driver) shimConfig(spec hypervisor.Spec) (shim.Config, error) {
	vmm, err := exec.LookPath(d.binary())
	if err != nil {
		return shim.Config{}, fmt.Errorf("qemu binary: %w", err)
	}
	if vmm, err = filepath.Abs(vmm); err == nil {
		vmm, err = filepath.EvalSymlinks(vmm)
	}
	if err != nil {
		return shim.Config{}, fmt.Errorf("qemu binary: %w", err)
	}
	j := spec.Jail
	parent := j.CgroupParent
	if parent == "" {
		parent = "unik"
	}
	dir := spec.Dir
	c := shim.Config{Name: spec.Name, Dir: string(dir), Root: dir.JailRoot(), VMM: vmm, UID: j.UID, GID: j.GID,
		Cgroup:  shim.Cgroup{Path: parent + "/" + spec.Name, Limits: Limits(spec)},
		Monitor: dir.MonitorSocket(), PIDFile: dir.PIDFile(), LogRateLimit: spec.LogRateLimit,
		VMMLog: shim.Output{Ring: dir.VMMLog(), Cap: hypervisor.DefaultVMMLogCap}}
	c.Mounts, c.Groups, err = jailMounts(spec, vmm)
	if err != nil {
		return shim.Config{}, err
	}
	if spec.Net.Kind == "tap" {
		c.Tap = spec.Net.Tap
	}
	if spec.Initrd != "" {
		if _, ok := within(string(dir), spec.Initrd); ok {
			c.Readable = append(c.Readable, spec.Initrd)
		}
	}
	c.Outputs = append(c.Outputs, shim.Output{FIFO: dir.Channel(hypervisor.ConsoleStream), Ring: dir.Console(),
		Cap: orDefault(spec.ConsoleCapBytes, hypervisor.DefaultConsoleCap)})
	for _, ch := range spec.Channels {
		if ch.Input {
			c.Inputs = append(c.Inputs, dir.Channel(ch.Name))
			continue
		}
		c.Outputs = append(c.Outputs, shim.Output{FIFO: dir.Channel(ch.Name), Ring: dir.Log(ch.Name),
			Cap: orDefault(ch.CapBytes, hypervisor.DefaultLogCap), AppLog: ch.AppLog})
	}
	c.Args, err = Args(JailView(spec), &Jailed{TapFD: c.TapFD(), MonitorFD: c.MonitorFD()})
	if err != nil {
		return shim.Config{}, err
	}
	return c, c.Validate()
}

func orDefault(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

// jailMounts is what QEMU sees: /usr read-only with the merged-/usr symlinks as the host
// has them (or binds where /lib, /bin... are real directories), QEMU's own prefix when it
// lives outside /usr (a BOSH package: binary, libraries, firmware), the kernel, an initrd
// from elsewhere, /dev/null and /dev/urandom, and /dev/kvm under KVM (with its group).
func jailMounts(spec hypervisor.Spec, vmm string) ([]shim.Mount, []uint32, error) {
	ms := []shim.Mount{{Kind: shim.BindRO, Source: "/usr", Target: "/usr"}}
	for _, top := range []string{"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"} {
		st, err := os.Lstat(top)
		switch {
		case err != nil:
			continue
		case st.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(top)
			if err != nil {
				return nil, nil, fmt.Errorf("jail: %w", err)
			}
			ms = append(ms, shim.Mount{Kind: shim.Symlink, Source: target, Target: top})
		case st.IsDir():
			ms = append(ms, shim.Mount{Kind: shim.BindRO, Source: top, Target: top})
		}
	}
	if !strings.HasPrefix(vmm, "/usr/") {
		prefix := filepath.Dir(filepath.Dir(vmm)) // <prefix>/bin/qemu-system-x86_64
		ms = append(ms, shim.Mount{Kind: shim.BindRO, Source: prefix, Target: prefix})
	}
	ms = append(ms, shim.Mount{Kind: shim.BindRO, Source: spec.Kernel, Target: jailKernel})
	if spec.Initrd != "" {
		if _, ok := within(string(spec.Dir), spec.Initrd); !ok {
			ms = append(ms, shim.Mount{Kind: shim.BindRO, Source: spec.Initrd, Target: jailInitrd})
		}
	}
	for _, dev := range []string{"/dev/null", "/dev/urandom"} {
		ms = append(ms, shim.Mount{Kind: shim.Device, Source: dev, Target: dev})
	}
	var groups []uint32
	if spec.Accel == hypervisor.AccelKVM {
		st, err := os.Stat("/dev/kvm")
		if err != nil {
			return nil, nil, fmt.Errorf("jail: %w", err)
		}
		ms = append(ms, shim.Mount{Kind: shim.Device, Source: "/dev/kvm", Target: "/dev/kvm"})
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Gid != 0 {
			groups = append(groups, sys.Gid)
		}
	}
	return ms, groups, nil
}
