package reconcile

import (
	"errors"
	"os"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"
	"code.cloudfoundry.org/rep/evacuation/evacuation_context"

	"github.com/unik-cf/unik/src/cell/logs"
)

// Config of a reconciler.
type Config struct {
	CellID                    string
	Zone                      string
	Stacks                    rep.StackPathMap
	PollingInterval           time.Duration // the bulk pass; rep's default 30s
	EvacuationPollingInterval time.Duration // the bulk pass while evacuating; default 10s
}

// Reconciler is an ifrit runner: event-driven operations plus a periodic bulk pass.
type Reconciler struct {
	cfg      Config
	logger   lager.Logger
	bbs      bbs.InternalClient
	executor executor.Client
	notifier evacuation_context.EvacuationNotifier
	proc     *processor
	queue    *queue
}

// New makes a reconciler.
func New(logger lager.Logger, cfg Config, b bbs.InternalClient, ex executor.Client, sender logs.Sender,
	reporter evacuation_context.EvacuationReporter, notifier evacuation_context.EvacuationNotifier) *Reconciler {
	if cfg.PollingInterval <= 0 {
		cfg.PollingInterval = 30 * time.Second
	}
	if cfg.EvacuationPollingInterval <= 0 {
		cfg.EvacuationPollingInterval = 10 * time.Second
	}
	return &Reconciler{cfg: cfg, logger: logger.Session("reconciler"), bbs: b, executor: ex, notifier: notifier,
		proc: newProcessor(cfg.CellID, cfg.Zone, cfg.Stacks, b, ex, sender, reporter), queue: newQueue()}
}

// Run subscribes to the executor's events, does a first bulk pass, then one per interval
// (the shorter evacuation interval once the cell evacuates), until signalled.
func (r *Reconciler) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	events, err := r.executor.SubscribeToEvents(r.logger)
	if err != nil {
		return err
	}
	go r.consume(events)
	close(ready)
	r.Sync()
	interval := r.cfg.PollingInterval
	evacuate := r.notifier.EvacuateNotify()
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-signals:
			events.Close()
			r.queue.Wait()
			return nil
		case <-evacuate:
			evacuate = nil
			interval = r.cfg.EvacuationPollingInterval
			r.logger.Info("evacuating")
		case <-timer.C:
		}
		r.Sync()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(interval)
	}
}

func (r *Reconciler) consume(events executor.EventSource) {
	for {
		e, err := events.Next()
		if err != nil {
			return
		}
		if le, ok := e.(executor.LifecycleEvent); ok {
			r.queue.Push(r.containerOp(le.TraceID(), le.Container().Guid))
		}
	}
}

// Sync is one bulk pass: an operation for every container, and residual operations for what
// the BBS places on this cell without a container.
func (r *Reconciler) Sync() {
	logger := r.logger.Session("sync")
	containers, err := r.executor.ListContainers(logger)
	if err != nil {
		logger.Error("list-containers-failed", err)
		return
	}
	lrps, errL := r.bbs.ActualLRPs(logger, "", models.ActualLRPFilter{CellID: r.cfg.CellID})
	tasks, errT := r.bbs.TasksByCellID(logger, "", r.cfg.CellID)
	if err := errors.Join(errL, errT); err != nil {
		logger.Error("bbs-failed", err)
		return
	}
	have := map[string]bool{}
	for _, c := range containers {
		have[c.Guid] = true
		r.queue.Push(r.containerOp("", c.Guid))
	}
	evacuating := map[string]*models.ActualLRP{}
	for _, l := range lrps {
		if l.Presence == models.ActualLRP_Evacuating {
			evacuating[l.InstanceGuid] = l
		}
	}
	for _, l := range lrps {
		if have[l.InstanceGuid] {
			continue
		}
		if l.Presence == models.ActualLRP_Evacuating {
			r.queue.Push(r.residual(l, true))
			continue
		}
		r.queue.Push(r.residual(l, false))
	}
	for _, t := range tasks {
		if !have[t.TaskGuid] {
			r.queue.Push(r.residualTask(t.TaskGuid))
		}
	}
	logger.Debug("synced", lager.Data{"containers": len(containers), "lrps": len(lrps), "tasks": len(tasks)})
}

type op struct {
	key string
	fn  func()
}

func (o op) Key() string { return o.key }
func (o op) Execute()    { o.fn() }

func (r *Reconciler) containerOp(traceID, guid string) Operation {
	return op{key: guid, fn: func() {
		logger := r.logger.Session("container-op", lager.Data{"guid": guid})
		c, err := r.executor.GetContainer(logger, guid)
		if err != nil {
			return // gone: nothing to do
		}
		r.proc.process(logger, traceID, c)
	}}
}

// residual removes from the BBS an instance this cell has no container for.
func (r *Reconciler) residual(l *models.ActualLRP, evacuating bool) Operation {
	key, instance := l.ActualLRPKey, l.ActualLRPInstanceKey
	return op{key: l.InstanceGuid, fn: func() {
		logger := r.logger.Session("residual-lrp", lager.Data{"process-guid": key.ProcessGuid, "index": key.Index, "evacuating": evacuating})
		if _, err := r.executor.GetContainer(logger, instance.InstanceGuid); err == nil {
			return
		}
		// a failure is logged and left to the next bulk pass, which finds the instance again
		if evacuating {
			if err := r.bbs.RemoveEvacuatingActualLRP(logger, "", &key, &instance); err != nil {
				logger.Error("remove-evacuating-failed", err)
			}
			return
		}
		logger.Info("removing")
		if err := r.bbs.RemoveActualLRP(logger, "", &key, &instance); err != nil {
			logger.Error("remove-failed", err)
		}
	}}
}

func (r *Reconciler) residualTask(guid string) Operation {
	return op{key: guid, fn: func() {
		logger := r.logger.Session("residual-task", lager.Data{"task-guid": guid})
		if _, err := r.executor.GetContainer(logger, guid); err == nil {
			return
		}
		if err := r.bbs.CompleteTask(logger, "", guid, r.cfg.CellID, true, TaskMissingContainer, ""); err != nil {
			logger.Error("complete-task-failed", err) // the next bulk pass tries again
		}
	}}
}
