package depot_test

import (
	"fmt"
	"strings"
	"testing"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3/lagertest"

	"github.com/unik-cf/unik/src/cell/imagecache"
)

func TestDropletBoundedByTheDiskQuota(t *testing.T) {
	images := &fakeImages{err: fmt.Errorf("%w of 100 MB: its files unpack to more than that", imagecache.ErrQuota)}
	d := newDepotWith(t, newFakeEngine(), images)
	logger := lagertest.NewTestLogger("t")
	es, _ := d.SubscribeToEvents(logger)
	defer es.Close()
	if fails := d.AllocateContainers(logger, "", []executor.AllocationRequest{
		executor.NewAllocationRequest("g1", &executor.Resource{MemoryMB: 64, DiskMB: 100}, false, nil),
	}); len(fails) != 0 {
		t.Fatalf("allocate: %+v", fails)
	}
	req := runRequest(t, "g1", 0)
	if err := d.RunContainer(logger, "", &req); err != nil {
		t.Fatal(err)
	}
	var c executor.Container
	for c.State != executor.StateCompleted {
		if e, ok := nextEvent(t, es).(executor.ContainerCompleteEvent); ok {
			c = e.RawContainer
		}
	}
	const want = "droplet exceeds the instance's disk quota of 100 MB"
	if !c.RunResult.Failed || !strings.Contains(c.RunResult.FailureReason, want) {
		t.Errorf("completed %+v, want a failure naming %q", c.RunResult, want)
	}
	images.mu.Lock()
	defer images.mu.Unlock()
	if len(images.reqs) != 1 || images.reqs[0].MaxBytes != 100<<20 {
		t.Errorf("image requests %+v, want one with MaxBytes %d", images.reqs, 100<<20)
	}
}
