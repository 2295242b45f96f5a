package depot

import (
	"context"
	"time"

	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"

	"github.com/unik-cf/unik/src/cell/healthcheck"
	"github.com/unik-cf/unik/src/cell/recipe"
	"github.com/unik-cf/unik/src/engine"
)

// followReadiness decides a Running instance's routability from its readiness checks, as
// Diego's executor does: not routable until every check passes (probed every
// ReadinessInterval), then routable until one fails (probed at the checks' interval), and
// again. Each change is a running event, which the reconciler reports to the BBS
// (StartActualLRP with the new routable), so the route-emitter adds or removes the route.
// ready is the container's routability when following starts (false for a new instance).
func (d *Depot) followReadiness(ctx context.Context, logger lager.Logger, traceID, guid string, info engine.Info, spec recipe.Spec, ready bool) {
	target := targetOf(info)
	every := healthcheck.Every(spec.Readiness, d.cfg.LivenessInterval)
	for {
		wait := d.cfg.ReadinessInterval
		if ready {
			wait = every
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		ok := healthcheck.ProbeAll(ctx, spec.Readiness, target) == nil
		if ctx.Err() != nil || ok == ready {
			continue
		}
		ready = ok
		if !d.setRoutable(traceID, guid, ready) {
			return
		}
		logger.Info("readiness-changed", lager.Data{"guid": guid, "routable": ready})
	}
}

// setRoutable records a Running container's routability and emits a running event; false when
// the container is no longer Running.
func (d *Depot) setRoutable(traceID, guid string, routable bool) bool {
	d.mu.Lock()
	c, ok := d.containers[guid]
	if !ok || c.deleting || c.Container.State != executor.StateRunning {
		d.mu.Unlock()
		return false
	}
	c.Container.Routable = routable
	_ = d.persist(c) // persist logs its own failure; the event still reaches the BBS
	e := executor.NewContainerRunningEvent(c.Container.Copy(), traceID)
	d.mu.Unlock()
	d.hub.emit(e)
	return true
}
