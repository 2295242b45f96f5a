package engine

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/unik-cf/unik/src/hypervisor"
)

// Config of an engine.
type Config struct {
	StateDir  string // instances (and images, kept by the caller's imagestore)
	CacheDir  string // kernels (scripts/build-kernel)
	KernelDir string // a specific kernel directory; "" = find one in CacheDir
	InitPath  string // the static guest init, needed for the accelerator probe
	QEMU      string // QEMU binary; "" = qemu-system-x86_64
	Accel     string // "auto" (default), "kvm" or "tcg"

	// Jail runs every VMM under unik-shim (unprivileged user, namespaces, cgroup, bounded
	// output): "auto" (default: when the engine runs as root), "on" (root required) or
	// "off" (QEMU started directly, as an ordinary user must).
	Jail string
	// ShimPath is the unik-shim binary; "" = unik-shim beside this program, then on PATH.
	ShimPath string
	// JailIDs is the range of user and group ids jailed VMMs run as, one per VM on this
	// host; zero = DefaultJailIDFirst and DefaultJailIDCount.
	JailIDs IDRange
	// JailIDDir holds the host-wide leases of those ids (shared by every engine on the host);
	// "" = /run/unik/jail-ids.
	JailIDDir string
	// CgroupParent is where VM cgroups go below the hierarchy root; "" = "unik".
	CgroupParent string
}

// IDRange is [First, First+Count).
type IDRange struct {
	First uint32 `json:"first"`
	Count uint32 `json:"count"`
}

// Default jail ids: above the ids of users and of the usual subuid ranges of user namespaces.
const (
	DefaultJailIDFirst = 2000000
	DefaultJailIDCount = 65536
)

func (c Config) jailIDs() IDRange {
	if c.JailIDs == (IDRange{}) {
		return IDRange{First: DefaultJailIDFirst, Count: DefaultJailIDCount}
	}
	return c.JailIDs
}

func (c Config) jailIDDir() string {
	if c.JailIDDir == "" {
		return "/run/unik/jail-ids"
	}
	return c.JailIDDir
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.StateDir == "" {
		return fmt.Errorf("engine config: state_dir is required")
	}
	switch c.Accel {
	case "", "auto", string(hypervisor.AccelKVM), string(hypervisor.AccelTCG):
	default:
		return fmt.Errorf("engine config: accel %q is not auto, kvm or tcg", c.Accel)
	}
	switch c.Jail {
	case "", "auto", "off":
	case "on":
		if os.Geteuid() != 0 {
			return fmt.Errorf("engine config: jail on needs root (the shim creates cgroups and namespaces)")
		}
	default:
		return fmt.Errorf("engine config: jail %q is not auto, on or off", c.Jail)
	}
	if r := c.JailIDs; r != (IDRange{}) && (r.First == 0 || r.Count == 0 || uint64(r.First)+uint64(r.Count) > 1<<32-1) {
		return fmt.Errorf("engine config: jail ids %d+%d are not a range of non-root ids", r.First, r.Count)
	}
	return nil
}

// jailed tells whether this engine jails its VMMs.
func (c Config) jailed() bool {
	return c.Jail == "on" || (c.Jail == "" || c.Jail == "auto") && os.Geteuid() == 0
}

// shim finds the unik-shim binary: ShimPath, else beside the running program, else PATH.
func (c Config) shim() (string, error) {
	if c.ShimPath != "" {
		if _, err := os.Stat(c.ShimPath); err != nil {
			return "", fmt.Errorf("unik-shim not found: %w (build it with scripts/setup)", err)
		}
		return c.ShimPath, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "unik-shim")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("unik-shim"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("unik-shim not found beside %s nor on PATH: build it with scripts/setup (or set the shim path, or run with the jail off)", os.Args[0])
}

// DefaultStateDir is $UNIK_STATE_DIR, else /var/lib/unik for root, else
// $XDG_DATA_HOME/unik (~/.local/share/unik).
func DefaultStateDir() string {
	if d := os.Getenv("UNIK_STATE_DIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/unik"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "unik")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "unik")
}
