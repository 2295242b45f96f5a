package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/unik-cf/unik/src/vmlog"
)

// pump copies one guest stream into its ring until the stream ends (all writers gone).
type pump struct {
	name string
	src  io.ReadCloser
	ring *vmlog.Writer
	dst  io.Writer // ring, or an AppLog in front of it
	app  *vmlog.AppLog
}

// newPumps opens the rings of the outputs and puts the AppLog outputs behind one limiter.
func newPumps(outputs []Output, srcs []io.ReadCloser, rate int64) ([]*pump, error) {
	var pumps []*pump
	var limiter *vmlog.Limiter
	var notices io.Writer
	mu := &sync.Mutex{}
	for i, o := range outputs {
		ring, err := vmlog.Create(o.Ring, o.Cap)
		if err != nil {
			closePumps(pumps)
			return nil, err
		}
		p := &pump{name: o.Ring.Current, src: srcs[i], ring: ring, dst: ring}
		if o.AppLog && rate > 0 {
			if limiter == nil {
				limiter, notices = vmlog.NewLimiter(rate, time.Now), ring
			}
			p.app = &vmlog.AppLog{Dst: ring, Notices: notices, Limiter: limiter, NoticeMu: mu}
			p.dst = p.app
		}
		pumps = append(pumps, p)
	}
	return pumps, nil
}

// run copies until EOF. A ring that cannot be written (disk full) does not stop the copy:
// the stream is still drained so the VMM never blocks on it.
func (p *pump) run(logf func(string, ...any)) {
	buf := make([]byte, 64<<10)
	failed := false
	for {
		n, err := p.src.Read(buf)
		if n > 0 {
			if _, werr := p.dst.Write(buf[:n]); werr != nil && !failed {
				failed = true
				logf("%s: %v (dropping this stream's output from now on)", p.name, werr)
				p.dst = io.Discard
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				logf("%s: read: %v", p.name, err)
			}
			break
		}
	}
	if p.app != nil && !failed {
		if err := p.app.Flush(); err != nil {
			logf("%s: %v", p.name, err)
		}
	}
}

func closePumps(pumps []*pump) {
	for _, p := range pumps {
		if err := p.ring.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "unik-shim: %s: %v\n", p.name, err)
		}
		p.src.Close()
	}
}
