package hostile

import (
	"bufio"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/network"
	"github.com/unik-cf/unik/src/vmlog"
)

// logsFloodSource writes numbered 100-byte lines to stdout as fast as it can for
// $FLOOD_SECONDS, then stays quiet.
const logsFloodSource = `package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	secs, _ := strconv.Atoi(os.Getenv("FLOOD_SECONDS"))
	end := time.Now().Add(time.Duration(secs) * time.Second)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	pad := strings.Repeat(".", 83)
	for n := 0; time.Now().Before(end); n++ {
		fmt.Fprintf(w, "flood %09d %s\n", n, pad) // 100 bytes
	}
	w.Flush()
	select {}
}
`

// logsTickSource prints "tick N" five times a second, forever.
const logsTickSource = `package main

import (
	"fmt"
	"time"
)

func main() {
	for n := 0; ; n++ {
		fmt.Printf("tick %d\n", n)
		time.Sleep(200 * time.Millisecond)
	}
}
`

const (
	logsCap  = 256 << 10
	logsRate = 64 << 10
)

// TestLogFloodStaysWithinItsCapAndNeighboursKeepLogging: two instances write stdout as fast
// as they can (one under a Cloud Foundry log rate limit, one unlimited) beside an instance
// that logs a line five times a second. Neither flood ever holds more than its cap on disk,
// the order of what is kept is the order written, the limited one carries Diego's notice,
// and the neighbour's lines keep arriving. The case is 60 s; CI runs 10 s
// (UNIK_HOSTILE_FLOOD=60s for the full one).
func TestLogFloodStaysWithinItsCapAndNeighboursKeepLogging(t *testing.T) {
	flood := 10 * time.Second
	if s := os.Getenv("UNIK_HOSTILE_FLOOD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("UNIK_HOSTILE_FLOOD %q: %v", s, err)
		}
		flood = d
	}
	w := jailNewWorld(t, network.ModeUser)
	floodImg, tickImg := w.jailGoApp("flood", logsFloodSource), w.jailGoApp("tick", logsTickSource)
	neighbour := w.jailRun(engine.RunSpec{Image: tickImg, MemoryMB: 64})
	nPaths, err := w.eng.LogPaths(neighbour.ID)
	if err != nil {
		t.Fatal(err)
	}
	logsWaitFor(t, nPaths.Stdout, 2*time.Minute, func(l string) bool { return strings.HasPrefix(l, "tick ") })

	env := []string{"FLOOD_SECONDS=" + strconv.Itoa(int(flood/time.Second))}
	limited := w.jailRun(engine.RunSpec{Image: floodImg, MemoryMB: 64, Env: env, LogRateLimit: logsRate, LogCapBytes: logsCap})
	unlimited := w.jailRun(engine.RunSpec{Image: floodImg, MemoryMB: 64, Env: env, LogCapBytes: logsCap})
	rings := map[string]vmlog.Files{}
	for name, id := range map[string]string{"limited": limited.ID, "unlimited": unlimited.ID} {
		p, err := w.eng.LogPaths(id)
		if err != nil {
			t.Fatal(err)
		}
		rings[name] = p.Stdout
	}
	logsWaitFor(t, rings["unlimited"], 2*time.Minute, func(l string) bool { return strings.HasPrefix(l, "flood ") })

	// while they flood: sample the disk and the neighbour's progress
	ticks, err := vmlog.OpenEnd(nPaths.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer ticks.Close()
	sample := time.NewTicker(250 * time.Millisecond)
	defer sample.Stop()
	end := time.Now().Add(flood + 2*time.Second)
	newTicks, lastTick, worstGap := 0, time.Now(), time.Duration(0)
	var peak int64
	for time.Now().Before(end) {
		<-sample.C
		for name, r := range rings {
			n := logsDiskBytes(r)
			peak = max(peak, n)
			if n > logsCap {
				t.Fatalf("the %s flood holds %d bytes on disk, over its cap of %d", name, n, logsCap)
			}
		}
		b, _ := io.ReadAll(ticks)
		if c := strings.Count(string(b), "tick "); c > 0 {
			newTicks += c
			worstGap = max(worstGap, time.Since(lastTick))
			lastTick = time.Now()
		}
	}
	worstGap = max(worstGap, time.Since(lastTick))
	t.Logf("during a %s flood: peak %d bytes on disk per flood (cap %d); the neighbour logged %d lines, longest silence %s",
		flood, peak, logsCap, newTicks, worstGap)
	if want := int(flood / time.Second * 5 / 2); newTicks < want {
		t.Errorf("the neighbour logged %d lines during the flood, want at least %d", newTicks, want)
	}
	if worstGap > 3*time.Second {
		t.Errorf("the neighbour's log was silent for %s during the flood", worstGap)
	}

	for name, r := range rings {
		content := logsRead(t, r)
		last := logsCheckOrder(t, name, content)
		t.Logf("%s flood: %d bytes kept; the app reached line %d (%.1f MiB/s attempted)", name, len(content), last,
			float64(last)*100/flood.Seconds()/(1<<20))
	}
	notice := vmlog.ExceededNotice(logsRate)
	if !strings.Contains(logsRead(t, rings["limited"]), notice+"\n") {
		t.Errorf("the limited flood's log lacks Diego's notice %q", notice)
	}
	if strings.Contains(logsRead(t, rings["unlimited"]), "exceeded log rate limit") {
		t.Error("the unlimited flood was limited")
	}
}

// logsCheckOrder checks that the flood lines kept are increasing (order survives rotation)
// and returns the last line number.
func logsCheckOrder(t *testing.T, name, content string) int {
	t.Helper()
	last, lines := -1, 0
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "flood" {
			continue // a notice, or the first line cut by rotation
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		if n <= last {
			t.Fatalf("%s flood: line %d after line %d", name, n, last)
		}
		last, lines = n, lines+1
	}
	if lines == 0 {
		t.Fatalf("%s flood: nothing kept", name)
	}
	return last
}

// logsRead returns the ring's whole content.
func logsRead(t *testing.T, f vmlog.Files) string {
	t.Helper()
	b, err := vmlog.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logsDiskBytes is what the ring occupies on disk now.
func logsDiskBytes(f vmlog.Files) int64 {
	var n int64
	for _, p := range []string{f.Current, f.Previous} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// logsWaitFor follows the ring until a line satisfies match, or the deadline.
func logsWaitFor(t *testing.T, f vmlog.Files, within time.Duration, match func(string) bool) string {
	t.Helper()
	r, err := vmlog.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var pending string
	for {
		b, _ := io.ReadAll(r)
		pending += string(b)
		for {
			i := strings.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			line := pending[:i]
			pending = pending[i+1:]
			if match(line) {
				return line
			}
		}
		if err := r.Wait(ctx); err != nil {
			t.Fatalf("no matching line in %s within %s", f.Current, within)
		}
	}
}
