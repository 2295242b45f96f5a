package depot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/unik-cf/unik/src/cell/healthcheck"
	"github.com/unik-cf/unik/src/cell/logs"
	"github.com/unik-cf/unik/src/cell/recipe"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/network"
)

// run takes an Initializing container to Running and watches it until it ends, is stopped or
// deleted, or the cell shuts down.
func (d *Depot) run(ctx context.Context, logger lager.Logger, traceID string, c executor.Container) {
	guid := c.Guid
	cell := d.cellLog(c)
	cell.Info(fmt.Sprintf("Cell %s creating container for instance %s", d.cfg.CellID, guid))
	spec, err := recipe.FromRunInfo(c.RunInfo)
	if err != nil {
		d.failCreate(ctx, logger, traceID, guid, cell, err)
		return
	}
	for _, n := range spec.Notes {
		cell.Info(n)
	}
	img, err := d.images.Image(ctx, spec.Droplet, cell.Info)
	if err != nil {
		d.failCreate(ctx, logger, traceID, guid, cell, err)
		return
	}
	egress, err := egressRules(c.RunInfo.EgressRules, cell.Info)
	if err != nil {
		d.failCreate(ctx, logger, traceID, guid, cell, err)
		return
	}
	var ports []network.PortRequest
	for _, p := range spec.Ports {
		ports = append(ports, network.PortRequest{GuestPort: p})
	}
	memory := c.MemoryMB
	if memory <= 0 {
		memory = d.cfg.DefaultMemoryMB
	}
	memory = max(memory, d.cfg.MinMemoryMB)
	info, err := d.engine.Run(ctx, engine.RunSpec{Image: img, Env: spec.Env, Ports: ports, Egress: egress, MemoryMB: memory,
		CPUs: d.cfg.CPUs, StopGrace: d.cfg.StopGrace, Tags: map[string]string{ContainerGuidTag: guid}, SSH: spec.SSH,
		EnvFor: func(att network.Attachment) []string {
			return recipe.NetworkEnv(d.cfg.ExternalIP, att.GuestIP.Addr().String(), portMappings(att))
		}})
	if err != nil {
		d.failCreate(ctx, logger, traceID, guid, cell, err)
		return
	}
	logger.Info("vm-booting", lager.Data{"vm": info.ID, "accel": info.Accel, "guest-ip": info.Network.GuestIP.String()})
	if !d.created(guid, info, img.Size, spec.LogSource) {
		return // deleted meanwhile: DeleteContainer removes the VM
	}
	cell.Info(fmt.Sprintf("Cell %s successfully created container for instance %s", d.cfg.CellID, guid))
	d.followLogs(ctx, c, info.ID, spec.LogSource, false)
	if isTask(c) {
		d.runTask(ctx, logger, traceID, guid, info, spec)
		return
	}

	cell.Info("Starting health monitoring of container")
	if reason := d.waitHealthy(ctx, info, spec, cell); reason != "" {
		if ctx.Err() == nil {
			cell.Error(reason)
		}
		d.finish(ctx, logger, traceID, guid, reason)
		return
	}
	if !d.running(traceID, guid, len(spec.Readiness) == 0) {
		d.finish(ctx, logger, traceID, guid, "")
		return
	}
	cell.Info("Container became healthy")
	if len(spec.Readiness) > 0 {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.followReadiness(ctx, logger, traceID, guid, info, spec, false)
		}()
	}
	reason := d.watch(ctx, info, spec, cell)
	d.finish(ctx, logger, traceID, guid, reason)
}

func portMappings(att network.Attachment) []executor.PortMapping {
	var out []executor.PortMapping
	for _, p := range att.Ports {
		out = append(out, executor.PortMapping{ContainerPort: p.GuestPort, HostPort: p.HostPort})
	}
	return out
}

// created records the VM and moves the container to Created; false if it was deleted.
func (d *Depot) created(guid string, info engine.Info, imageSize int64, logSource string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[guid]
	if !ok {
		return false
	}
	c.VMID, c.VMStarted, c.ImageSize, c.LogSource = info.ID, info.Created, imageSize, logSource
	c.Container.Ports = portMappings(info.Network)
	c.Container.ExternalIP = d.cfg.ExternalIP
	c.Container.InternalIP = info.Network.GuestIP.Addr().String()
	c.Container.MemoryLimit = uint64(info.MemoryMB) << 20
	c.Container.DiskLimit = uint64(c.Container.DiskMB) << 20
	_ = c.Container.TransitionToCreate()
	_ = d.persist(c)
	return true
}

