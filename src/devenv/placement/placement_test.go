package placement

import (
	"testing"

	"code.cloudfoundry.org/rep"
)

func cellState(id string, rootfs string, memory int32) *cell {
	return &cell{state: rep.CellState{CellID: id,
		RootFSProviders:    rep.RootFSProviders{"preloaded": rep.NewFixedSetRootFSProvider(rootfs)},
		AvailableResources: rep.NewResources(memory, 10000, 10), TotalResources: rep.NewResources(4096, 10000, 10)}}
}

func TestPick(t *testing.T) {
	cells := []*cell{cellState("unik-1", "unik", 100), cellState("unik-2", "unik", 3000), cellState("linux", "cflinuxfs4", 4096)}
	pc := rep.NewPlacementConstraint("preloaded:unik", nil, nil)
	if c, _ := pick(cells, pc, &rep.Resource{MemoryMB: 128}); c == nil || c.state.CellID != "unik-2" {
		t.Fatalf("picked %+v", c)
	}
	if c, reason := pick(cells, pc, &rep.Resource{MemoryMB: 8000}); c != nil || reason != ErrorInsufficientResources {
		t.Fatalf("too big: %v %q", c, reason)
	}
	other := rep.NewPlacementConstraint("preloaded:cflinuxfs5", nil, nil)
	if c, reason := pick(cells, other, &rep.Resource{MemoryMB: 1}); c != nil || reason != ErrorCellMismatch {
		t.Fatalf("no rootfs: %v %q", c, reason)
	}
	tagged := rep.NewPlacementConstraint("preloaded:unik", []string{"iso-seg"}, nil)
	if c, reason := pick(cells, tagged, &rep.Resource{MemoryMB: 1}); c != nil || reason != ErrorCellMismatch {
		t.Fatalf("placement tags: %v %q", c, reason)
	}
}
