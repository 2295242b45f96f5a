package depot_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3/lagertest"

	"github.com/unik-cf/unik/src/cell/depot"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/network"
)

// egressEngine is the fake engine, keeping the egress each instance was started with.
type egressEngine struct {
	*fakeEngine
	mu     sync.Mutex
	egress [][]network.EgressRule
}

func (e *egressEngine) Run(ctx context.Context, spec engine.RunSpec) (engine.Info, error) {
	e.mu.Lock()
	e.egress = append(e.egress, spec.Egress)
	e.mu.Unlock()
	return e.fakeEngine.Run(ctx, spec)
}

// The run request's egress rules (the LRP's security groups) reach the engine converted.
func TestRunPassesTheSecurityGroupsToTheEngine(t *testing.T) {
	eng := &egressEngine{fakeEngine: newFakeEngine()}
	logger := lagertest.NewTestLogger("t")
	d, err := depot.New(logger, depot.Config{CellID: "cell-1", RecordDir: t.TempDir(), ExternalIP: "10.0.0.9",
		Capacity: executor.NewExecutorResources(1024, 4096, 10), WatchInterval: 5 * time.Millisecond, StartupInterval: 5 * time.Millisecond},
		eng, &fakeImages{}, nullSender{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Cleanup(logger) })
	es, _ := d.SubscribeToEvents(logger)
	defer es.Close()
	d.AllocateContainers(logger, "", []executor.AllocationRequest{
		executor.NewAllocationRequest("g1", &executor.Resource{MemoryMB: 128, DiskMB: 100}, false, executor.Tags{"lifecycle": "lrp"})})
	nextEvent(t, es) // reserved
	req := runRequest(t, "g1", 0)
	req.EgressRules = []*models.SecurityGroupRule{{Protocol: "tcp", Destinations: []string{"10.9.0.0/16"}, Ports: []uint32{5432}, Log: true}}
	if err := d.RunContainer(logger, "", &req); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, es); e.EventType() != executor.EventTypeContainerRunning {
		t.Fatalf("event %v", e.EventType())
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.egress) != 1 || len(eng.egress[0]) != 1 {
		t.Fatalf("egress given to the engine: %+v", eng.egress)
	}
	r := eng.egress[0][0]
	if r.Protocol != network.ProtocolTCP || !r.Log || r.Destinations[0].String() != "10.9.0.0-10.9.255.255" || r.Ports[0] != (network.PortRange{First: 5432, Last: 5432}) {
		t.Errorf("egress rule %+v", r)
	}
}
