package guestinit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
)

// Names of the virtio-serial ports shared by host and guest.
const (
	PortStdout  = "unik.stdout"
	PortStderr  = "unik.stderr"
	PortStatus  = "unik.status"
	PortControl = "unik.control"
)

// PortSidecarStdout and PortSidecarStderr name sidecar i's output ports (0-based).
func PortSidecarStdout(i int) string { return fmt.Sprintf("unik.sidecar%d.stdout", i) }
func PortSidecarStderr(i int) string { return fmt.Sprintf("unik.sidecar%d.stderr", i) }

// MaxSidecars bounds the processes beside the app (each takes two virtio-serial ports).
const MaxSidecars = 8

// Guest paths shared by the image builder, the engine and init.
const (
	ManifestPath = "/unik/manifest.json"
	ConfigPath   = "/unik/config.json"
	ModulesDir   = "/unik/modules"
)

// The identity every app runs as: vcap, uid and gid 2000 (the image builder's VcapUser,
// VcapUID and VcapGID). Init uses them whatever the image's manifest says: the cell, not the
// droplet, decides who runs in the guest.
const (
	AppUser = "vcap"
	AppUID  = 2000
	AppGID  = 2000
)

// Modes of a boot.
const (
	ModeRun   = "run"   // run the image's app (default)
	ModeSmoke = "smoke" // report smoke-ok and power off at once: the accelerator probe
)

// Config is the per-instance configuration. It may hold secrets (Env): it travels only
// inside the initramfs, never on a command line or in a log.
type Config struct {
	Mode        string     `json:"mode,omitempty"`
	InstanceID  string     `json:"instance_id"`
	Hostname    string     `json:"hostname,omitempty"`
	Env         []string   `json:"env,omitempty"` // "NAME=value", applied over the image's defaults
	Network     *NetConfig `json:"network,omitempty"`
	StopGraceMS int        `json:"stop_grace_ms,omitempty"` // SIGTERM to SIGKILL; default 10000
	// SSH, when set, serves port forwarding the way diego-sshd would (cf ssh -L); see SSHServer.
	SSH *SSHConfig `json:"ssh,omitempty"`
	// Files are written before the app starts (see File).
	Files []File `json:"files,omitempty"`
	// ResultFile, for a task, is read when the app has exited (at most MaxResultBytes) and
	// reported as a "result" event before "exited".
	ResultFile string `json:"result_file,omitempty"`
	// Sidecars run beside the app in the same VM, each with its own start command and output
	// ports; the first process to exit ends the instance (codependent, as in Diego).
	Sidecars []Sidecar `json:"sidecars,omitempty"`
}

// Sidecar is one process beside the app.
type Sidecar struct {
	Name         string `json:"name"`
	StartCommand string `json:"start_command"`
}

// NetConfig is the guest side of a network attachment.
type NetConfig struct {
	Interface string   `json:"interface,omitempty"` // default eth0
	Address   string   `json:"address"`             // CIDR, e.g. 10.213.0.5/24
	Gateway   string   `json:"gateway,omitempty"`
	DNS       []string `json:"dns,omitempty"`
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	switch c.Mode {
	case "", ModeRun, ModeSmoke:
	default:
		return fmt.Errorf("config: mode %q is not run or smoke", c.Mode)
	}
	if c.Mode != ModeSmoke && c.InstanceID == "" {
		return fmt.Errorf("config: instance_id is required")
	}
	for i, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("config: env[%d] is not NAME=value", i)
		}
	}
	if c.StopGraceMS < 0 {
		return fmt.Errorf("config: stop_grace_ms must not be negative")
	}
	if err := ValidateFiles(c.Files); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(c.Sidecars) > MaxSidecars {
		return fmt.Errorf("config: %d sidecars, at most %d", len(c.Sidecars), MaxSidecars)
	}
	for i, sc := range c.Sidecars {
		if sc.Name == "" || sc.StartCommand == "" {
			return fmt.Errorf("config: sidecars[%d] needs a name and a start command", i)
		}
	}
	if c.SSH != nil {
		if _, _, err := net.SplitHostPort(c.SSH.Address); err != nil {
			return fmt.Errorf("config: ssh address %q: %w", c.SSH.Address, err)
		}
		if c.SSH.HostKey == "" || c.SSH.AuthorizedKey == "" {
			return fmt.Errorf("config: ssh needs a host key and an authorized key")
		}
	}
	return nil
}

// Event kinds written by init to the status port, one JSON object a line.
const (
	EventStarted   = "started"
	EventExited    = "exited"
	EventInitError = "init-error"
	EventSmokeOK   = "smoke-ok"
	EventResult    = "result" // a task's result file: Result, or Error when it could not be read
)

// MaxResultBytes bounds a task's result file, as Diego's executor does (10 KiB).
const MaxResultBytes = 10 << 10

// Event is one line of the status channel.
type Event struct {
	Event    string `json:"event"`
	PID      int    `json:"pid,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"` // the app was killed by this signal
	Stopped  bool   `json:"stopped,omitempty"`
	Error    string `json:"error,omitempty"`
	// Process is the sidecar whose exit ended the instance ("" = the app itself).
	Process string `json:"process,omitempty"`
	Result  string `json:"result,omitempty"`
}

// Status is what the host learns from the status channel.
type Status struct {
	Started  bool
	Exited   bool
	ExitCode int
	Signal   string
	Stopped  bool   // the app ended because the host asked it to stop
	Error    string // init could not start the app
	SmokeOK  bool
	Process  string // the sidecar whose exit ended the instance ("" = the app)
	// HasResult: a result event came (Result, or ResultError when the file could not be read).
	HasResult   bool
	Result      string
	ResultError string
}

// ReadStatus folds the status channel's events into a Status. Unparsable lines (a channel
// cut off mid-line when the VM died) are ignored: the status then says what is known.
func ReadStatus(r io.Reader) Status {
	var s Status
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch e.Event {
		case EventStarted:
			s.Started = true
		case EventExited:
			s.Exited = true
			if e.ExitCode != nil {
				s.ExitCode = *e.ExitCode
			}
			s.Signal, s.Stopped, s.Process = e.Signal, e.Stopped, e.Process
		case EventResult:
			s.HasResult, s.Result, s.ResultError = true, e.Result, e.Error
		case EventInitError:
			s.Error = e.Error
		case EventSmokeOK:
			s.SmokeOK = true
		}
	}
	return s
}
