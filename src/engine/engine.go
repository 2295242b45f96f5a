package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

// Driver boots VMs (hypervisor/qemu.Driver).
type Driver interface {
	Start(ctx context.Context, spec hypervisor.Spec) (hypervisor.Machine, error)
	Open(dir hypervisor.Dir, name string) (hypervisor.Machine, error)
}

// Network attaches VMs (network.Network).
type Network interface {
	Attach(ctx context.Context, id string, ports []network.PortRequest, egress ...network.EgressRule) (network.Attachment, error)
	Detach(ctx context.Context, id string) error
}

// Engine runs instances on this host.
type Engine struct {
	cfg    Config
	driver Driver
	net    Network
}

// New makes an engine. The state directory is created private (0700): instance directories
// hold app output.
func New(cfg Config, driver Driver, net Network) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "instances"), 0o700); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return &Engine{cfg: cfg, driver: driver, net: net}, nil
}

// Errors callers tell apart.
var (
	ErrNoInstance = errors.New("no such instance")
	ErrRunning    = errors.New("instance is running")
	ErrNotRunning = errors.New("instance is not running")
)

// RunSpec says what to run and how.
type RunSpec struct {
	Image imagestore.Image
	Env   []string // NAME=value, over the image's defaults
	Ports []network.PortRequest
	// Egress is what the instance may reach beyond its host (a cell's application security
	// groups); none means nothing, unless the network's Config.Egress.
	Egress    []network.EgressRule
	MemoryMB  int // default 128
	CPUs      int // default 1
	StopGrace time.Duration
	Tags      map[string]string // the caller's own labels, kept in the record (a cell's container guid)
	// EnvFor, when set, is called once the network attachment is known (and after FilesFor);
	// the NAME=value entries it returns are added after Env, and override it. It serves
	// variables that name the instance's own addresses (Cloud Foundry's CF_INSTANCE_IP,
	// CF_INSTANCE_PORT...); an error fails the run.
	EnvFor func(network.Attachment) ([]string, error)
	// SSH, when set, has the guest init serve port forwarding (cf ssh -L) with these keys.
	SSH *guestinit.SSHConfig
	// ResultFile, for a task: the guest path whose content Info.Result reports once the app
	// has exited.
	ResultFile string
	// Sidecars run beside the app in the same VM (see guestinit.Sidecar); LogPaths gives each
	// its own stdout and stderr.
	Sidecars []guestinit.Sidecar
	// Files are written into the guest before the app starts; FilesFor, when set, adds files
	// that depend on the network attachment (an identity certificate for the guest's address).
	Files    []guestinit.File
	FilesFor func(network.Attachment) ([]guestinit.File, error)
	// CPUWeight is the instance's relative CPU share, 1-100 (Cloud Foundry's cpu_weight);
	// 0 = 100. Applied when jailed (a cgroup's cpu shares).
	CPUWeight int
	// LogRateLimit bounds stdout and stderr together in bytes per second, as Diego does
	// (Cloud Foundry's log_rate_limit); 0 or negative = unlimited. Applied when jailed.
	LogRateLimit int64
	// LogCapBytes bounds each of stdout and stderr on disk; 0 = 4 MiB. Applied when jailed.
	LogCapBytes int64
}

// Validate names the first bad field.
func (s RunSpec) Validate() error {
	if s.Image.Payload == "" {
		return fmt.Errorf("run: image is required")
	}
	if s.MemoryMB != 0 && s.MemoryMB < 48 {
		return fmt.Errorf("run: memory %d MB is below the 48 MB a guest needs", s.MemoryMB)
	}
	if s.CPUWeight < 0 || s.CPUWeight > 100 {
		return fmt.Errorf("run: cpu weight %d is not between 1 and 100", s.CPUWeight)
	}
	if s.LogCapBytes < 0 || s.LogCapBytes > 0 && s.LogCapBytes < 1024 {
		return fmt.Errorf("run: log cap %d bytes is below 1 KiB", s.LogCapBytes)
	}
	for i, kv := range s.Env {
		if err := (guestinit.Config{InstanceID: "x", Env: []string{kv}}).Validate(); err != nil {
			return fmt.Errorf("run: env[%d] %q is not NAME=value", i, kv)
		}
	}
	return nil
}

func (e *Engine) dir(id string) instanceDir {
	return instanceDir{hypervisor.Dir(filepath.Join(e.cfg.StateDir, "instances", id))}
}

