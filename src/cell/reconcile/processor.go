package reconcile

import (
	"fmt"
	"sync"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/ecrhelper"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"
	"code.cloudfoundry.org/rep/evacuation/evacuation_context"

	"github.com/unik-cf/unik/src/cell/logs"
)

// processor turns one container's state into BBS calls.
type processor struct {
	cellID     string
	zone       string
	stacks     rep.StackPathMap
	bbs        bbs.InternalClient
	executor   executor.Client
	sender     logs.Sender
	evacuation evacuation_context.EvacuationReporter
	convert    rep.RunRequestConversionHelper

	announced sync.Map // container guids whose replacement was requested (evacuation)
}

func newProcessor(cellID, zone string, stacks rep.StackPathMap, b bbs.InternalClient, ex executor.Client,
	sender logs.Sender, ev evacuation_context.EvacuationReporter) *processor {
	return &processor{cellID: cellID, zone: zone, stacks: stacks, bbs: b, executor: ex, sender: sender, evacuation: ev,
		convert: rep.RunRequestConversionHelper{ECRHelper: ecrhelper.NewECRHelper()}}
}

// taskResults is the depot's way out for a task's result file, which the rep would fetch
// from the container with GetFiles (a VM's files cannot be read once it has ended: the guest
// init reports the file when the task's process exits).
type taskResults interface {
	TaskResult(guid string) (string, error)
}

// mountedFileSetter is the depot's way in for the DesiredLRP's volume_mounted_files.
type mountedFileSetter interface {
	SetVolumeMountedFiles(guid string, files []*models.File) error
}

// lrp is a container with its LRP keys.
type lrp struct {
	key      *models.ActualLRPKey
	instance *models.ActualLRPInstanceKey
	c        executor.Container
}

func (p *processor) process(logger lager.Logger, traceID string, c executor.Container) {
	switch c.Tags[rep.LifecycleTag] {
	case rep.LRPLifecycle:
		p.processLRP(logger, traceID, c)
	case rep.TaskLifecycle:
		p.processTask(logger, traceID, c)
	default:
		logger.Error("unknown-lifecycle", fmt.Errorf("container %s has lifecycle %q", c.Guid, c.Tags[rep.LifecycleTag]))
	}
}

func (p *processor) processLRP(logger lager.Logger, traceID string, c executor.Container) {
	key, err := rep.ActualLRPKeyFromTags(c.Tags)
	if err != nil {
		logger.Error("bad-lrp-key", err)
		return
	}
	instance, err := rep.ActualLRPInstanceKeyFromContainer(c, p.cellID)
	if err != nil {
		logger.Error("bad-instance-key", err)
		return
	}
	l := lrp{key: key, instance: instance, c: c}
	logger = logger.WithData(lager.Data{"process-guid": key.ProcessGuid, "index": key.Index, "state": c.State})
	if p.evacuation.Evacuating() {
		p.evacuate(logger, traceID, l)
		return
	}
	switch c.State {
	case executor.StateReserved:
		p.start(logger, traceID, l)
	case executor.StateInitializing, executor.StateCreated:
		p.claim(logger, traceID, l)
	case executor.StateRunning:
		p.running(logger, traceID, l)
	case executor.StateCompleted:
		p.completed(logger, traceID, l)
	}
}

// start claims a reserved instance and runs it. A reservation whose claim fails for any
// reason is deleted at once: nothing runs yet, its resources go back to the cell, and the BBS
// places the instance again (convergence re-auctions an unclaimed ActualLRP). Keeping it would
// retry the claim on every pass and hold the capacity until the reservation expired.
func (p *processor) start(logger lager.Logger, traceID string, l lrp) {
	if err := p.bbs.ClaimActualLRP(logger, traceID, l.key, l.instance); err != nil {
		logger.Info("claim-failed", lager.Data{"error": err.Error()})
		p.delete(logger, traceID, l.c.Guid)
		return
	}
	desired, err := p.bbs.DesiredLRPByProcessGuid(logger, traceID, l.key.ProcessGuid)
	if err != nil {
		logger.Error("fetch-desired-failed", err)
		return
	}
	req, err := p.convert.NewRunRequestFromDesiredLRP(l.c.Guid, desired, l.key, l.instance, p.stacks, rep.LayeringModeSingleLayer)
	if err != nil {
		logger.Error("run-request-failed", err)
		return
	}
	// The rep's run request drops volume_mounted_files (file-based service bindings): hand
	// them to the executor directly when it takes them. A refusal fails the instance at boot.
	if fs, ok := p.executor.(mountedFileSetter); ok && len(desired.VolumeMountedFiles) > 0 {
		if err := fs.SetVolumeMountedFiles(l.c.Guid, desired.VolumeMountedFiles); err != nil {
			logger.Error("volume-mounted-files-refused", err)
		}
	}
	if err := p.executor.RunContainer(logger, traceID, &req); err != nil {
		logger.Error("run-container-failed", err)
		if err := p.bbs.RemoveActualLRP(logger, traceID, l.key, l.instance); err != nil {
			logger.Error("remove-failed", err) // convergence re-auctions the claimed instance
		}
	}
}

