package reconcile

import "sync"

// Operation is one unit of reconciliation for one key (a container guid).
type Operation interface {
	Key() string
	Execute()
}

// queue runs operations with at most one running per key; while one runs, only the newest
// pushed for that key waits (older pending ones are dropped: operations re-read state).
type queue struct {
	mu      sync.Mutex
	running map[string]bool
	pending map[string]Operation
	wg      sync.WaitGroup
}

func newQueue() *queue {
	return &queue{running: map[string]bool{}, pending: map[string]Operation{}}
}

func (q *queue) Push(op Operation) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := op.Key()
	if q.running[k] {
		q.pending[k] = op
		return
	}
	q.running[k] = true
	q.wg.Add(1)
	go q.work(k, op)
}

func (q *queue) work(k string, op Operation) {
	defer q.wg.Done()
	for op != nil {
		op.Execute()
		q.mu.Lock()
		next, ok := q.pending[k]
		delete(q.pending, k)
		if !ok {
			delete(q.running, k)
			next = nil
		}
		q.mu.Unlock()
		op = next
	}
}

// Wait blocks until nothing runs.
func (q *queue) Wait() { q.wg.Wait() }
