package vmlog

import (
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxMessage is the longest app-log message; longer lines are cut (Diego's MAX_MESSAGE_SIZE).
const MaxMessage = 61440

// OverageWindow is how long every message is dropped after the limit was exceeded, so the
// notice is written at most once per window (Diego's LogRateLimitExceededLogInterval).
const OverageWindow = time.Second

// ExceededNotice is Diego's app-log line for an instance over its log rate limit.
func ExceededNotice(bytesPerSecond int64) string {
	return fmt.Sprintf("app instance exceeded log rate limit (%d bytes/sec)", bytesPerSecond)
}

// Limiter is Diego's per-instance log rate limit: a token bucket of bytesPerSecond tokens,
// refilled at bytesPerSecond, shared by stdout and stderr. A message that does not fit is
// dropped, and so is every message for OverageWindow after it. It is safe for concurrent use.
type Limiter struct {
	rate int64
	now  func() time.Time

	mu          sync.Mutex
	tokens      float64
	last        time.Time
	lastOverage time.Time
}

// NewLimiter limits to bytesPerSecond (> 0); now is the clock (time.Now outside tests).
func NewLimiter(bytesPerSecond int64, now func() time.Time) *Limiter {
	t := now()
	return &Limiter{rate: bytesPerSecond, now: now, tokens: float64(bytesPerSecond), last: t,
		lastOverage: t.Add(-OverageWindow)}
}

// Allow tells whether a message of n bytes may pass. When it starts an overage, notice is
// the line to log instead (once per OverageWindow).
func (l *Limiter) Allow(n int) (ok bool, notice string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	if l.lastOverage.Add(OverageWindow).After(t) {
		return false, ""
	}
	l.tokens = min(float64(l.rate), l.tokens+t.Sub(l.last).Seconds()*float64(l.rate))
	l.last = t
	if float64(n) > l.tokens {
		l.lastOverage = t
		return false, ExceededNotice(l.rate)
	}
	l.tokens -= float64(n)
	return true, ""
}

// AppLog writes one app output stream (stdout or stderr) through a shared Limiter: it cuts
// the stream into messages at '\n' or '\r' (or MaxMessage bytes), writes the messages the
// limiter allows to Dst with their terminators, and the limiter's notices to Notices (the
// stdout ring, where Diego sends them too). A message's size is its length without the
// terminator, as in Diego; an empty line counts as one byte so a flood of bare newlines is
// limited too. Bytes after the last terminator wait for it, or for Flush.
type AppLog struct {
	Dst     io.Writer
	Notices io.Writer
	Limiter *Limiter
	// NoticeMu serializes notices with writes to the stream they share (stdout's AppLog
	// writes its messages under it as well). Both streams' AppLogs must hold the same one.
	NoticeMu *sync.Mutex

	pending []byte
}

// Write takes the next bytes of the stream. Errors are the destinations'.
func (a *AppLog) Write(p []byte) (int, error) {
	a.pending = append(a.pending, p...)
	rest := a.pending
	for len(rest) > 0 {
		i := terminator(rest)
		if i < 0 {
			if len(rest) < MaxMessage {
				break
			}
			cut := runeCut(rest[:MaxMessage])
			if err := a.message(rest[:cut], cut); err != nil {
				return len(p), err
			}
			rest = rest[cut:]
			continue
		}
		if err := a.message(rest[:i+1], i); err != nil {
			return len(p), err
		}
		rest = rest[i+1:]
	}
	a.pending = append(a.pending[:0], rest...)
	return len(p), nil
}

// Flush passes a last unterminated message (the stream ended).
func (a *AppLog) Flush() error {
	if len(a.pending) == 0 {
		return nil
	}
	err := a.message(a.pending, len(a.pending))
	a.pending = a.pending[:0]
	return err
}

// message limits and writes msg (size: its length without terminator).
func (a *AppLog) message(msg []byte, size int) error {
	ok, notice := a.Limiter.Allow(max(size, 1))
	a.NoticeMu.Lock()
	defer a.NoticeMu.Unlock()
	if notice != "" {
		if _, err := io.WriteString(a.Notices, notice+"\n"); err != nil {
			return err
		}
	}
	if !ok {
		return nil
	}
	_, err := a.Dst.Write(msg)
	return err
}

// terminator finds the first '\n' or '\r'.
func terminator(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

// runeCut backs a cut off the middle of a UTF-8 sequence (at most 3 bytes), like Diego.
func runeCut(b []byte) int {
	n := len(b)
	for back := 0; back < 3 && n-back > 0; back++ {
		if r, _ := utf8.DecodeLastRune(b[:n-back]); r != utf8.RuneError {
			return n - back
		}
	}
	return n
}