// Kernel is the guest kernel the engine boots.
func (e *Engine) Kernel() (kernel.Kernel, error) {
	return kernel.Find(e.cfg.CacheDir, e.cfg.KernelDir)
}

// Run starts an instance and returns once its VM is booting. Anything that fails before the
// VM starts is rolled back: no directory, tap, rule or lease is left.
func (e *Engine) Run(ctx context.Context, spec RunSpec) (_ Info, err error) {
	if err := spec.Validate(); err != nil {
		return Info{}, err
	}
	if spec.MemoryMB == 0 {
		spec.MemoryMB = 128
	}
	if spec.CPUs == 0 {
		spec.CPUs = 1
	}
	if spec.StopGrace == 0 {
		spec.StopGrace = 10 * time.Second
	}
	k, err := e.Kernel()
	if err != nil {
		return Info{}, err
	}
	if err := imagestore.Verify(spec.Image); err != nil {
		return Info{}, err
	}
	id, err := newID()
	if err != nil {
		return Info{}, err
	}
	d := e.dir(id)
	if err := os.Mkdir(string(d.Dir), 0o700); err != nil {
		return Info{}, fmt.Errorf("run: %w", err)
	}
	defer func() {
		if err != nil {
			_ = e.net.Detach(context.Background(), id)
			_ = os.RemoveAll(string(d.Dir))
		}
	}()
	accel, reason := e.chooseAccel(ctx, k)
	att, err := e.net.Attach(ctx, id, spec.Ports, spec.Egress...)
	if err != nil {
		return Info{}, fmt.Errorf("run: network: %w", err)
	}
	rec := Record{ID: id, Image: spec.Image.Name, ImageDigest: spec.Image.Digest, Created: time.Now().UTC(),
		MemoryMB: spec.MemoryMB, CPUs: spec.CPUs, Accel: string(accel), AccelReason: reason, Kernel: k.Name,
		Network: att, StopGraceMS: int(spec.StopGrace / time.Millisecond), Tags: spec.Tags,
		CPUWeight: spec.CPUWeight, LogRateLimit: spec.LogRateLimit}
	for _, sc := range spec.Sidecars {
		rec.Sidecars = append(rec.Sidecars, sc.Name)
	}
	jail, err := e.jail(d)
	if err != nil {
		return Info{}, fmt.Errorf("run: %w", err)
	}
	if jail != nil {
		rec.JailID = jail.UID
		defer func() {
			if err != nil {
				_ = releaseJailID(e.cfg.jailIDDir(), jail.UID, string(d.Dir))
			}
		}()
	}
	if err := d.writeRecord(rec); err != nil {
		return Info{}, fmt.Errorf("run: %w", err)
	}
	files := spec.Files
	if spec.FilesFor != nil {
		extra, err := spec.FilesFor(att)
		if err != nil {
			return Info{}, fmt.Errorf("run: %w", err)
		}
		files = append(files[:len(files):len(files)], extra...)
	}
	env := spec.Env
	if spec.EnvFor != nil { // after FilesFor: it may use what FilesFor made (credentials)
		extra, err := spec.EnvFor(att)
		if err != nil {
			return Info{}, fmt.Errorf("run: %w", err)
		}
		if err := (RunSpec{Image: spec.Image, Env: extra}).Validate(); err != nil {
			return Info{}, fmt.Errorf("run: EnvFor: %w", err)
		}
		env = append(env[:len(env):len(env)], extra...)
	}
	cfg := guestinit.Config{InstanceID: id, Env: env, Network: netConfig(att), StopGraceMS: rec.StopGraceMS, SSH: spec.SSH, Files: files,
		Sidecars: spec.Sidecars, ResultFile: spec.ResultFile}
	if err := cfg.Validate(); err != nil {
		return Info{}, fmt.Errorf("run: %w", err)
	}
	if err := writeInitrd(d.Initrd(), k.PrefixPath(), spec.Image.Payload, e.cfg.InitPath, cfg); err != nil {
		return Info{}, fmt.Errorf("run: initrd: %w", err)
	}
	defer os.Remove(d.Initrd()) // QEMU has loaded it once Start returns; it holds the env
	vm := hypervisor.Spec{Name: id, Dir: d.Dir, Kernel: k.ImagePath(), Initrd: d.Initrd(), Transport: k.Transport,
		MemoryMB: spec.MemoryMB, CPUs: spec.CPUs, Accel: accel, Net: vmNet(att),
		Channels: channels(len(spec.Sidecars), spec.LogCapBytes), CPUWeight: spec.CPUWeight, LogRateLimit: spec.LogRateLimit, Jail: jail}
	if _, err := e.driver.Start(ctx, vm); err != nil {
		return Info{}, fmt.Errorf("run: %w", err)
	}
	return e.Get(id)
}