// claim re-asserts that this cell runs a starting instance. A refusal (the instance is
// another cell's now) or a missing ActualLRP (the LRP was deleted or scaled down) means it must
// not run here: the container is deleted. Any other error (the BBS unreachable) keeps the VM:
// the next pass claims again.
func (p *processor) claim(logger lager.Logger, traceID string, l lrp) {
	err := p.bbs.ClaimActualLRP(logger, traceID, l.key, l.instance)
	if err == nil {
		return
	}
	logger.Info("claim-failed", lager.Data{"error": err.Error()})
	switch models.ConvertError(err).Type {
	case models.Error_ActualLRPCannotBeClaimed, models.Error_ResourceNotFound:
		p.delete(logger, traceID, l.c.Guid)
	}
}

// delete drops a container; one already gone is what was wanted.
func (p *processor) delete(logger lager.Logger, traceID, guid string) {
	if err := p.executor.DeleteContainer(logger, traceID, guid); err != nil && err != executor.ErrContainerNotFound {
		logger.Error("delete-container-failed", err, lager.Data{"guid": guid})
	}
}

func (p *processor) running(logger lager.Logger, traceID string, l lrp) {
	netInfo, err := rep.ActualLRPNetInfoFromContainer(l.c)
	if err != nil {
		logger.Error("net-info-failed", err)
		return
	}
	err = p.bbs.StartActualLRP(logger, traceID, l.key, l.instance, netInfo, internalRoutes(l.c), l.c.MetricsConfig.Tags, l.c.Routable, p.zone)
	if err != nil {
		logger.Info("start-failed", lager.Data{"error": err.Error()})
		if models.ConvertError(err).Type == models.Error_ActualLRPCannotBeStarted {
			if err := p.executor.StopContainer(logger, traceID, l.c.Guid); err != nil && err != executor.ErrContainerNotFound {
				logger.Error("stop-container-failed", err)
			}
		}
	}
}

func (p *processor) completed(logger lager.Logger, traceID string, l lrp) {
	if l.c.RunResult.Stopped {
		if err := p.bbs.RemoveActualLRP(logger, traceID, l.key, l.instance); err != nil {
			logger.Info("remove-failed", lager.Data{"error": err.Error()})
		}
	} else {
		logger.Info("crashing", lager.Data{"reason": l.c.RunResult.FailureReason})
		if err := p.bbs.CrashActualLRP(logger, traceID, l.key, l.instance, l.c.RunResult.FailureReason); err != nil {
			logger.Info("crash-failed", lager.Data{"error": err.Error()})
		}
	}
	p.delete(logger, traceID, l.c.Guid)
}

// evacuate hands the instance over to another cell.
func (p *processor) evacuate(logger lager.Logger, traceID string, l lrp) {
	switch l.c.State {
	case executor.StateReserved, executor.StateInitializing, executor.StateCreated:
		if _, err := p.bbs.EvacuateClaimedActualLRP(logger, traceID, l.key, l.instance); err != nil {
			logger.Error("evacuate-claimed-failed", err)
		}
		p.delete(logger, traceID, l.c.Guid)
	case executor.StateRunning:
		netInfo, err := rep.ActualLRPNetInfoFromContainer(l.c)
		if err != nil {
			logger.Error("net-info-failed", err)
			return
		}
		if _, seen := p.announced.LoadOrStore(l.c.Guid, true); !seen {
			logs.Cell{Sender: p.sender, Config: l.c.LogConfig}.Info(
				fmt.Sprintf("Cell %s requesting replacement for instance %s", p.cellID, l.instance.InstanceGuid))
		}
		keep, err := p.bbs.EvacuateRunningActualLRP(logger, traceID, l.key, l.instance, netInfo, internalRoutes(l.c),
			l.c.MetricsConfig.Tags, l.c.Routable, p.zone)
		if !keep {
			p.delete(logger, traceID, l.c.Guid)
		} else if err != nil {
			logger.Error("evacuate-running-failed", err)
		}
	case executor.StateCompleted:
		var err error
		if l.c.RunResult.Stopped {
			_, err = p.bbs.EvacuateStoppedActualLRP(logger, traceID, l.key, l.instance)
		} else {
			_, err = p.bbs.EvacuateCrashedActualLRP(logger, traceID, l.key, l.instance, l.c.RunResult.FailureReason)
		}
		if err != nil {
			logger.Error("evacuate-completed-failed", err)
		}
		p.delete(logger, traceID, l.c.Guid)
	}
}

