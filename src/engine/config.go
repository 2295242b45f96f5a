package engine

import (
	"fmt"
	"os"
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
	return nil
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
