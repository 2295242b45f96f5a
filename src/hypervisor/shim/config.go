package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/unik-cf/unik/src/hypervisor/shim/cgroup"
	"github.com/unik-cf/unik/src/vmlog"
)

// Config is one VM's shim: what to run, in which jail, with which limits, and where its
// output goes. The driver writes it (Dir.ShimConfig, 0600 root); the shim and its jailed
// child read it.
type Config struct {
	Name string `json:"name"` // the VM's name: the cgroup leaf, and in messages
	Dir  string `json:"dir"`  // the VM's directory on the host, seen as JailDir inside
	Root string `json:"root"` // an empty directory of the host: the jail's tmpfs root is mounted on it

	VMM  string   `json:"vmm"`  // the VMM binary: a host path, visible at the same path in the jail
	Args []string `json:"args"` // the VMM's arguments (without argv[0]) as seen inside the jail

	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"` // supplementary groups (the group of /dev/kvm)
	Mounts []Mount  `json:"mounts"`           // the jail's file system, made in order

	Cgroup Cgroup `json:"cgroup"`

	Tap     string `json:"tap,omitempty"` // a persistent tap to open and hand over (TapFD)
	Monitor string `json:"monitor"`       // a unix socket to listen on and hand over (MonitorFD)

	Outputs  []Output `json:"outputs"`            // guest-to-host streams: FIFO -> capped ring
	Inputs   []string `json:"inputs,omitempty"`   // FIFOs the VMM reads: given to its user
	Readable []string `json:"readable,omitempty"` // files the VMM must read (the per-VM initrd): given to its user, 0400

	VMMLog       Output `json:"vmm_log"`        // the VMM's stdout and stderr (FIFO unused)
	LogRateLimit int64  `json:"log_rate_limit"` // bytes/s over the AppLog outputs; <= 0: unlimited
	PIDFile      string `json:"pid_file"`       // the VMM's host pid is written here
}

// JailDir is where the VM's directory appears inside the jail.
const JailDir = "/vm"

// Mount kinds.
const (
	BindRO  = "bind-ro" // a file or directory, read-only
	Device  = "device"  // a device node, read-write
	Symlink = "symlink" // Target -> Source (merged /usr: /lib -> usr/lib)
)

// Mount is one entry of the jail's file system. Target is the path inside the jail.
type Mount struct {
	Kind   string `json:"kind"`
	Source string `json:"source"`
	Target string `json:"target"`
}

// Cgroup is the VM's control group.
type Cgroup struct {
	Path   string        `json:"path"` // below the hierarchy roots, e.g. unik/<name>
	Limits cgroup.Limits `json:"limits"`
}

// Output is one guest-to-host stream.
type Output struct {
	FIFO string      `json:"fifo"` // created by the shim, written by the VMM
	Ring vmlog.Files `json:"ring"`
	Cap  int64       `json:"cap"`
	// AppLog outputs share the rate limit; the first one (the app's stdout) also receives
	// the limiter's notices.
	AppLog bool `json:"app_log,omitempty"`
}

// Descriptors the VMM inherits: the tap first (when there is one), then the monitor socket.
func (c Config) TapFD() int { return 3 }

// MonitorFD is the inherited listening socket of the VMM's monitor.
func (c Config) MonitorFD() int {
	if c.Tap != "" {
		return 4
	}
	return 3
}

// Validate names the first bad field.
func (c Config) Validate() error {
	abs := func(field, p string) error {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("shim config: %s %q is not an absolute path", field, p)
		}
		return nil
	}
	switch {
	case c.Name == "" || strings.ContainsAny(c.Name, "/ "):
		return fmt.Errorf("shim config: name %q is empty or holds / or a space", c.Name)
	case c.UID == 0 || c.GID == 0:
		return fmt.Errorf("shim config: uid %d / gid %d: the VMM must not run as root", c.UID, c.GID)
	case len(c.Args) == 0:
		return fmt.Errorf("shim config: no VMM arguments")
	}
	for field, p := range map[string]string{"dir": c.Dir, "root": c.Root, "vmm": c.VMM, "monitor": c.Monitor, "pid_file": c.PIDFile} {
		if err := abs(field, p); err != nil {
			return err
		}
	}
	for i, m := range c.Mounts {
		if m.Kind != BindRO && m.Kind != Device && m.Kind != Symlink {
			return fmt.Errorf("shim config: mounts[%d]: kind %q is not %s, %s or %s", i, m.Kind, BindRO, Device, Symlink)
		}
		if err := abs(fmt.Sprintf("mounts[%d].target", i), m.Target); err != nil || m.Target == "/" || strings.Contains(m.Target, "..") {
			return fmt.Errorf("shim config: mounts[%d]: target %q is not a path below /", i, m.Target)
		}
	}
	if _, err := (cgroup.Hierarchy{Version: cgroup.V2, Unified: "/"}).Group(c.Cgroup.Path); err != nil {
		return fmt.Errorf("shim config: %w", err)
	}
	if err := c.Cgroup.Limits.Validate(); err != nil {
		return fmt.Errorf("shim config: %w", err)
	}
	for i, o := range append([]Output{c.VMMLog}, c.Outputs...) {
		if o.Cap < vmlog.MinCap || o.Ring.Current == "" || o.Ring.Previous == "" || (i > 0 && o.FIFO == "") {
			return fmt.Errorf("shim config: output %d: needs a FIFO, a ring and a cap of at least %d bytes", i, vmlog.MinCap)
		}
	}
	return nil
}

// Write saves c at path, private.
func (c Config) Write(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("shim config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("shim config: %w", err)
	}
	return nil
}

// Load reads and validates the config at path.
func Load(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("shim config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("shim config %s: %w", path, err)
	}
	return c, c.Validate()
}
