package depot_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/ecrhelper"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3/lagertest"
	"code.cloudfoundry.org/rep"

	"github.com/unik-cf/unik/src/cell/depot"
	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/network"
	"github.com/unik-cf/unik/src/vmlog"
)

// fakeEngine keeps instances in memory; a test ends one with exit.
type fakeEngine struct {
	mu     sync.Mutex
	vms    map[string]*engine.Info
	n      int
	envs   map[string][]string
	files  map[string][]guestinit.File   // given at boot
	pushed map[string][][]guestinit.File // pushed into the running guest
	specs  map[string]engine.RunSpec
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{vms: map[string]*engine.Info{}, envs: map[string][]string{}, specs: map[string]engine.RunSpec{}}
}

func (f *fakeEngine) Run(ctx context.Context, spec engine.RunSpec) (engine.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("vm%010d", f.n)
	att := network.Attachment{ID: id, Mode: network.ModeUser, GuestIP: netip.MustParsePrefix("10.0.2.15/24")}
	for i, p := range spec.Ports {
		att.Ports = append(att.Ports, network.PortMapping{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: uint16(40000 + i), GuestPort: p.GuestPort})
	}
	info := &engine.Info{Record: engine.Record{ID: id, Tags: spec.Tags, Network: att, MemoryMB: spec.MemoryMB, CPUs: 1, Created: time.Now()},
		State: engine.StateRunning}
	f.vms[id] = info
	files := append([]guestinit.File{}, spec.Files...)
	if spec.FilesFor != nil {
		extra, err := spec.FilesFor(att)
		if err != nil {
			return engine.Info{}, err
		}
		files = append(files, extra...)
	}
	extra, err := spec.EnvFor(att)
	if err != nil {
		return engine.Info{}, err
	}
	f.envs[id] = append(append([]string{}, spec.Env...), extra...)
	if f.files == nil {
		f.files = map[string][]guestinit.File{}
	}
	f.files[id] = files
	f.specs[id] = spec
	return *info, nil
}

func (f *fakeEngine) Get(id string) (engine.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.vms[id]; ok {
		return *v, nil
	}
	return engine.Info{}, fmt.Errorf("%w: %s", engine.ErrNoInstance, id)
}

func (f *fakeEngine) List() ([]engine.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.Info
	for _, v := range f.vms {
		out = append(out, *v)
	}
	return out, nil
}

func (f *fakeEngine) exit(id string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vms[id].State, f.vms[id].ExitCode = engine.StateExited, &code
}

func (f *fakeEngine) Stop(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.vms[id]; ok && v.State == engine.StateRunning {
		v.State = engine.StateStopped
	}
	return nil
}

func (f *fakeEngine) Remove(ctx context.Context, id string, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.vms, id)
	return nil
}

func (f *fakeEngine) LogPaths(id string) (engine.Paths, error) {
	return engine.Paths{Stdout: vmlog.Files{Current: "/nonexistent/out", Previous: "/nonexistent/out.1"},
		Stderr: vmlog.Files{Current: "/nonexistent/err", Previous: "/nonexistent/err.1"}}, nil
}

func (f *fakeEngine) PushFiles(id string, files []guestinit.File) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pushed == nil {
		f.pushed = map[string][][]guestinit.File{}
	}
	f.pushed[id] = append(f.pushed[id], files)
	return nil
}

// fakeImages prepares every droplet at once, or fails with err; it keeps the requests.
type fakeImages struct {
	mu   sync.Mutex
	reqs []imagecache.Request
	err  error
}

func (f *fakeImages) Image(ctx context.Context, r imagecache.Request, p imagecache.Progress) (imagestore.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
	if f.err != nil {
		return imagestore.Image{}, f.err
	}
	return imagestore.Image{Name: "img", Payload: "/payload", Size: 1000}, nil
}

type nullSender struct{}

func (nullSender) SendAppLog(string, string, map[string]string) error      { return nil }
func (nullSender) SendAppErrorLog(string, string, map[string]string) error { return nil }

func newDepot(t *testing.T, eng *fakeEngine) *depot.Depot {
	t.Helper()
	return newDepotWith(t, eng, &fakeImages{})
}

