package depot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"

	"github.com/unik-cf/unik/src/cell/identity"
	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/cell/logs"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/imagestore"
)

// Engine runs VMs (engine.Engine).
type Engine interface {
	Run(ctx context.Context, spec engine.RunSpec) (engine.Info, error)
	Get(id string) (engine.Info, error)
	List() ([]engine.Info, error)
	Stop(ctx context.Context, id string) error
	Remove(ctx context.Context, id string, force bool) error
	LogPaths(id string) (engine.Paths, error)
	PushFiles(id string, files []guestinit.File) error
}

// Images prepares the image of a droplet (imagecache.Cache).
type Images interface {
	Image(ctx context.Context, r imagecache.Request, progress imagecache.Progress) (imagestore.Image, error)
}

// ContainerGuidTag is the engine tag naming an instance's container.
const ContainerGuidTag = "container-guid"

// Config of a depot.
type Config struct {
	CellID     string
	RecordDir  string // container records
	ExternalIP string // the cell's address, reported as the instances' address
	Capacity   executor.ExecutorResources

	DefaultMemoryMB int           // a VM's memory when the LRP asks for none; default 128
	MinMemoryMB     int           // a VM gets at least this much; default 64
	CPUs            int           // per VM; default 1
	StopGrace       time.Duration // SIGTERM to SIGKILL in the guest; default 10s

	StartupInterval  time.Duration // between health probes until healthy; default 50ms
	LivenessInterval time.Duration // between health probes once healthy (a check's interval_ms wins); default 30s
	// ReadinessInterval: between readiness probes while not ready; default 500ms (Diego's
	// unhealthy monitoring interval). Once ready, the checks' interval_ms or LivenessInterval.
	ReadinessInterval time.Duration
	WatchInterval     time.Duration // how often a VM's state is read; default 200ms
	ReservedExpiry    time.Duration // a Reserved container not run by then is deleted; default 1m

	// Identity, when set, issues every instance's identity credentials (CF_INSTANCE_CERT/KEY)
	// and rotates them before they expire.
	Identity *identity.CA
	// TrustedCerts go to every instance at its run request's trusted_system_certificates_path.
	TrustedCerts []TrustedCert
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StopGrace, 10*time.Second)
	def(&c.StartupInterval, 50*time.Millisecond)
	def(&c.LivenessInterval, 30*time.Second)
	def(&c.ReadinessInterval, 500*time.Millisecond)
	def(&c.WatchInterval, 200*time.Millisecond)
	def(&c.ReservedExpiry, time.Minute)
	if c.DefaultMemoryMB <= 0 {
		c.DefaultMemoryMB = 128
	}
	if c.MinMemoryMB <= 0 {
		c.MinMemoryMB = 64
	}
	if c.CPUs <= 0 {
		c.CPUs = 1
	}
	return c
}

// Depot implements executor.Client on microVMs.
type Depot struct {
	cfg    Config
	engine Engine
	images Images
	sender logs.Sender
	logger lager.Logger
	dir    recordDir
	hub    *hub

	base     context.Context // cancelled at shutdown: goroutines stop watching, VMs stay
	shutdown context.CancelFunc
	wg       sync.WaitGroup

	mu         sync.Mutex
	containers map[string]*container
	remaining  executor.ExecutorResources
	healthy    bool
}

// container is a record and the runtime state of its goroutine.
type container struct {
	record
	cancel context.CancelFunc // ends the run goroutine
	done   chan struct{}      // closed when the run goroutine has returned
	// stopRequested: StopContainer was called; the run goroutine completes it as stopped.
	stopRequested bool
	deleting      bool
	mounted       []guestinit.File // volume-mounted files, until the VM boots (SetVolumeMountedFiles)
	mountedErr    error            // why they cannot be honoured: the instance fails with it
}

var _ executor.Client = (*Depot)(nil)

// New makes a depot. Call Recover before serving.
func New(logger lager.Logger, cfg Config, eng Engine, images Images, sender logs.Sender) (*Depot, error) {
	cfg = cfg.withDefaults()
	if cfg.RecordDir == "" || cfg.CellID == "" {
		return nil, fmt.Errorf("depot: cell id and record dir are required")
	}
	if err := os.MkdirAll(cfg.RecordDir, 0o700); err != nil {
		return nil, fmt.Errorf("depot: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Depot{cfg: cfg, engine: eng, images: images, sender: sender, logger: logger.Session("depot"),
		dir: recordDir(cfg.RecordDir), hub: newHub(), base: base, shutdown: cancel,
		containers: map[string]*container{}, remaining: cfg.Capacity, healthy: true}, nil
}

// Ping reports whether the depot can run instances.
func (d *Depot) Ping(logger lager.Logger) error {
	if !d.Healthy(logger) {
		return errors.New("unik cell depot is unhealthy")
	}
	return nil
}

func (d *Depot) Healthy(lager.Logger) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.healthy
}

func (d *Depot) SetHealthy(logger lager.Logger, healthy bool) {
	d.mu.Lock()
	d.healthy = healthy
	d.mu.Unlock()
	logger.Info("set-healthy", lager.Data{"healthy": healthy})
}

// Cleanup stops the depot's goroutines. VMs keep running: a restarted cell adopts them.
func (d *Depot) Cleanup(logger lager.Logger) {
	d.shutdown()
	d.hub.close()
	d.wg.Wait()
	logger.Info("depot-cleaned-up")
}

func (d *Depot) GetContainer(logger lager.Logger, guid string) (executor.Container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[guid]
	if !ok {
		return executor.Container{}, executor.ErrContainerNotFound
	}
	return c.Container.Copy(), nil
}

func (d *Depot) ListContainers(lager.Logger) ([]executor.Container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]executor.Container, 0, len(d.containers))
	for _, c := range d.containers {
		out = append(out, c.Container.Copy())
	}
	return out, nil
}

func (d *Depot) RemainingResources(lager.Logger) (executor.ExecutorResources, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remaining.Copy(), nil
}

func (d *Depot) TotalResources(lager.Logger) (executor.ExecutorResources, error) {
	return d.cfg.Capacity.Copy(), nil
}

func (d *Depot) VolumeDrivers(lager.Logger) ([]string, error) { return []string{}, nil }

// GetFiles has nothing to stream: an instance's files are its immutable image.
func (d *Depot) GetFiles(logger lager.Logger, guid, path string) (io.ReadCloser, error) {
	if _, err := d.GetContainer(logger, guid); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("get files %s: a unik instance has no file system to read from the host", path)
}

func (d *Depot) SubscribeToEvents(lager.Logger) (executor.EventSource, error) {
	return d.hub.subscribe(), nil
}

// UpdateContainer takes new internal routes and metric tags.
func (d *Depot) UpdateContainer(logger lager.Logger, req *executor.UpdateRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[req.Guid]
	if !ok {
		return executor.ErrContainerNotFound
	}
	c.Container.InternalRoutes = req.InternalRoutes
	if req.MetricTags != nil {
		c.Container.MetricsConfig.Tags = req.MetricTags
	}
	return d.persist(c)
}

// persist writes c's record; d.mu is held.
func (d *Depot) persist(c *container) error {
	if err := d.dir.write(c.record); err != nil {
		d.logger.Error("persist-failed", err, lager.Data{"guid": c.Container.Guid})
		return err
	}
	return nil
}

// cellLog is the lifecycle log of a container.
func (d *Depot) cellLog(c executor.Container) logs.Cell {
	return logs.Cell{Sender: d.sender, Config: c.RunInfo.LogConfig}
}
