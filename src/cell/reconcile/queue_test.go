package reconcile

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type testOp struct {
	key string
	run func()
}

func (o testOp) Key() string { return o.key }
func (o testOp) Execute()    { o.run() }

func TestQueueRunsOnePerKeyAndKeepsTheNewestPending(t *testing.T) {
	q := newQueue()
	release := make(chan struct{})
	var mu sync.Mutex
	var ran []string
	record := func(name string) func() {
		return func() {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
		}
	}
	var concurrent, peak atomic.Int32
	q.Push(testOp{key: "a", run: func() {
		n := concurrent.Add(1)
		if n > peak.Load() {
			peak.Store(n)
		}
		<-release
		record("a1")()
		concurrent.Add(-1)
	}})
	q.Push(testOp{key: "a", run: record("a2")}) // replaced by a3 while a1 runs
	q.Push(testOp{key: "a", run: record("a3")})
	q.Push(testOp{key: "b", run: record("b1")}) // another key runs at once
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if len(ran) != 1 || ran[0] != "b1" {
		t.Fatalf("before release: %v", ran)
	}
	mu.Unlock()
	close(release)
	q.Wait()
	if got := ran; len(got) != 3 || got[1] != "a1" || got[2] != "a3" {
		t.Fatalf("ran %v, want [b1 a1 a3]", got)
	}
	if peak.Load() != 1 {
		t.Fatalf("peak concurrency for one key: %d", peak.Load())
	}
}
