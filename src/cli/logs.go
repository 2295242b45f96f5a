package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/vmlog"
)

// cmdLogs prints the app's stdout lines marked OUT and stderr lines marked ERR: first all of
// stdout, then all of stderr (the two channels carry no common clock). With -f it then
// follows both and prints lines as they arrive, until the instance ends.
func cmdLogs(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	follow := fs.Bool("f", false, "follow")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("logs: want one instance id")
	}
	e, err := c.engine()
	if err != nil {
		return err
	}
	id, err := e.Resolve(pos[0])
	if err != nil {
		return err
	}
	paths, err := e.LogPaths(id)
	if err != nil {
		return err
	}
	out := &lineWriter{w: c.env.Stdout}
	streams := []*stream{{files: paths.Stdout, tag: "OUT"}, {files: paths.Stderr, tag: "ERR"}}
	for _, s := range streams {
		if s.r, err = vmlog.Open(s.files); err != nil {
			return err
		}
		defer s.r.Close()
		if err := s.copyLines(out); err != nil {
			return err
		}
	}
	if !*follow {
		return nil
	}
	for {
		for _, s := range streams {
			if err := s.copyLines(out); err != nil {
				return err
			}
		}
		info, err := e.Get(id)
		if err != nil {
			return err
		}
		if info.State != engine.StateRunning && info.State != engine.StateBooting {
			for _, s := range streams { // what arrived before the end
				if err := s.copyLines(out); err != nil {
					return err
				}
			}
			return nil
		}
		// until stdout changes, or a moment has passed to look at stderr and the state again
		wait, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_ = streams[0].r.Wait(wait)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// stream is one of the app's outputs, read in order across the ring's rotations.
type stream struct {
	files   vmlog.Files
	tag     string
	r       *vmlog.Reader
	pending []byte // an incomplete last line waits for its newline
}

// copyLines prints the stream's complete new lines, tagged.
func (s *stream) copyLines(out *lineWriter) error {
	b, err := io.ReadAll(s.r)
	if err != nil {
		return err
	}
	s.pending = append(s.pending, b...)
	for {
		i := bytes.IndexByte(s.pending, '\n')
		if i < 0 {
			return nil
		}
		out.print(s.tag, string(s.pending[:i+1]))
		s.pending = s.pending[i+1:]
	}
}

type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) print(tag, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s", tag, line)
}
