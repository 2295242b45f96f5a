package reconcile

import (
	"sync"
	"sync/atomic"
	"testing"
)

type testOp struct {
	key string
	run func()
}

func (o testOp) Key() string { return o.key }
func (o testOp) Execute()    { o.run() }

// TestQueueRunsOnePerKeyAndKeepsTheNewestPending: while a1 runs, a2 is replaced by a3, b1 runs
// beside a1, and no two operations of key "a" ever overlap.
func TestQueueRunsOnePerKeyAndKeepsTheNewestPending(t *testing.T) {
	q := newQueue()
	release := make(chan struct{})
	a1Started := make(chan struct{})
	b1Ran := make(chan struct{})
	var mu sync.Mutex
	var ran []string
	var concurrentA, peakA atomic.Int32
	opA := func(name string, body func()) testOp {
		return testOp{key: "a", run: func() {
			n := concurrentA.Add(1)
			for p := peakA.Load(); n > p && !peakA.CompareAndSwap(p, n); p = peakA.Load() {
			}
			body()
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			concurrentA.Add(-1)
		}}
	}
	q.Push(opA("a1", func() { close(a1Started); <-release }))
	<-a1Started
	q.Push(opA("a2", func() {})) // replaced by a3 while a1 runs
	q.Push(opA("a3", func() {}))
	q.Push(testOp{key: "b", run: func() { // another key runs at once, while a1 still blocks
		mu.Lock()
		ran = append(ran, "b1")
		mu.Unlock()
		close(b1Ran)
	}})
	<-b1Ran
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
	if peakA.Load() != 1 {
		t.Fatalf("peak concurrency for one key: %d", peakA.Load())
	}
}

// TestQueueSerialisesManyPushesPerKey: many concurrent pushes for one key never overlap.
func TestQueueSerialisesManyPushesPerKey(t *testing.T) {
	q := newQueue()
	var concurrent, peak, runs atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.Push(testOp{key: "k", run: func() {
				n := concurrent.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				runs.Add(1)
				concurrent.Add(-1)
			}})
		}()
	}
	wg.Wait()
	q.Wait()
	if peak.Load() != 1 {
		t.Fatalf("peak concurrency %d, want 1", peak.Load())
	}
	if runs.Load() < 1 || runs.Load() > 200 {
		t.Fatalf("runs %d", runs.Load())
	}
}