func newDepotWith(t *testing.T, eng *fakeEngine, images *fakeImages) *depot.Depot {
	t.Helper()
	d, err := depot.New(lagertest.NewTestLogger("depot"), depot.Config{CellID: "cell-1", RecordDir: t.TempDir(), ExternalIP: "10.0.0.9",
		Capacity: executor.NewExecutorResources(1024, 4096, 10), WatchInterval: 5 * time.Millisecond, StartupInterval: 5 * time.Millisecond},
		eng, images, nullSender{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Recover(lagertest.NewTestLogger("recover")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Cleanup(lagertest.NewTestLogger("cleanup")) })
	return d
}

func runRequest(t *testing.T, guid string, index int32) executor.RunRequest {
	lrp := push.DesiredLRP(push.App{Name: "a", HealthCheck: "process"}, "http://x/d", "")
	key := models.NewActualLRPKey(lrp.ProcessGuid, index, lrp.Domain)
	ik := models.NewActualLRPInstanceKey(guid, "cell-1")
	req, err := rep.RunRequestConversionHelper{ECRHelper: ecrhelper.NewECRHelper()}.NewRunRequestFromDesiredLRP(
		guid, lrp, &key, &ik, rep.StackPathMap{"unik": "unik"}, rep.LayeringModeSingleLayer)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRunPassesCPUWeightAndLogRateLimit: the LRP's cpu_weight and log_rate_limit reach the
// VM (the jail applies them: cgroup CPU shares, the shim's rate limit).
func TestRunPassesCPUWeightAndLogRateLimit(t *testing.T) {
	eng := newFakeEngine()
	d := newDepot(t, eng)
	logger := lagertest.NewTestLogger("t")
	es, _ := d.SubscribeToEvents(logger)
	defer es.Close()
	d.AllocateContainers(logger, "", []executor.AllocationRequest{
		executor.NewAllocationRequest("w1", &executor.Resource{MemoryMB: 128, DiskMB: 100}, false, nil)})
	nextEvent(t, es) // reserved
	lrp := push.DesiredLRP(push.App{Name: "a", HealthCheck: "process"}, "http://x/d", "")
	lrp.CpuWeight, lrp.LogRateLimit = 40, &models.LogRateLimit{BytesPerSecond: 2048}
	key := models.NewActualLRPKey(lrp.ProcessGuid, 0, lrp.Domain)
	ik := models.NewActualLRPInstanceKey("w1", "cell-1")
	req, err := rep.RunRequestConversionHelper{ECRHelper: ecrhelper.NewECRHelper()}.NewRunRequestFromDesiredLRP(
		"w1", lrp, &key, &ik, rep.StackPathMap{"unik": "unik"}, rep.LayeringModeSingleLayer)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RunContainer(logger, "", &req); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, es) // running
	eng.mu.Lock()
	defer eng.mu.Unlock()
	for _, spec := range eng.specs {
		if spec.CPUWeight != 40 || spec.LogRateLimit != 2048 {
			t.Fatalf("cpu weight %d, log rate limit %d", spec.CPUWeight, spec.LogRateLimit)
		}
		return
	}
	t.Fatal("no VM was run")
}

func nextEvent(t *testing.T, es executor.EventSource) executor.Event {
	t.Helper()
	ch := make(chan executor.Event, 1)
	go func() {
		e, err := es.Next()
		if err == nil {
			ch <- e
		}
	}()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return nil
	}
}

func TestLifecycle(t *testing.T) {
	eng := newFakeEngine()
	d := newDepot(t, eng)
	logger := lagertest.NewTestLogger("t")
	es, _ := d.SubscribeToEvents(logger)
	defer es.Close()

	fails := d.AllocateContainers(logger, "", []executor.AllocationRequest{
		executor.NewAllocationRequest("g1", &executor.Resource{MemoryMB: 512, DiskMB: 100}, false, executor.Tags{"lifecycle": "lrp"}),
		executor.NewAllocationRequest("g2", &executor.Resource{MemoryMB: 600, DiskMB: 100}, false, nil),
		executor.NewAllocationRequest("g1", &executor.Resource{MemoryMB: 1}, false, nil),
	})
	if len(fails) != 2 || fails[0].ErrorMsg != executor.ErrInsufficientResourcesAvailable.Error() ||
		fails[1].ErrorMsg != executor.ErrContainerGuidNotAvailable.Error() {
		t.Fatalf("failures: %+v", fails)
	}
	if e := nextEvent(t, es); e.EventType() != executor.EventTypeContainerReserved {
		t.Fatalf("event %v", e.EventType())
	}
	if rem, _ := d.RemainingResources(logger); rem.MemoryMB != 512 || rem.Containers != 9 {
		t.Fatalf("remaining %+v", rem)
	}
	req := runRequest(t, "g1", 0)
	if err := d.RunContainer(logger, "", &req); err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, es)
	c := e.(executor.ContainerRunningEvent).RawContainer
	if c.State != executor.StateRunning || c.ExternalIP != "10.0.0.9" || c.InternalIP != "10.0.2.15" || c.Ports[0].HostPort != 40000 || !c.Routable {
		t.Fatalf("running container %+v", c)
	}
	vms, _ := eng.List()
	env := strings.Join(eng.envs[vms[0].ID], "\n")
	for _, want := range []string{"CF_INSTANCE_IP=10.0.0.9", "CF_INSTANCE_INTERNAL_IP=10.0.2.15", "CF_INSTANCE_PORT=40000", "INSTANCE_GUID=g1"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s", want)
		}
	}
	eng.exit(vms[0].ID, 3)
	c = nextEvent(t, es).(executor.ContainerCompleteEvent).RawContainer
	if !c.RunResult.Failed || c.RunResult.FailureReason != "APP/PROC/WEB: Exited with status 3" || c.RunResult.Stopped {
		t.Fatalf("completed %+v", c.RunResult)
	}
	if err := d.RunContainer(logger, "", &req); err != executor.ErrInvalidTransition {
		t.Fatalf("run of a completed container: %v", err)
	}
	if err := d.DeleteContainer(logger, "", "g1"); err != nil {
		t.Fatal(err)
	}
	if rem, _ := d.RemainingResources(logger); rem.MemoryMB != 1024 || rem.Containers != 10 {
		t.Fatalf("remaining after delete %+v", rem)
	}
	if vms, _ := eng.List(); len(vms) != 0 {
		t.Fatalf("VMs left: %v", vms)
	}
	if _, err := d.GetContainer(logger, "g1"); err != executor.ErrContainerNotFound {
		t.Fatalf("get deleted: %v (must be the sentinel itself)", err)
	}
	if err := d.StopContainer(logger, "", "g1"); err != executor.ErrContainerNotFound {
		t.Fatalf("stop deleted: %v", err)
	}
	if err := d.DeleteContainer(logger, "", "g1"); err != executor.ErrContainerNotFound {
		t.Fatalf("delete deleted: %v", err)
	}
}

