package hypervisor

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/unik-cf/unik/src/vmlog"
)

// Accel is how guest code runs.
type Accel string

const (
	AccelKVM Accel = "kvm" // hardware virtualization
	AccelTCG Accel = "tcg" // software emulation: correct, 10-50x slower
)

// Dir holds every file of one VM. No path of a VM is assembled anywhere else.
type Dir string

func (d Dir) path(name string) string { return filepath.Join(string(d), name) }

// PIDFile is where the VMM writes its process id.
func (d Dir) PIDFile() string { return d.path("vmm.pid") }

// MonitorSocket is the VMM's control socket (QMP for QEMU).
func (d Dir) MonitorSocket() string { return d.path("monitor.sock") }

// Log is where the output stream name (a guest output channel, ConsoleStream or VMMStream)
// is kept: a capped ring of two files when the VM is jailed; an unjailed VMM writes Current
// itself, unbounded.
func (d Dir) Log(name string) vmlog.Files {
	return vmlog.Files{Current: d.path(name + ".log"), Previous: d.path(name + ".log.1")}
}

// Streams that are not guest channels.
const (
	ConsoleStream = "console" // the guest kernel's serial console
	VMMStream     = "vmm"     // what the VMM itself prints
)

// Console is the guest kernel's console (Log(ConsoleStream)).
func (d Dir) Console() vmlog.Files { return d.Log(ConsoleStream) }

// VMMLog is what the VMM itself prints (Log(VMMStream)).
func (d Dir) VMMLog() vmlog.Files { return d.Log(VMMStream) }

// Channel is the host end of a named guest channel or stream: for an output of a jailed VM
// the FIFO the VMM writes to and the shim reads; for an input channel the base of its two
// FIFOs.
func (d Dir) Channel(name string) string { return d.path("chan-" + name) }

// ChannelInput is the FIFO the host writes an input channel's bytes to.
func (d Dir) ChannelInput(name string) string { return d.Channel(name) + ".in" }

// ShimConfig is the jailed VM's unik-shim configuration (written by the driver).
func (d Dir) ShimConfig() string { return d.path("shim.json") }

// ShimPIDFile holds the process id of the VM's unik-shim.
func (d Dir) ShimPIDFile() string { return d.path("shim.pid") }

// ShimLog receives what unik-shim itself prints before the VMM runs (bounded: only the
// shim's own messages go there).
func (d Dir) ShimLog() string { return d.path("shim.log") }

// JailRoot is the mount point of the jail's root file system, inside the VM's own mount
// namespace only (an empty directory on the host).
func (d Dir) JailRoot() string { return d.path("jail-root") }

// Initrd is the per-VM initrd (it may carry secrets; the engine deletes it after boot).
func (d Dir) Initrd() string { return d.path("initrd") }

// Channel is a named byte stream between host and guest. Output channels (guest to host) are
// kept in Dir.Log(Name); input channels (host to guest) are a FIFO (Dir.ChannelInput) the
// host writes to.
type Channel struct {
	Name  string
	Input bool
	// CapBytes bounds an output channel on disk when jailed; 0: DefaultLogCap.
	CapBytes int64
	// AppLog marks the app's stdout and stderr: they share Spec.LogRateLimit.
	AppLog bool
}

// Default caps of output streams on disk (jailed VMs).
const (
	DefaultLogCap     = 4 << 20   // a guest output channel
	DefaultConsoleCap = 256 << 10 // the serial console
	DefaultVMMLogCap  = 256 << 10 // the VMM's own output
)

// Jail runs the VMM under unik-shim: in its own mount, PID, IPC and UTS namespaces, as an
// unprivileged user without capabilities, in its own cgroup, with every output bounded.
// It needs root.
type Jail struct {
	Shim string // the unik-shim binary
	// UID and GID the VMM runs as: unique to the VM on this host (the engine leases them),
	// so no two VMMs share an identity.
	UID, GID uint32
	// CgroupParent is the VM's cgroup's parent below the hierarchy root; default "unik".
	CgroupParent string
}

// Forward maps a host TCP port to a guest port (user-mode networking only).
type Forward struct {
	HostIP    netip.Addr
	HostPort  uint16
	GuestPort uint16
}

// Net says how the VM is networked.
type Net struct {
	Kind     string // "none", "tap" or "user"
	Tap      string
	MAC      string
	Forwards []Forward
}

