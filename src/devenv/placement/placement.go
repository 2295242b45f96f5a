package placement

import (
	"encoding/json"

	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"code.cloudfoundry.org/auctioneer"
	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"
)

// The auctioneer's placement errors, as the BBS records them.
const (
	ErrorCellMismatch          = "found no compatible cell"
	ErrorInsufficientResources = "insufficient resources"
)

// maxAttempts before a start that no cell accepted is failed.
const maxAttempts = 3

// Placer takes start requests from the BBS and places them on cells.
type Placer struct {
	logger  lager.Logger
	bbs     bbs.InternalClient
	clients rep.ClientFactory

	mu      sync.Mutex
	lrps    []lrpStart
	tasks   []taskStart
	wake    chan struct{}
	stopped chan struct{}
}

type lrpStart struct {
	lrp      rep.LRP
	attempts int
}

type taskStart struct {
	task     rep.Task
	attempts int
}

// New makes a placer; Run it, and serve Handler on the BBS's auctioneer_address.
func New(logger lager.Logger, b bbs.InternalClient, clients rep.ClientFactory) *Placer {
	return &Placer{logger: logger.Session("placement"), bbs: b, clients: clients, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
}

// Handler serves the auctioneer API.
func (p *Placer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/lrps", func(w http.ResponseWriter, r *http.Request) {
		var starts []auctioneer.LRPStartRequest
		if err := json.NewDecoder(r.Body).Decode(&starts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		for _, s := range starts {
			for _, i := range s.Indices {
				key := models.NewActualLRPKey(s.ProcessGuid, int32(i), s.Domain)
				p.lrps = append(p.lrps, lrpStart{lrp: rep.NewLRP("", key, s.Resource, s.PlacementConstraint)})
			}
		}
		p.mu.Unlock()
		p.kick()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		var starts []auctioneer.TaskStartRequest
		if err := json.NewDecoder(r.Body).Decode(&starts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		for _, s := range starts {
			p.tasks = append(p.tasks, taskStart{task: s.Task})
		}
		p.mu.Unlock()
		p.kick()
		w.WriteHeader(http.StatusAccepted)
	})
	return mux
}

func (p *Placer) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run places what arrives until stop is closed.
func (p *Placer) Run(stop <-chan struct{}) {
	defer close(p.stopped)
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-stop:
			return
		case <-p.wake:
		case <-retry.C:
		}
		p.round()
	}
}

// round places everything pending once.
func (p *Placer) round() {
	p.mu.Lock()
	lrps, tasks := p.lrps, p.tasks
	p.lrps, p.tasks = nil, nil
	p.mu.Unlock()
	if len(lrps) == 0 && len(tasks) == 0 {
		return
	}
	logger := p.logger.Session("round", lager.Data{"lrps": len(lrps), "tasks": len(tasks)})
	cells := p.cells(logger)
	work := map[*cell]*rep.Work{}
	var retryL []lrpStart
	var retryT []taskStart
	for _, s := range lrps {
		c, reason := pick(cells, s.lrp.PlacementConstraint, &s.lrp.Resource)
		if c == nil {
			retryL = append(retryL, p.failLRP(logger, s, reason)...)
			continue
		}
		c.state.AddLRP(&s.lrp)
		w := workFor(work, c)
		w.LRPs = append(w.LRPs, s.lrp)
	}
	for _, s := range tasks {
		c, reason := pick(cells, s.task.PlacementConstraint, &s.task.Resource)
		if c == nil {
			retryT = append(retryT, p.failTask(logger, s, reason)...)
			continue
		}
		c.state.AddTask(&s.task)
		w := workFor(work, c)
		w.Tasks = append(w.Tasks, s.task)
	}
	attempts := map[string]int{}
	for _, s := range lrps {
		attempts[lrpID(s.lrp)] = s.attempts
	}
	for _, s := range tasks {
		attempts[s.task.TaskGuid] = s.attempts
	}
	for c, w := range work {
		failed, err := c.client.Perform(logger, *w)
		if err != nil {
			logger.Error("perform-failed", err, lager.Data{"cell": c.state.CellID})
			failed = *w
		}
		for _, l := range failed.LRPs {
			retryL = append(retryL, p.failLRP(logger, lrpStart{lrp: l, attempts: attempts[lrpID(l)]}, ErrorInsufficientResources)...)
		}
		for _, t := range failed.Tasks {
			retryT = append(retryT, p.failTask(logger, taskStart{task: t, attempts: attempts[t.TaskGuid]}, ErrorInsufficientResources)...)
		}
	}
	if len(retryL)+len(retryT) > 0 {
		p.mu.Lock()
		p.lrps = append(p.lrps, retryL...)
		p.tasks = append(p.tasks, retryT...)
		p.mu.Unlock()
	}
}