func TestStopCompletesAsStopped(t *testing.T) {
	eng := newFakeEngine()
	d := newDepot(t, eng)
	logger := lagertest.NewTestLogger("t")
	es, _ := d.SubscribeToEvents(logger)
	defer es.Close()
	d.AllocateContainers(logger, "", []executor.AllocationRequest{executor.NewAllocationRequest("g1", &executor.Resource{MemoryMB: 64}, false, nil)})
	nextEvent(t, es)
	req := runRequest(t, "g1", 0)
	if err := d.RunContainer(logger, "", &req); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, es) // running
	if err := d.StopContainer(logger, "", "g1"); err != nil {
		t.Fatal(err)
	}
	c := nextEvent(t, es).(executor.ContainerCompleteEvent).RawContainer
	if !c.RunResult.Stopped || c.RunResult.Failed {
		t.Fatalf("stopped: %+v", c.RunResult)
	}
	vms, _ := eng.List()
	if len(vms) != 1 || vms[0].State != engine.StateStopped {
		t.Fatalf("the VM is stopped, kept until delete: %+v", vms)
	}
}

func TestRecoverAdoptsRunningAndRemovesOrphans(t *testing.T) {
	eng := newFakeEngine()
	dir := t.TempDir()
	logger := lagertest.NewTestLogger("t")
	cfg := depot.Config{CellID: "cell-1", RecordDir: dir, Capacity: executor.NewExecutorResources(1024, 4096, 10), WatchInterval: 5 * time.Millisecond}
	d1, _ := depot.New(logger, cfg, eng, &fakeImages{}, nullSender{})
	d1.Recover(logger)
	es, _ := d1.SubscribeToEvents(logger)
	d1.AllocateContainers(logger, "", []executor.AllocationRequest{executor.NewAllocationRequest("g1", &executor.Resource{MemoryMB: 64}, false, nil)})
	nextEvent(t, es)
	req := runRequest(t, "g1", 0)
	d1.RunContainer(logger, "", &req)
	nextEvent(t, es)
	d1.Cleanup(logger) // the process ends; the VM runs on
	orphan, _ := eng.Run(context.Background(), engine.RunSpec{EnvFor: func(network.Attachment) ([]string, error) { return nil, nil }})

	d2, _ := depot.New(logger, cfg, eng, &fakeImages{}, nullSender{})
	defer d2.Cleanup(logger)
	adopted, err := d2.Recover(logger)
	if err != nil || adopted != 1 {
		t.Fatalf("adopted %d, %v", adopted, err)
	}
	if _, err := eng.Get(orphan.ID); err == nil {
		t.Fatal("the orphan VM survived")
	}
	c, err := d2.GetContainer(logger, "g1")
	if err != nil || c.State != executor.StateRunning {
		t.Fatalf("adopted container %+v %v", c.State, err)
	}
	if rem, _ := d2.RemainingResources(logger); rem.MemoryMB != 1024-64 {
		t.Fatalf("resources after recovery %+v", rem)
	}
	es2, _ := d2.SubscribeToEvents(logger)
	vms, _ := eng.List()
	eng.exit(vms[0].ID, 1)
	if c := nextEvent(t, es2).(executor.ContainerCompleteEvent).RawContainer; c.RunResult.FailureReason != "APP/PROC/WEB: Exited with status 1" {
		t.Fatalf("adopted instance's exit: %+v", c.RunResult)
	}
}
