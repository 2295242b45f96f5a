package logs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"

	loggingclient "code.cloudfoundry.org/diego-logging-client"
	"code.cloudfoundry.org/executor"
)

// Sender is the part of loggingclient.IngressClient that logs use.
type Sender interface {
	SendAppLog(message, sourceType string, tags map[string]string) error
	SendAppErrorLog(message, sourceType string, tags map[string]string) error
}

var _ Sender = loggingclient.IngressClient(nil)

// Cell sends lifecycle messages for one instance with the LRP's log config.
type Cell struct {
	Sender Sender
	Config executor.LogConfig
}

// Info sends msg as OUT from the LRP's source (CELL).
func (c Cell) Info(msg string) {
	src, tags := c.Config.GetSourceNameAndTagsForLogging()
	_ = c.Sender.SendAppLog(msg, src, tags)
}

// Error sends msg as ERR from the LRP's source (CELL).
func (c Cell) Error(msg string) {
	src, tags := c.Config.GetSourceNameAndTagsForLogging()
	_ = c.Sender.SendAppErrorLog(msg, src, tags)
}

// App streams an instance's output files.
type App struct {
	Sender     Sender
	Config     executor.LogConfig // source_id (log guid) and instance index
	SourceName string             // the Run action's log source; "" = the LogConfig's
	Interval   time.Duration      // how often to look for new output; default 100ms
}

// Follow sends what is appended to the stdout and stderr files (from offset 0, or from their
// current end when fromEnd) until ctx is done, then sends what remains and returns.
func (a App) Follow(ctx context.Context, stdout, stderr string, fromEnd bool) {
	src, tags := a.Config.GetSourceNameAndTagsForLogging()
	if a.SourceName != "" {
		src = a.SourceName
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		follow(ctx, stderr, fromEnd, a.interval(), func(line string) { _ = a.Sender.SendAppErrorLog(line, src, tags) })
	}()
	follow(ctx, stdout, fromEnd, a.interval(), func(line string) { _ = a.Sender.SendAppLog(line, src, tags) })
	<-done
}

func (a App) interval() time.Duration {
	if a.Interval <= 0 {
		return 100 * time.Millisecond
	}
	return a.Interval
}

const maxLine = 64 * 1024

// follow reads lines appended to path and gives each to emit. A partial last line is held
// until its newline comes or following ends.
func follow(ctx context.Context, path string, fromEnd bool, interval time.Duration, emit func(string)) {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var pending []byte
	buf := make([]byte, 32*1024)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if f == nil {
			var err error
			if f, err = os.Open(path); err == nil && fromEnd {
				_, _ = f.Seek(0, io.SeekEnd)
			} else if err != nil {
				f = nil
			}
		}
		if f != nil {
			pending = drain(f, buf, pending, emit)
		}
		select {
		case <-ctx.Done():
			if f != nil {
				pending = drain(f, buf, pending, emit)
			}
			if len(pending) > 0 {
				emit(string(pending))
			}
			return
		case <-tick.C:
		}
	}
}

// drain reads f to its end, emitting complete lines, and returns the partial rest.
func drain(f *os.File, buf, pending []byte, emit func(string)) []byte {
	for {
		n, err := f.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			pending = lines(pending, emit)
		}
		if err != nil || n == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return pending
			}
			return pending
		}
	}
}

func lines(b []byte, emit func(string)) []byte {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(b) >= maxLine {
				emit(string(b[:maxLine]))
				b = b[maxLine:]
				continue
			}
			return b
		}
		emit(string(bytes.TrimSuffix(b[:i], []byte("\r"))))
		b = b[i+1:]
	}
}
