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

func taskContainer(state executor.State) executor.Container {
	return executor.Container{Guid: "task-1", State: state, Tags: executor.Tags{
		rep.LifecycleTag: rep.TaskLifecycle, rep.DomainTag: "cf-tasks"}}
}

// TestTaskStart: a reserved task is started in the BBS and run; a task the BBS will not start
// (cancelled, gone) loses its container; an unreachable BBS changes nothing.
func TestTaskStart(t *testing.T) {
	task := &models.Task{TaskGuid: "task-1", Domain: "cf-tasks", TaskDefinition: &models.TaskDefinition{
		RootFs: "preloaded:unik", Action: models.WrapAction(&models.RunAction{Path: "/bin/app", User: "vcap"})}}
	cases := []struct {
		name          string
		changed       bool
		err           error
		runErr        error
		runs, deletes bool
		completes     bool // CompleteTask(failed) after a failed run
	}{
		{"started", true, nil, nil, true, false, false},
		{"already started", false, nil, nil, false, false, false},
		{"cancelled", false, models.NewTaskTransitionError(models.Task_Completed, models.Task_Running), nil, false, true, false},
		{"gone", false, models.ErrResourceNotFound, nil, false, true, false},
		{"bbs unreachable", false, errors.New("connection refused"), nil, false, false, false},
		{"run fails", true, nil, executor.ErrContainerNotFound, true, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newProcessorFakes()
			f.bbs.StartTaskReturns(tc.changed, tc.err)
			f.bbs.TaskByGuidReturns(task, nil)
			f.executor.RunContainerReturns(tc.runErr)
			f.proc.process(lagertest.NewTestLogger("test"), "trace", taskContainer(executor.StateReserved))
			if got := f.executor.RunContainerCallCount() == 1; got != tc.runs {
				t.Fatalf("ran %v, want %v", got, tc.runs)
			}
			if got := f.executor.DeleteContainerCallCount() == 1; got != tc.deletes {
				t.Fatalf("deleted %v, want %v", got, tc.deletes)
			}
			if got := f.bbs.CompleteTaskCallCount() == 1; got != tc.completes {
				t.Fatalf("completed %v, want %v", got, tc.completes)
			}
			if tc.completes {
				_, _, _, cell, failed, reason, _ := f.bbs.CompleteTaskArgsForCall(0)
				if cell != "cell-a" || !failed || reason != TaskFailedToRunContainer {
					t.Fatalf("CompleteTask(%s, %v, %q)", cell, failed, reason)
				}
			}
		})
	}
}

// TestTaskComplete: a completed task container reports its result, then is deleted; when the
// BBS cannot be told, the container stays for the next pass.
func TestTaskComplete(t *testing.T) {
	cases := []struct {
		name       string
		result     executor.ContainerRunResult
		resultFile string
		errs       []error // CompleteTask's answers, in order
		wantCalls  int
		failed     bool
		reason     string
		deletes    bool
	}{
		{"succeeded", executor.ContainerRunResult{}, "", []error{nil}, 1, false, "", true},
		{"failed", executor.ContainerRunResult{Failed: true, FailureReason: "APP/TASK/t: Exited with status 3"}, "",
			[]error{nil}, 1, true, "APP/TASK/t: Exited with status 3", true},
		{"result file the executor cannot give", executor.ContainerRunResult{}, "/tmp/result.json", []error{nil}, 1, true, TaskFailedToFetchResult, true},
		{"bbs unreachable", executor.ContainerRunResult{}, "", []error{errors.New("connection refused")}, 1, false, "", false},
		{"invalid transition", executor.ContainerRunResult{}, "", []error{models.NewTaskTransitionError(models.Task_Completed, models.Task_Running), nil}, 2, false, "", true},
		{"gone", executor.ContainerRunResult{}, "", []error{models.ErrResourceNotFound}, 1, false, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newProcessorFakes()
			for i, err := range tc.errs {
				f.bbs.CompleteTaskReturnsOnCall(i, err)
			}
			c := taskContainer(executor.StateCompleted)
			c.RunResult = tc.result
			c.Tags[rep.ResultFileTag] = tc.resultFile
			f.proc.process(lagertest.NewTestLogger("test"), "trace", c)
			if f.bbs.CompleteTaskCallCount() != tc.wantCalls {
				t.Fatalf("CompleteTask calls %d, want %d", f.bbs.CompleteTaskCallCount(), tc.wantCalls)
			}
			_, _, guid, cell, failed, reason, result := f.bbs.CompleteTaskArgsForCall(0)
			if guid != "task-1" || cell != "cell-a" || failed != tc.failed || reason != tc.reason || result != "" {
				t.Fatalf("CompleteTask(%s, %s, %v, %q, %q)", guid, cell, failed, reason, result)
			}
			if tc.wantCalls == 2 {
				if _, _, _, _, failed, reason, _ := f.bbs.CompleteTaskArgsForCall(1); !failed || reason != TaskInvalidTransition {
					t.Fatalf("second CompleteTask(%v, %q)", failed, reason)
				}
			}
			if got := f.executor.DeleteContainerCallCount() == 1; got != tc.deletes {
				t.Fatalf("deleted %v, want %v", got, tc.deletes)
			}
		})
	}
}

// resultExecutor is the executor fake with the depot's TaskResult.
type resultExecutor struct {
	*fakes.FakeClient
	result string
	err    error
}

func (r resultExecutor) TaskResult(string) (string, error) { return r.result, r.err }

// TestTaskResult: a succeeded task's result file goes to the BBS with CompleteTask; one that
// cannot be read fails the task with Diego's reason.
func TestTaskResult(t *testing.T) {
	for _, tc := range []struct {
		err    error
		failed bool
		reason string
		result string
	}{{nil, false, "", `{"ok":true}`}, {errors.New("too large"), true, TaskFailedToFetchResult, ""}} {
		f := newProcessorFakes()
		ex := resultExecutor{FakeClient: f.executor, result: `{"ok":true}`, err: tc.err}
		p := newProcessor("cell-a", "z1", rep.StackPathMap{"unik": ""}, f.bbs, ex, nopSender{}, f.reporter)
		c := taskContainer(executor.StateCompleted)
		c.Tags[rep.ResultFileTag] = "/tmp/result.json"
		p.process(lagertest.NewTestLogger("test"), "trace", c)
		_, _, _, _, failed, reason, result := f.bbs.CompleteTaskArgsForCall(0)
		if failed != tc.failed || reason != tc.reason || result != tc.result {
			t.Errorf("TaskResult error %v: CompleteTask(%v, %q, %q)", tc.err, failed, reason, result)
		}
	}
}
