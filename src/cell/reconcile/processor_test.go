package reconcile

import (
	"errors"
	"testing"

	"code.cloudfoundry.org/bbs/fake_bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/executor/fakes"
	"code.cloudfoundry.org/lager/v3/lagertest"
	"code.cloudfoundry.org/rep"
	"code.cloudfoundry.org/rep/evacuation/evacuation_context/fake_evacuation_context"
)

type nopSender struct{}

func (nopSender) SendAppLog(string, string, map[string]string) error      { return nil }
func (nopSender) SendAppErrorLog(string, string, map[string]string) error { return nil }

type processorFakes struct {
	bbs      *fake_bbs.FakeInternalClient
	executor *fakes.FakeClient
	reporter *fake_evacuation_context.FakeEvacuationReporter
	proc     *processor
}

func newProcessorFakes() processorFakes {
	f := processorFakes{bbs: &fake_bbs.FakeInternalClient{}, executor: &fakes.FakeClient{},
		reporter: &fake_evacuation_context.FakeEvacuationReporter{}}
	f.proc = newProcessor("cell-a", "z1", rep.StackPathMap{"unik": ""}, f.bbs, f.executor, nopSender{}, f.reporter)
	return f
}

func lrpContainer(state executor.State) executor.Container {
	return executor.Container{Guid: "guid-1", State: state, Tags: executor.Tags{
		rep.LifecycleTag: rep.LRPLifecycle, rep.DomainTag: "cf-apps", rep.ProcessGuidTag: "pg-1",
		rep.ProcessIndexTag: "0", rep.InstanceGuidTag: "ig-1",
	}}
}

// TestClaimFailures: what a failed ClaimActualLRP does to the container, per state and error.
// A reservation is deleted whatever the error (nothing runs yet, the BBS places it again); a
// starting VM is deleted only when the BBS says it is not this cell's (or gone), never because
// the BBS could not be reached.
func TestClaimFailures(t *testing.T) {
	unreachable := errors.New("dial tcp 127.0.0.1:8889: connect: connection refused")
	cases := []struct {
		name    string
		state   executor.State
		err     error
		deletes bool
	}{
		{"reserved, cannot be claimed", executor.StateReserved, models.ErrActualLRPCannotBeClaimed, true},
		{"reserved, LRP gone", executor.StateReserved, models.ErrResourceNotFound, true},
		{"reserved, BBS unreachable", executor.StateReserved, unreachable, true},
		{"reserved, unknown BBS error", executor.StateReserved, models.ErrUnknownError, true},
		{"initializing, cannot be claimed", executor.StateInitializing, models.ErrActualLRPCannotBeClaimed, true},
		{"initializing, LRP gone", executor.StateInitializing, models.ErrResourceNotFound, true},
		{"initializing, BBS unreachable", executor.StateInitializing, unreachable, false},
		{"created, cannot be claimed", executor.StateCreated, models.ErrActualLRPCannotBeClaimed, true},
		{"created, LRP gone", executor.StateCreated, models.ErrResourceNotFound, true},
		{"created, BBS unreachable", executor.StateCreated, unreachable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newProcessorFakes()
			f.bbs.ClaimActualLRPReturns(tc.err)
			f.proc.process(lagertest.NewTestLogger("test"), "trace", lrpContainer(tc.state))
			if f.bbs.ClaimActualLRPCallCount() != 1 {
				t.Fatalf("claims: %d, want 1", f.bbs.ClaimActualLRPCallCount())
			}
			deleted := f.executor.DeleteContainerCallCount() == 1
			if deleted != tc.deletes {
				t.Fatalf("deleted %v, want %v", deleted, tc.deletes)
			}
			if deleted {
				if _, _, guid := f.executor.DeleteContainerArgsForCall(0); guid != "guid-1" {
					t.Fatalf("deleted %q", guid)
				}
			}
			if f.bbs.DesiredLRPByProcessGuidCallCount() != 0 || f.executor.RunContainerCallCount() != 0 {
				t.Fatal("a failed claim must not run the container")
			}
		})
	}
}

