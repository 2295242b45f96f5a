package vmlog

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestExceededNoticeIsDiegos(t *testing.T) {
	// code.cloudfoundry.org/executor depot/log_streamer/log_rate_limiter.go
	if got := ExceededNotice(100); got != "app instance exceeded log rate limit (100 bytes/sec)" {
		t.Fatalf("got %q", got)
	}
}

func TestLimiterDropsForAWindowAndNoticesOncePerWindow(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := NewLimiter(100, clk.now)
	if ok, n := l.Allow(60); !ok || n != "" {
		t.Fatalf("first 60 bytes: %v %q", ok, n)
	}
	if ok, n := l.Allow(60); ok || n != ExceededNotice(100) {
		t.Fatalf("over the burst: %v %q", ok, n)
	}
	notices := 0
	for range 50 { // inside the window: dropped silently, even tiny messages
		clk.advance(10 * time.Millisecond)
		ok, n := l.Allow(1)
		if ok {
			t.Fatal("a message passed inside the overage window")
		}
		if n != "" {
			notices++
		}
	}
	if notices != 0 {
		t.Fatalf("%d notices inside one window", notices)
	}
	clk.advance(600 * time.Millisecond) // window over, bucket refilled
	if ok, _ := l.Allow(100); !ok {
		t.Fatal("a full bucket refused its rate")
	}
	if ok, n := l.Allow(1); ok || n == "" {
		t.Fatalf("an empty bucket: %v %q", ok, n)
	}
}

func TestLimiterAtMostOneNoticePerSecondUnderAFlood(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := NewLimiter(1000, clk.now)
	perSecond := map[int64]int{}
	for range 10000 { // 10 s of 100-byte messages every millisecond (100x the limit)
		clk.advance(time.Millisecond)
		if _, n := l.Allow(100); n != "" {
			perSecond[clk.t.Unix()]++
		}
	}
	if len(perSecond) < 4 {
		t.Fatalf("notices in only %d seconds of 10: %v", len(perSecond), perSecond)
	}
	for s, n := range perSecond {
		if n > 1 {
			t.Fatalf("%d notices in second %d", n, s)
		}
	}
}

func TestLimiterRefusesAMessageLargerThanTheRate(t *testing.T) {
	l := NewLimiter(10, (&fakeClock{t: time.Unix(0, 0)}).now)
	if ok, _ := l.Allow(11); ok {
		t.Fatal("an 11-byte message passed a 10 bytes/s limit")
	}
}

func newAppLogs(rate int64, clk *fakeClock) (out, errw *AppLog, stdout, stderr *bytes.Buffer) {
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	l := NewLimiter(rate, clk.now)
	mu := &sync.Mutex{}
	out = &AppLog{Dst: stdout, Notices: stdout, Limiter: l, NoticeMu: mu}
	errw = &AppLog{Dst: stderr, Notices: stdout, Limiter: l, NoticeMu: mu}
	return
}

func TestAppLogCutsMessagesLikeDiegoAndSharesTheLimit(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	out, errw, stdout, stderr := newAppLogs(20, clk)
	out.Write([]byte("hello "))         // held: no terminator yet
	out.Write([]byte("world\r\nabc\n")) // "hello world" (11), "" (1), "abc" (3)
	errw.Write([]byte("err\n"))         // 3: total 18 of 20
	errw.Write([]byte("toolong\n"))     // 7 > 2 left: dropped, notice to stdout
	out.Write([]byte("x\n"))            // inside the window: dropped
	want := "hello world\r\nabc\n" + ExceededNotice(20) + "\n"
	if stdout.String() != want || stderr.String() != "err\n" {
		t.Fatalf("stdout %q\nstderr %q", stdout, stderr)
	}
	clk.advance(2 * time.Second)
	out.Write([]byte("tail without newline"))
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(stdout.String(), "\ntail without newline") {
		t.Fatalf("flush: %q", stdout)
	}
}

func TestAppLogCutsLongLinesAtMaxMessage(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	out, _, stdout, _ := newAppLogs(1<<30, clk)
	long := strings.Repeat("é", MaxMessage) // 2 bytes a rune: a cut must not split one
	out.Write([]byte(long + "\n"))
	if stdout.String() != long+"\n" {
		t.Fatalf("%d bytes out of %d", stdout.Len(), len(long)+1)
	}
	if c := runeCut([]byte(long[:MaxMessage-1])); c != MaxMessage-2 {
		t.Fatalf("cut inside a rune: %d", c)
	}
}
