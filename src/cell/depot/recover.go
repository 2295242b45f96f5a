package depot

import (
	"context"
	"fmt"
	"time"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"

	"github.com/unik-cf/unik/src/cell/recipe"
	"github.com/unik-cf/unik/src/engine"
)

// Recover loads the records a previous cell process left and reconciles them with the
// engine's instances:
//   - a Running container whose VM still runs is adopted: watched, its logs followed;
//   - a container that was being created when the process ended, or whose VM is gone, is
//     completed as failed (the reconciler then crashes it in the BBS, which restarts it);
//   - Reserved and Completed containers are kept for the reconciler;
//   - an engine instance no record owns is removed (VM, tap, rules, leases, files).
//
// It returns how many containers were adopted.
func (d *Depot) Recover(logger lager.Logger) (int, error) {
	logger = d.logger.Session("recover")
	recs, err := d.dir.readAll()
	if err != nil {
		return 0, fmt.Errorf("recover: %w", err)
	}
	vms, err := d.engine.List()
	if err != nil {
		return 0, fmt.Errorf("recover: %w", err)
	}
	byID := map[string]engine.Info{}
	for _, v := range vms {
		byID[v.ID] = v
	}
	owned := map[string]bool{}
	adopted := 0
	d.mu.Lock()
	for _, r := range recs {
		c := &container{record: r}
		d.containers[r.Container.Guid] = c
		if !d.remaining.Subtract(&r.Container.Resource) {
			logger.Info("over-capacity-after-restart", lager.Data{"guid": r.Container.Guid})
		}
		vm, alive := byID[r.VMID]
		if r.VMID != "" && alive {
			owned[r.VMID] = true
		}
		switch r.Container.State {
		case executor.StateReserved, executor.StateCompleted:
		case executor.StateRunning:
			if alive && (vm.State == engine.StateRunning || vm.State == engine.StateBooting) {
				d.adopt(logger, c, vm)
				adopted++
				continue
			}
			reason, _ := endReason(vm, nil, r.LogSource)
			if !alive {
				reason = r.LogSource + ": the instance's VM disappeared while the cell was down"
			}
			if isTask(c.Container) && alive && succeeded(vm) {
				c.Container.TransitionToComplete(false, "", false) // the task ended well while the cell was down
			} else {
				c.Container.TransitionToComplete(true, reason, false)
			}
		default: // Initializing, Created: the start was cut short
			c.Container.TransitionToComplete(true, "the cell restarted while the instance was starting", false)
		}
		_ = d.persist(c)
	}
	d.mu.Unlock()
	for _, v := range vms {
		if owned[v.ID] {
			continue
		}
		logger.Info("removing-orphan-vm", lager.Data{"vm": v.ID, "state": v.State})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := d.engine.Remove(ctx, v.ID, true); err != nil && !isNoInstance(err) {
			logger.Error("remove-orphan-failed", err, lager.Data{"vm": v.ID})
		}
		cancel()
	}
	logger.Info("recovered", lager.Data{"containers": len(recs), "adopted": adopted, "vms": len(vms)})
	return adopted, nil
}

// adopt resumes watching a Running container whose VM survived; d.mu is held.
func (d *Depot) adopt(logger lager.Logger, c *container, vm engine.Info) {
	ctx, cancel := context.WithCancel(d.base)
	c.cancel, c.done = cancel, make(chan struct{})
	snapshot := c.Container.Copy()
	done := c.done
	spec, err := recipe.FromRunInfo(snapshot.RunInfo)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(done)
		if err != nil { // it ran before: the recipe cannot have become invalid
			d.finish(ctx, logger, "", snapshot.Guid, err.Error())
			return
		}
		d.followLogs(ctx, snapshot, vm.ID, spec.LogSource, true)
		if isTask(snapshot) {
			end, reason := d.waitEnd(ctx, vm.ID, spec.LogSource)
			ok := ctx.Err() == nil && succeeded(end)
			if ok {
				reason = ""
			}
			d.complete(ctx, logger, "", snapshot.Guid, !ok, reason)
			return
		}
		if len(spec.Readiness) > 0 {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.followReadiness(ctx, logger, "", snapshot.Guid, vm, spec, snapshot.Routable)
			}()
		}
		reason := d.watch(ctx, vm, spec, d.cellLog(snapshot))
		d.finish(ctx, logger, "", snapshot.Guid, reason)
	}()
}

// ExpireReserved deletes Reserved containers older than the configured expiry: their
// allocation was never followed by a run (a failed claim, a lost desired LRP).
func (d *Depot) ExpireReserved(logger lager.Logger) {
	cutoff := time.Now().Add(-d.cfg.ReservedExpiry).UnixNano()
	var expired []string
	d.mu.Lock()
	for guid, c := range d.containers {
		if c.Container.State == executor.StateReserved && c.Container.AllocatedAt < cutoff {
			expired = append(expired, guid)
		}
	}
	d.mu.Unlock()
	for _, guid := range expired {
		logger.Info("expiring-reserved-container", lager.Data{"guid": guid})
		_ = d.DeleteContainer(logger, "", guid)
	}
}