// TestReservedClaimedIsRun: a successful claim fetches the desired LRP and runs the container;
// a run that fails gives the instance back to the BBS.
func TestReservedClaimedIsRun(t *testing.T) {
	desired := &models.DesiredLRP{ProcessGuid: "pg-1", Domain: "cf-apps", RootFs: "preloaded:unik", Instances: 1,
		Action: models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"}), MetricTags: map[string]*models.MetricTagValue{},
		Routes: &models.Routes{}}
	for _, runErr := range []error{nil, executor.ErrContainerNotFound} {
		f := newProcessorFakes()
		f.bbs.DesiredLRPByProcessGuidReturns(desired, nil)
		f.executor.RunContainerReturns(runErr)
		f.proc.process(lagertest.NewTestLogger("test"), "trace", lrpContainer(executor.StateReserved))
		if f.executor.RunContainerCallCount() != 1 {
			t.Fatalf("run calls: %d", f.executor.RunContainerCallCount())
		}
		_, _, req := f.executor.RunContainerArgsForCall(0)
		if req.Guid != "guid-1" {
			t.Fatalf("ran %q", req.Guid)
		}
		if removed := f.bbs.RemoveActualLRPCallCount(); (runErr != nil) != (removed == 1) {
			t.Fatalf("run error %v: RemoveActualLRP calls %d", runErr, removed)
		}
		if f.executor.DeleteContainerCallCount() != 0 {
			t.Fatal("a claimed reservation is not deleted")
		}
	}
}

// TestCompletedContainers: a stopped instance is removed from the BBS, a crashed one crashed,
// and the container deleted either way, even when the BBS call fails.
func TestCompletedContainers(t *testing.T) {
	for _, stopped := range []bool{true, false} {
		for _, bbsErr := range []error{nil, errors.New("bbs down")} {
			f := newProcessorFakes()
			f.bbs.RemoveActualLRPReturns(bbsErr)
			f.bbs.CrashActualLRPReturns(bbsErr)
			c := lrpContainer(executor.StateCompleted)
			c.RunResult = executor.ContainerRunResult{Stopped: stopped, Failed: !stopped, FailureReason: "exited with status 3"}
			f.proc.process(lagertest.NewTestLogger("test"), "trace", c)
			if stopped && (f.bbs.RemoveActualLRPCallCount() != 1 || f.bbs.CrashActualLRPCallCount() != 0) {
				t.Fatalf("stopped: remove %d crash %d", f.bbs.RemoveActualLRPCallCount(), f.bbs.CrashActualLRPCallCount())
			}
			if !stopped {
				if f.bbs.CrashActualLRPCallCount() != 1 || f.bbs.RemoveActualLRPCallCount() != 0 {
					t.Fatalf("crashed: remove %d crash %d", f.bbs.RemoveActualLRPCallCount(), f.bbs.CrashActualLRPCallCount())
				}
				if _, _, _, _, reason := f.bbs.CrashActualLRPArgsForCall(0); reason != "exited with status 3" {
					t.Fatalf("crash reason %q", reason)
				}
			}
			if f.executor.DeleteContainerCallCount() != 1 {
				t.Fatalf("stopped=%v bbs error %v: deletes %d", stopped, bbsErr, f.executor.DeleteContainerCallCount())
			}
		}
	}
}

// TestRunningContainerStartRefused: a running instance the BBS refuses to start is stopped.
func TestRunningContainerStartRefused(t *testing.T) {
	for _, tc := range []struct {
		err   error
		stops bool
	}{{nil, false}, {models.ErrActualLRPCannotBeStarted, true}, {errors.New("bbs down"), false}} {
		f := newProcessorFakes()
		f.bbs.StartActualLRPReturns(tc.err)
		c := lrpContainer(executor.StateRunning)
		c.ExternalIP, c.InternalIP = "10.0.0.1", "10.213.0.2"
		c.Ports = []executor.PortMapping{{ContainerPort: 8080, HostPort: 40001}}
		f.proc.process(lagertest.NewTestLogger("test"), "trace", c)
		if f.bbs.StartActualLRPCallCount() != 1 {
			t.Fatalf("start calls %d", f.bbs.StartActualLRPCallCount())
		}
		if got := f.executor.StopContainerCallCount() == 1; got != tc.stops {
			t.Fatalf("error %v: stopped %v, want %v", tc.err, got, tc.stops)
		}
	}
}
