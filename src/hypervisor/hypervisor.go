package hypervisor

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"
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

// Console receives the guest kernel's console.
func (d Dir) Console() string { return d.path("console.log") }

// Channel is the host end of a named guest channel.
func (d Dir) Channel(name string) string { return d.path("chan-" + name) }

// ChannelInput is the FIFO the host writes an input channel's bytes to.
func (d Dir) ChannelInput(name string) string { return d.Channel(name) + ".in" }

// VMMLog receives what the VMM itself prints.
func (d Dir) VMMLog() string { return d.path("vmm.log") }

// Initrd is the per-VM initrd (it may carry secrets; the engine deletes it after boot).
func (d Dir) Initrd() string { return d.path("initrd") }

// Channel is a named byte stream between host and guest. Output channels (guest to host) are
// written to a file; input channels (host to guest) are a FIFO (Dir.ChannelInput) the host
// writes to.
type Channel struct {
	Name  string
	Input bool
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
	Stats() (Stats, error)
}
