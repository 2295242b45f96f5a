package logs

import (
	"bytes"
	"context"
	"io"

	loggingclient "code.cloudfoundry.org/diego-logging-client"
	"code.cloudfoundry.org/executor"

	"github.com/unik-cf/unik/src/vmlog"
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

// App streams an instance's output rings.
type App struct {
	Sender     Sender
	Config     executor.LogConfig // source_id (log guid) and instance index
	SourceName string             // the Run action's log source; "" = the LogConfig's
}

// Follow sends what is appended to the stdout and stderr rings (from their oldest kept byte,
// or from their current end when fromEnd) until ctx is done, then sends what remains and
// returns.
func (a App) Follow(ctx context.Context, stdout, stderr vmlog.Files, fromEnd bool) {
	src, tags := a.Config.GetSourceNameAndTagsForLogging()
	if a.SourceName != "" {
		src = a.SourceName
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		follow(ctx, stderr, fromEnd, func(line string) { _ = a.Sender.SendAppErrorLog(line, src, tags) })
	}()
	follow(ctx, stdout, fromEnd, func(line string) { _ = a.Sender.SendAppLog(line, src, tags) })
	<-done
}

const maxLine = 64 * 1024

// follow reads lines appended to a ring and gives each to emit; it waits for more with
// inotify (vmlog.Reader.Wait). A partial last line is held until its newline comes or
// following ends.
func follow(ctx context.Context, files vmlog.Files, fromEnd bool, emit func(string)) {
	open := vmlog.Open
	if fromEnd {
		open = vmlog.OpenEnd
	}
	r, err := open(files)
	if err != nil {
		return
	}
	defer r.Close()
	var pending []byte
	buf := make([]byte, 32*1024)
	for {
		pending = drain(r, buf, pending, emit)
		if err := r.Wait(ctx); err != nil { // ctx done, or the instance's directory is gone
			pending = drain(r, buf, pending, emit)
			if len(pending) > 0 {
				emit(string(pending))
			}
			return
		}
	}
}

// drain reads r to its present end, emitting complete lines, and returns the partial rest.
func drain(r io.Reader, buf, pending []byte, emit func(string)) []byte {
	for {
		n, err := r.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			pending = lines(pending, emit)
		}
		if err != nil || n == 0 {
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