// Spec is everything needed to boot one VM.
type Spec struct {
	Name      string // unique on the host; identifies the VMM process
	Dir       Dir
	Kernel    string
	Initrd    string
	Cmdline   []string // appended to the driver's own
	Transport string   // "mmio" or "pci"
	MemoryMB  int
	CPUs      int
	Accel     Accel
	Net       Net
	Channels  []Channel
	// CPUWeight is the VM's relative CPU share, 1-100 (Cloud Foundry's cpu_weight); 0 = 100.
	CPUWeight int
	// LogRateLimit bounds the AppLog channels together, in bytes per second, the way Diego
	// does (lines over the limit are dropped, with a notice); 0 or negative = unlimited.
	LogRateLimit int64
	// ConsoleCapBytes bounds the console on disk when jailed; 0: DefaultConsoleCap.
	ConsoleCapBytes int64
	// Jail, when set, runs the VMM jailed (root only); nil runs it directly as the caller.
	Jail *Jail
}

// Validate names the first bad field.
func (s Spec) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("vm spec: name is required")
	case s.Dir == "":
		return fmt.Errorf("vm spec: dir is required")
	case s.Kernel == "":
		return fmt.Errorf("vm spec: kernel is required")
	case s.MemoryMB < 32:
		return fmt.Errorf("vm spec: memory %d MB is below 32 MB", s.MemoryMB)
	case s.CPUs < 1 || s.CPUs > 8:
		return fmt.Errorf("vm spec: cpus %d is not between 1 and 8", s.CPUs)
	case s.Accel != AccelKVM && s.Accel != AccelTCG:
		return fmt.Errorf("vm spec: accel %q is not kvm or tcg", s.Accel)
	case s.Transport != "mmio" && s.Transport != "pci":
		return fmt.Errorf("vm spec: transport %q is not mmio or pci", s.Transport)
	case s.CPUWeight < 0 || s.CPUWeight > 100:
		return fmt.Errorf("vm spec: cpu weight %d is not between 1 and 100", s.CPUWeight)
	case s.ConsoleCapBytes < 0:
		return fmt.Errorf("vm spec: console cap %d is negative", s.ConsoleCapBytes)
	}
	for i, ch := range s.Channels {
		switch {
		case ch.Name == "" || ch.Name == ConsoleStream || ch.Name == VMMStream || strings.ContainsAny(ch.Name, "/,"):
			return fmt.Errorf("vm spec: channels[%d]: name %q is empty, reserved or holds / or ,", i, ch.Name)
		case ch.CapBytes < 0 || ch.CapBytes > 0 && ch.CapBytes < vmlog.MinCap:
			return fmt.Errorf("vm spec: channels[%d]: cap %d bytes is too small", i, ch.CapBytes)
		case ch.Input && ch.AppLog:
			return fmt.Errorf("vm spec: channels[%d]: an input channel cannot be an app log", i)
		}
	}
	if j := s.Jail; j != nil {
		switch {
		case j.Shim == "":
			return fmt.Errorf("vm spec: jail needs the unik-shim binary")
		case j.UID == 0 || j.GID == 0:
			return fmt.Errorf("vm spec: jail uid %d / gid %d must not be root", j.UID, j.GID)
		}
	}
	switch s.Net.Kind {
	case "none", "":
	case "tap":
		if s.Net.Tap == "" {
			return fmt.Errorf("vm spec: net tap needs a tap device name")
		}
	case "user":
	default:
		return fmt.Errorf("vm spec: net kind %q is not none, tap or user", s.Net.Kind)
	}
	return nil
}

// Stats are the VMM process's resource use.
type Stats struct {
	RSSBytes uint64        `json:"rss_bytes"`
	CPUTime  time.Duration `json:"cpu_time_ns"`
}

// Machine is a running (or ended) VM.
type Machine interface {
	PID() int
	// Alive reports whether the VMM process still runs.
	Alive() bool
	// Wait blocks until the VM is gone; every caller gets the same answer.
	Wait(ctx context.Context) error
	// Stop asks the guest to power down, waits up to grace, then forces the VMM to quit.
	Stop(ctx context.Context, grace time.Duration) error
	// Kill ends the VMM at once.
	Kill() error
	// Release frees what an ended VM still holds on the host beyond its directory (a jailed
	// VM's cgroup); idempotent. It fails while the VM runs.
	Release() error
	Stats() (Stats, error)
}