// running moves the container to Running (routable, unless readiness checks decide it) and
// emits the event; false if it is no longer Created.
func (d *Depot) running(traceID, guid string, routable bool) bool {
	d.mu.Lock()
	c, ok := d.containers[guid]
	if !ok || c.stopRequested || c.deleting || c.Container.State != executor.StateCreated {
		d.mu.Unlock()
		return false
	}
	c.Container.State = executor.StateRunning
	c.Container.Routable = routable
	_ = d.persist(c)
	e := executor.NewContainerRunningEvent(c.Container.Copy(), traceID)
	d.mu.Unlock()
	d.hub.emit(e)
	return true
}

func (d *Depot) failCreate(ctx context.Context, logger lager.Logger, traceID, guid string, cell logs.Cell, err error) {
	if ctx.Err() == nil {
		logger.Error("create-failed", err)
		cell.Error(fmt.Sprintf("Cell %s failed to create container for instance %s: %s", d.cfg.CellID, guid, err))
	}
	d.finish(ctx, logger, traceID, guid, err.Error())
}

// runTask follows a task's VM from boot to its end. A task is Running as soon as its VM runs
// (a task has no health checks) and succeeds when its process exits 0; any other end fails it
// with Diego's reason ("APP/TASK/<name>: Exited with status 3").
func (d *Depot) runTask(ctx context.Context, logger lager.Logger, traceID, guid string, info engine.Info, spec recipe.Spec) {
	if !d.running(traceID, guid, false) { // a task is never routed
		d.finish(ctx, logger, traceID, guid, "")
		return
	}
	vm, reason := d.waitEnd(ctx, info.ID, spec.LogSource)
	ok := ctx.Err() == nil && succeeded(vm)
	if ok {
		reason = ""
	}
	d.complete(ctx, logger, traceID, guid, !ok, reason)
}

func isTask(c executor.Container) bool { return c.Tags[rep.LifecycleTag] == rep.TaskLifecycle }

// succeeded: the app exited by itself with status 0.
func succeeded(vm engine.Info) bool {
	return vm.State == engine.StateExited && vm.ExitCode != nil && *vm.ExitCode == 0
}

// waitEnd waits until the VM has ended and returns its last state and Diego's reason.
func (d *Depot) waitEnd(ctx context.Context, id, source string) (engine.Info, string) {
	for {
		vm, err := d.engine.Get(id)
		if reason, ended := endReason(vm, err, source); ended {
			return vm, reason
		}
		select {
		case <-ctx.Done():
			return engine.Info{}, "canceled"
		case <-time.After(d.cfg.WatchInterval):
		}
	}
}

// finish completes the container as failed with reason (or stopped, when a stop was asked).
func (d *Depot) finish(ctx context.Context, logger lager.Logger, traceID, guid, reason string) {
	d.complete(ctx, logger, traceID, guid, true, reason)
}

// complete completes the container. Cases: the cell shuts down (nothing: the VM is adopted on
// restart), a delete is in progress (nothing: DeleteContainer cleans up), a stop was asked
// (stop the VM, complete as stopped), else it failed with reason.
func (d *Depot) complete(ctx context.Context, logger lager.Logger, traceID, guid string, failed bool, reason string) {
	if d.base.Err() != nil {
		return
	}
	d.mu.Lock()
	c, ok := d.containers[guid]
	if !ok || c.deleting || c.Container.State == executor.StateCompleted {
		d.mu.Unlock()
		return
	}
	stopped, vm := c.stopRequested, c.VMID
	d.mu.Unlock()

	if stopped && vm != "" {
		stopCtx, cancel := context.WithTimeout(context.Background(), d.cfg.StopGrace+30*time.Second)
		if err := d.engine.Stop(stopCtx, vm); err != nil && !isNoInstance(err) {
			logger.Error("stop-vm-failed", err)
		}
		cancel()
	}
	d.mu.Lock()
	if c.deleting || c.Container.State == executor.StateCompleted {
		d.mu.Unlock()
		return
	}
	if stopped {
		c.Container.RunResult.Stopped = true
		c.Container.TransitionToComplete(false, "", false)
	} else {
		c.Container.TransitionToComplete(failed, reason, false)
	}
	_ = d.persist(c)
	e := executor.NewContainerCompleteEvent(c.Container.Copy(), traceID)
	d.mu.Unlock()
	logger.Info("completed", lager.Data{"stopped": stopped, "failed": failed && !stopped, "reason": reason})
	d.hub.emit(e)
}

