package depot

import (
	"context"
	"fmt"
	"time"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"
)

// AllocateContainers reserves resources and creates Reserved containers; a request that does
// not fit, or whose guid is taken, fails with the executor's error message.
func (d *Depot) AllocateContainers(logger lager.Logger, traceID string, reqs []executor.AllocationRequest) []executor.AllocationFailure {
	logger = logger.Session("allocate-containers", lager.Data{"count": len(reqs)})
	var failures []executor.AllocationFailure
	var events []executor.Event
	d.mu.Lock()
	for i := range reqs {
		req := &reqs[i]
		var err error
		switch {
		case req.Validate() != nil:
			err = req.Validate()
		case d.containers[req.Guid] != nil:
			err = executor.ErrContainerGuidNotAvailable
		case !d.remaining.Subtract(&req.Resource):
			err = executor.ErrInsufficientResourcesAvailable
		}
		if err != nil {
			logger.Info("allocation-failed", lager.Data{"guid": req.Guid, "error": err.Error()})
			failures = append(failures, executor.NewAllocationFailure(req, err.Error()))
			continue
		}
		c := &container{record: record{Container: executor.NewReservedContainerFromAllocationRequest(req, time.Now().UnixNano())}}
		d.containers[req.Guid] = c
		_ = d.persist(c)
		events = append(events, executor.NewContainerReservedEvent(c.Container.Copy(), traceID))
	}
	d.mu.Unlock()
	for _, e := range events {
		d.hub.emit(e)
	}
	return failures
}

// RunContainer starts a Reserved container: Initializing at once, then (asynchronously)
// Created once its VM boots and Running once healthy, or Completed(failed) with the reason.
func (d *Depot) RunContainer(logger lager.Logger, traceID string, req *executor.RunRequest) error {
	logger = logger.Session("run-container", lager.Data{"guid": req.Guid})
	d.mu.Lock()
	c, ok := d.containers[req.Guid]
	if !ok {
		d.mu.Unlock()
		return executor.ErrContainerNotFound
	}
	if err := c.Container.TransitionToInitialize(req); err != nil {
		d.mu.Unlock()
		logger.Error("invalid-transition", err, lager.Data{"state": c.Container.State})
		return err
	}
	ctx, cancel := context.WithCancel(d.base)
	c.cancel, c.done = cancel, make(chan struct{})
	_ = d.persist(c)
	snapshot := c.Container.Copy()
	done := c.done
	d.mu.Unlock()

	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(done)
		d.run(ctx, logger, traceID, snapshot)
	}()
	return nil
}

// StopContainer ends a container as stopped (the instance is removed, not crashed): the app
// gets SIGTERM, then SIGKILL after the grace period. It returns at once; the completion event
// follows.
func (d *Depot) StopContainer(logger lager.Logger, traceID, guid string) error {
	logger = logger.Session("stop-container", lager.Data{"guid": guid})
	d.mu.Lock()
	c, ok := d.containers[guid]
	if !ok {
		d.mu.Unlock()
		return executor.ErrContainerNotFound
	}
	if c.Container.State == executor.StateCompleted || c.stopRequested {
		d.mu.Unlock()
		return nil
	}
	c.stopRequested = true
	d.cellLog(c.Container).Info(fmt.Sprintf("Cell %s stopping instance %s", d.cfg.CellID, guid))
	if c.cancel != nil {
		c.cancel() // the run goroutine stops the VM and completes the container
		d.mu.Unlock()
		return nil
	}
	// Reserved: no goroutine, no VM.
	c.Container.RunResult.Stopped = true
	c.Container.TransitionToComplete(false, "", false)
	_ = d.persist(c)
	e := executor.NewContainerCompleteEvent(c.Container.Copy(), traceID)
	d.mu.Unlock()
	d.hub.emit(e)
	return nil
}

// DeleteContainer ends a container whatever its state (its VM is stopped, gracefully when it
// runs) and frees its resources, its VM's network and files.
func (d *Depot) DeleteContainer(logger lager.Logger, traceID, guid string) error {
	logger = logger.Session("delete-container", lager.Data{"guid": guid})
	d.mu.Lock()
	c, ok := d.containers[guid]
	if !ok || c.deleting {
		d.mu.Unlock()
		if ok {
			return nil // a delete is in progress
		}
		return executor.ErrContainerNotFound
	}
	c.deleting = true
	if c.cancel != nil {
		c.cancel()
	}
	done := c.done
	d.mu.Unlock()
	if done != nil {
		<-done
	}

	d.mu.Lock()
	vm := c.VMID
	info := c.Container.Copy()
	d.mu.Unlock()
	if vm != "" {
		d.cellLog(info).Info(fmt.Sprintf("Cell %s destroying container for instance %s", d.cfg.CellID, guid))
		if err := d.destroyVM(logger, vm); err != nil {
			d.cellLog(info).Info(fmt.Sprintf("Cell %s failed to destroy container for instance %s", d.cfg.CellID, guid))
			d.mu.Lock()
			c.deleting = false
			d.mu.Unlock()
			return err
		}
		d.cellLog(info).Info(fmt.Sprintf("Cell %s successfully destroyed container for instance %s", d.cfg.CellID, guid))
	}
	d.mu.Lock()
	delete(d.containers, guid)
	d.remaining.Add(&c.Container.Resource)
	if err := d.dir.remove(guid); err != nil {
		logger.Error("remove-record-failed", err)
	}
	d.mu.Unlock()
	logger.Info("deleted")
	return nil
}

// destroyVM stops a VM gracefully when it runs, then removes it with its network and files.
func (d *Depot) destroyVM(logger lager.Logger, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.StopGrace+30*time.Second)
	defer cancel()
	if info, err := d.engine.Get(id); err == nil && (info.State == "running" || info.State == "booting") {
		if err := d.engine.Stop(ctx, id); err != nil {
			logger.Error("stop-vm-failed", err, lager.Data{"vm": id})
		}
	}
	if err := d.engine.Remove(ctx, id, true); err != nil && !isNoInstance(err) {
		logger.Error("remove-vm-failed", err, lager.Data{"vm": id})
		return fmt.Errorf("remove instance %s: %w", id, err)
	}
	return nil
}