// Reasons a task is completed with when the cell cannot run or report it (Diego's rep's).
const (
	TaskFailedToRunContainer = "failed to run container"
	TaskInvalidTransition    = "invalid state transition"
	TaskMissingContainer     = "task container does not exist"
	TaskFailedToFetchResult  = "failed to fetch result"
)

// processTask drives a task's container through the BBS as Diego's rep does: a reserved or
// active container (re)asserts StartTask and, the first time, runs; a completed one completes
// the task (failed or not, with the reason) and is deleted.
func (p *processor) processTask(logger lager.Logger, traceID string, c executor.Container) {
	logger = logger.WithData(lager.Data{"task-guid": c.Guid, "state": c.State})
	switch c.State {
	case executor.StateReserved, executor.StateInitializing, executor.StateCreated, executor.StateRunning:
		if p.startTask(logger, traceID, c.Guid) {
			p.runTask(logger, traceID, c.Guid)
		}
	case executor.StateCompleted:
		if p.completeTask(logger, traceID, c) {
			p.delete(logger, traceID, c.Guid)
		}
	}
}

// startTask tells the BBS this cell runs the task; true when it was not started before. A task
// that was cancelled, completed or never existed loses its container.
func (p *processor) startTask(logger lager.Logger, traceID, guid string) bool {
	changed, err := p.bbs.StartTask(logger, traceID, guid, p.cellID)
	if err != nil {
		logger.Info("start-task-failed", lager.Data{"error": err.Error()})
		switch models.ConvertError(err).Type {
		case models.Error_InvalidStateTransition, models.Error_ResourceNotFound:
			p.delete(logger, traceID, guid)
		}
		return false
	}
	return changed
}

func (p *processor) runTask(logger lager.Logger, traceID, guid string) {
	task, err := p.bbs.TaskByGuid(logger, traceID, guid)
	if err != nil {
		logger.Error("fetch-task-failed", err)
		return
	}
	req, err := p.convert.NewRunRequestFromTask(task, p.stacks, rep.LayeringModeSingleLayer)
	if err != nil {
		logger.Error("run-request-failed", err)
		return
	}
	if err := p.executor.RunContainer(logger, traceID, &req); err != nil {
		logger.Error("run-container-failed", err)
		if err := p.bbs.CompleteTask(logger, traceID, guid, p.cellID, true, TaskFailedToRunContainer, ""); err != nil {
			logger.Error("complete-task-failed", err)
		}
	}
}

// completeTask reports a completed container's result; false keeps the container for the next
// pass (the BBS could not be told: deleting it now would turn the task's real result into
// "task container does not exist").
func (p *processor) completeTask(logger lager.Logger, traceID string, c executor.Container) bool {
	if c.RunResult.Failed && c.RunResult.Retryable {
		if err := p.bbs.RejectTask(logger, traceID, c.Guid, c.RunResult.FailureReason); err != nil {
			logger.Error("reject-task-failed", err)
		}
		return true
	}
	failed, reason, result := c.RunResult.Failed, c.RunResult.FailureReason, ""
	if !failed && c.Tags[rep.ResultFileTag] != "" {
		r, ok := p.executor.(taskResults)
		var err error
		if ok {
			result, err = r.TaskResult(c.Guid)
		}
		if !ok || err != nil {
			logger.Info("fetch-result-failed", lager.Data{"error": fmt.Sprint(err)})
			failed, reason, result = true, TaskFailedToFetchResult, ""
		}
	}
	err := p.bbs.CompleteTask(logger, traceID, c.Guid, p.cellID, failed, reason, result)
	if err == nil {
		return true
	}
	logger.Error("complete-task-failed", err)
	switch models.ConvertError(err).Type {
	case models.Error_InvalidStateTransition:
		if err := p.bbs.CompleteTask(logger, traceID, c.Guid, p.cellID, true, TaskInvalidTransition, ""); err != nil {
			logger.Error("complete-task-failed", err)
		}
		return true
	case models.Error_ResourceNotFound:
		return true
	}
	return false
}

func internalRoutes(c executor.Container) []*models.ActualLRPInternalRoute {
	out := []*models.ActualLRPInternalRoute{}
	for _, r := range c.InternalRoutes {
		out = append(out, &models.ActualLRPInternalRoute{Hostname: r.Hostname})
	}
	return out
}