// jail is the jail of a new instance in d (nil when the engine does not jail): the shim,
// and an id of its own leased for as long as the instance exists.
func (e *Engine) jail(d instanceDir) (*hypervisor.Jail, error) {
	if !e.cfg.jailed() {
		return nil, nil
	}
	shim, err := e.cfg.shim()
	if err != nil {
		return nil, err
	}
	id, err := leaseJailID(e.cfg.jailIDDir(), e.cfg.jailIDs(), string(d.Dir))
	if err != nil {
		return nil, err
	}
	return &hypervisor.Jail{Shim: shim, UID: id, GID: id, CgroupParent: e.cfg.CgroupParent}, nil
}

func netConfig(a network.Attachment) *guestinit.NetConfig {
	n := &guestinit.NetConfig{Address: a.GuestIP.String()}
	if a.Gateway.IsValid() {
		n.Gateway = a.Gateway.String()
	}
	for _, d := range a.DNS {
		n.DNS = append(n.DNS, d.String())
	}
	return n
}

func vmNet(a network.Attachment) hypervisor.Net {
	if a.Mode == network.ModeBridge {
		return hypervisor.Net{Kind: "tap", Tap: a.Tap, MAC: a.MAC}
	}
	n := hypervisor.Net{Kind: "user", MAC: a.MAC}
	for _, p := range a.Ports {
		n.Forwards = append(n.Forwards, hypervisor.Forward{HostIP: p.HostIP, HostPort: p.HostPort, GuestPort: p.GuestPort})
	}
	return n
}

// Get tells an instance's state now.
func (e *Engine) Get(id string) (Info, error) {
	d := e.dir(id)
	rec, err := d.readRecord()
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("%w: %q (see `unik ps`)", ErrNoInstance, id)
	}
	if err != nil {
		return Info{}, err
	}
	m, err := e.driver.Open(d.Dir, id)
	if err != nil {
		return Info{}, fmt.Errorf("instance %s: %w", id, err)
	}
	alive := m.Alive()
	removeStaleInitrd(d, rec)
	st := readStatus(d.Log(guestinit.PortStatus))
	info := Info{Record: rec}
	info.State, info.Reason = derive(alive, st, exists(d.stopRequested()))
	if st.Exited && !alive {
		code := st.ExitCode
		info.ExitCode, info.Signal, info.Process = &code, st.Signal, st.Process
		if st.HasResult {
			info.Result = &Result{Content: st.Result, Error: st.ResultError}
		}
	}
	if alive {
		info.PID = m.PID()
		info.Stats, _ = m.Stats()
	}
	return info, nil
}

// List returns every instance, oldest first.
func (e *Engine) List() ([]Info, error) {
	entries, err := os.ReadDir(filepath.Join(e.cfg.StateDir, "instances"))
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		info, err := e.Get(ent.Name())
		if err != nil {
			continue // half-written by a Run in progress
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// removeStaleInitrd deletes a per-instance initrd (it holds the env) that a Run killed between
// writing it and starting QEMU left behind. A Run in progress deletes its own within seconds.
func removeStaleInitrd(d instanceDir, rec Record) {
	if time.Since(rec.Created) > 2*time.Minute {
		_ = os.Remove(d.Initrd())
	}
}

func newID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Resolve turns a full id or a unique prefix of one into an id.
func (e *Engine) Resolve(ref string) (string, error) {
	if !validRef(ref) {
		return "", fmt.Errorf("%w: %q is not an instance id (12 hex digits, or a unique prefix)", ErrNoInstance, ref)
	}
	entries, err := os.ReadDir(filepath.Join(e.cfg.StateDir, "instances"))
	if err != nil {
		return "", err
	}
	var found []string
	for _, ent := range entries {
		if len(ent.Name()) >= len(ref) && ent.Name()[:len(ref)] == ref {
			found = append(found, ent.Name())
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %q (see `unik ps`)", ErrNoInstance, ref)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: %q matches %d instances, give more digits", ErrNoInstance, ref, len(found))
}

func validRef(ref string) bool {
	if ref == "" || len(ref) > 12 {
		return false
	}
	for _, c := range ref {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