func lrpID(l rep.LRP) string { return fmt.Sprintf("%s/%d", l.ProcessGuid, l.Index) }

func workFor(m map[*cell]*rep.Work, c *cell) *rep.Work {
	if w, ok := m[c]; ok {
		return w
	}
	w := &rep.Work{CellID: c.state.CellID}
	m[c] = w
	return w
}

// failLRP retries a start later, or fails it in the BBS after maxAttempts (at once when no
// cell is compatible at all).
func (p *Placer) failLRP(logger lager.Logger, s lrpStart, reason string) []lrpStart {
	s.attempts++
	if reason != ErrorCellMismatch && s.attempts < maxAttempts {
		return []lrpStart{s}
	}
	key := s.lrp.ActualLRPKey
	logger.Info("failing-lrp", lager.Data{"process-guid": key.ProcessGuid, "index": key.Index, "reason": reason})
	if err := p.bbs.FailActualLRP(logger, "", &key, reason); err != nil {
		logger.Error("fail-actual-lrp-failed", err)
	}
	return nil
}

func (p *Placer) failTask(logger lager.Logger, s taskStart, reason string) []taskStart {
	s.attempts++
	if reason != ErrorCellMismatch && s.attempts < maxAttempts {
		return []taskStart{s}
	}
	if err := p.bbs.FailTask(logger, "", s.task.TaskGuid, reason); err != nil {
		logger.Error("fail-task-failed", err)
	}
	return nil
}

type cell struct {
	state  rep.CellState
	client rep.Client
}

// cells asks every registered cell for its state; cells that do not answer, or evacuate, are
// left out.
func (p *Placer) cells(logger lager.Logger) []*cell {
	presences, err := p.bbs.Cells(logger, "")
	if err != nil {
		logger.Error("cells-failed", err)
		return nil
	}
	var out []*cell
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pr := range presences {
		wg.Add(1)
		go func(pr *models.CellPresence) {
			defer wg.Done()
			client, err := p.clients.CreateClient(pr.RepAddress, pr.RepUrl, "")
			if err != nil {
				logger.Error("rep-client-failed", err, lager.Data{"cell": pr.CellId})
				return
			}
			state, err := client.State(logger)
			if err != nil {
				logger.Info("cell-state-failed", lager.Data{"cell": pr.CellId, "error": err.Error()})
				return
			}
			if state.Evacuating {
				return
			}
			mu.Lock()
			out = append(out, &cell{state: state, client: client})
			mu.Unlock()
		}(pr)
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].state.CellID < out[j].state.CellID })
	return out
}

// pick returns the best cell for the constraint and resource, or why there is none.
func pick(cells []*cell, pc rep.PlacementConstraint, res *rep.Resource) (*cell, string) {
	var best *cell
	bestScore := 0.0
	compatible := false
	for _, c := range cells {
		if !c.state.MatchRootFS(pc.RootFs) || !c.state.MatchPlacementTags(pc.PlacementTags) || !c.state.MatchVolumeDrivers(pc.VolumeDrivers) {
			continue
		}
		compatible = true
		if err := c.state.ResourceMatch(res); err != nil {
			continue
		}
		score := c.state.ComputeScore(res, 0.25)
		if best == nil || score < bestScore {
			best, bestScore = c, score
		}
	}
	switch {
	case best != nil:
		return best, ""
	case compatible:
		return nil, ErrorInsufficientResources
	}
	return nil, ErrorCellMismatch
}