// followLogs streams the VM's stdout and stderr until the container's goroutine ends (plus
// what is left in the files then).
func (d *Depot) followLogs(ctx context.Context, c executor.Container, vm, source string, fromEnd bool) {
	paths, err := d.engine.LogPaths(vm)
	if err != nil {
		return
	}
	app := logs.App{Sender: d.sender, Config: c.RunInfo.LogConfig, SourceName: source}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		app.Follow(ctx, paths.Stdout, paths.Stderr, fromEnd)
	}()
}

// waitHealthy polls until the checks pass (or, without checks, until the app has started);
// it returns the failure reason, or "" once healthy.
func (d *Depot) waitHealthy(ctx context.Context, info engine.Info, spec recipe.Spec, cell logs.Cell) string {
	deadline := time.Now().Add(spec.StartTimeout)
	target := targetOf(info)
	var last error
	for {
		vm, err := d.engine.Get(info.ID)
		if reason, ended := endReason(vm, err, spec.LogSource); ended {
			return reason
		}
		if vm.State == engine.StateRunning && vm.Reason == "" {
			if len(spec.Checks) == 0 {
				return ""
			}
			if last = healthcheck.ProbeAll(ctx, spec.Checks, target); last == nil {
				return ""
			}
		}
		if time.Now().After(deadline) {
			return healthcheck.StartupFailure(spec.StartTimeout, last)
		}
		select {
		case <-ctx.Done():
			return "canceled"
		case <-time.After(d.cfg.StartupInterval):
		}
	}
}

// watch follows a healthy instance until it ends or fails its checks; it returns the reason.
func (d *Depot) watch(ctx context.Context, info engine.Info, spec recipe.Spec, cell logs.Cell) string {
	target := targetOf(info)
	every := healthcheck.Every(spec.Checks, d.cfg.LivenessInterval)
	nextCheck := time.Now().Add(every)
	for {
		select {
		case <-ctx.Done():
			return "canceled"
		case <-time.After(d.cfg.WatchInterval):
		}
		vm, err := d.engine.Get(info.ID)
		if reason, ended := endReason(vm, err, spec.LogSource); ended {
			return reason
		}
		if len(spec.Checks) == 0 || time.Now().Before(nextCheck) {
			continue
		}
		nextCheck = time.Now().Add(every)
		if err := healthcheck.ProbeAll(ctx, spec.Checks, target); err != nil && ctx.Err() == nil {
			// One retry: a probe can time out on a loaded host without the app being unhealthy.
			time.Sleep(time.Second)
			if err = healthcheck.ProbeAll(ctx, spec.Checks, target); err != nil && ctx.Err() == nil {
				cell.Error("Container became unhealthy")
				return healthcheck.LivenessFailure(err)
			}
		}
	}
}

// endReason tells whether the VM has ended and Diego's crash reason for it.
func endReason(vm engine.Info, err error, source string) (string, bool) {
	if source == "" {
		source = "APP"
	}
	if err != nil {
		if isNoInstance(err) {
			return source + ": the instance's VM disappeared", true
		}
		return "", false // transient: read again
	}
	switch vm.State {
	case engine.StateExited, engine.StateStopped:
		code := -1
		if vm.ExitCode != nil {
			code = *vm.ExitCode
		}
		if vm.Signal != "" {
			return fmt.Sprintf("%s: Exited with status %d (signal %s)", source, code, vm.Signal), true
		}
		return fmt.Sprintf("%s: Exited with status %d", source, code), true
	case engine.StateFailed:
		return fmt.Sprintf("%s: failed to start: %s", source, vm.Reason), true
	case engine.StateCrashed:
		return fmt.Sprintf("%s: Exited with status 137 (the VM ended without an exit status: killed from outside, or QEMU failed)", source), true
	}
	return "", false
}

// targetOf says where a guest port is reachable from the host: the guest address on the
// bridge, or the forwarded host port in user-mode networking.
func targetOf(info engine.Info) healthcheck.Target {
	return func(port uint16) (string, error) {
		if info.Network.Mode == network.ModeBridge {
			return fmt.Sprintf("%s:%d", info.Network.GuestIP.Addr(), port), nil
		}
		for _, p := range info.Network.Ports {
			if p.GuestPort == port {
				return fmt.Sprintf("%s:%d", p.HostIP, p.HostPort), nil
			}
		}
		return "", fmt.Errorf("port %d is not mapped", port)
	}
}

func isNoInstance(err error) bool { return errors.Is(err, engine.ErrNoInstance) }
