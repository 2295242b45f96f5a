package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/network"
)

// deadMachine is a VM that is not running.
type deadMachine struct{}

func (deadMachine) PID() int                                  { return 0 }
func (deadMachine) Alive() bool                               { return false }
func (deadMachine) Wait(context.Context) error                { return nil }
func (deadMachine) Stop(context.Context, time.Duration) error { return nil }
func (deadMachine) Kill() error                               { return nil }
func (deadMachine) Stats() (hypervisor.Stats, error)          { return hypervisor.Stats{}, nil }
func (deadMachine) String() string                            { return "dead" }
func (deadMachine) Release() error                            { return nil }

type noDriver struct{}

func (noDriver) Start(context.Context, hypervisor.Spec) (hypervisor.Machine, error) {
	return nil, errors.New("not in this test")
}
func (noDriver) Open(hypervisor.Dir, string) (hypervisor.Machine, error) { return deadMachine{}, nil }

type recordingNet struct{ detached []string }

func (n *recordingNet) Attach(context.Context, string, []network.PortRequest, ...network.EgressRule) (network.Attachment, error) {
	return network.Attachment{}, errors.New("not in this test")
}
func (n *recordingNet) Detach(_ context.Context, id string) error {
	n.detached = append(n.detached, id)
	return nil
}

// TestHalfBuilt: an instance directory without a record (a Run killed early) is listed and
// removed with its network attachment; a complete instance is neither.
func TestHalfBuilt(t *testing.T) {
	state := t.TempDir()
	net := &recordingNet{}
	e, err := New(Config{StateDir: state}, noDriver{}, net)
	if err != nil {
		t.Fatal(err)
	}
	half, whole := "aaaaaaaaaaaa", "bbbbbbbbbbbb"
	for _, id := range []string{half, whole} {
		if err := os.Mkdir(filepath.Join(state, "instances", id), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.dir(whole).writeRecord(Record{ID: whole}); err != nil {
		t.Fatal(err)
	}
	got, err := e.HalfBuilt()
	if err != nil || !slices.Equal(got, []string{half}) {
		t.Fatalf("HalfBuilt = %v, %v; want [%s]", got, err, half)
	}
	if err := e.RemoveHalfBuilt(context.Background(), half); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, "instances", half)); !os.IsNotExist(err) {
		t.Fatalf("the half-built directory is still there: %v", err)
	}
	if !slices.Equal(net.detached, []string{half}) {
		t.Fatalf("detached %v", net.detached)
	}
	if err := e.RemoveHalfBuilt(context.Background(), "../../etc"); !errors.Is(err, ErrNoInstance) {
		t.Fatalf("a path as id: %v", err)
	}
}
