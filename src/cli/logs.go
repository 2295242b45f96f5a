package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/unik-cf/unik/src/engine"
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
	streams := []struct{ path, tag string }{{paths.Stdout, "OUT"}, {paths.Stderr, "ERR"}}
	offsets := make([]int64, len(streams))
	for i, s := range streams {
		offsets[i], err = copyLines(s.path, 0, s.tag, out)
		if err != nil {
			return err
		}
	}
	if !*follow {
		return nil
	}
	for {
		for i, s := range streams {
			if offsets[i], err = copyLines(s.path, offsets[i], s.tag, out); err != nil {
				return err
			}
		}
		info, err := e.Get(id)
		if err != nil {
			return err
		}
		if info.State != engine.StateRunning && info.State != engine.StateBooting {
			for i, s := range streams { // what arrived before the end
				if offsets[i], err = copyLines(s.path, offsets[i], s.tag, out); err != nil {
					return err
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// copyLines prints the complete lines of path from offset on, tagged, and returns the offset
// after the last complete line.
func copyLines(path string, offset int64, tag string, out *lineWriter) (int64, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return offset, nil
	}
	if err != nil {
		return offset, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return offset, nil // an incomplete last line waits for its newline
		}
		offset += int64(len(line))
		out.print(tag, line)
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
