package depot

import (
	"errors"
	"sync"

	"code.cloudfoundry.org/executor"
)

var errSourceClosed = errors.New("event source closed")

// hub fans events out to subscribers; each has an unbounded queue, so a slow consumer never
// blocks the depot nor loses an event.
type hub struct {
	mu   sync.Mutex
	subs map[*source]struct{}
}

func newHub() *hub { return &hub{subs: map[*source]struct{}{}} }

func (h *hub) subscribe() *source {
	s := &source{hub: h}
	s.cond = sync.NewCond(&s.mu)
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) emit(e executor.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(e)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	subs := h.subs
	h.subs = map[*source]struct{}{}
	h.mu.Unlock()
	for s := range subs {
		s.Close()
	}
}

type source struct {
	hub    *hub
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []executor.Event
	closed bool
}

func (s *source) push(e executor.Event) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, e)
		s.cond.Signal()
	}
	s.mu.Unlock()
}

// Next blocks until an event or Close.
func (s *source) Next() (executor.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && !s.closed {
		s.cond.Wait()
	}
	if len(s.queue) == 0 {
		return nil, errSourceClosed
	}
	e := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	return e, nil
}

// Close ends the subscription; Next then returns an error.
func (s *source) Close() error {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}
