package logs_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/executor"

	"github.com/unik-cf/unik/src/cell/logs"
	"github.com/unik-cf/unik/src/vmlog"
)

type sent struct {
	mu    sync.Mutex
	lines []string
}

func (s *sent) add(kind, msg, src string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, kind+" "+src+"/"+tags["instance_id"]+" "+tags["source_id"]+" "+msg)
}
func (s *sent) SendAppLog(m, src string, t map[string]string) error {
	s.add("OUT", m, src, t)
	return nil
}
func (s *sent) SendAppErrorLog(m, src string, t map[string]string) error {
	s.add("ERR", m, src, t)
	return nil
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	out, errp := filepath.Join(dir, "out"), filepath.Join(dir, "err")
	os.WriteFile(out, []byte("one\ntw"), 0o600)
	os.WriteFile(errp, []byte("bad\n"), 0o600)
	s := &sent{}
	app := logs.App{Sender: s, Config: executor.LogConfig{Guid: "app-guid", Index: 2, SourceName: "CELL"},
		SourceName: "APP/PROC/WEB"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		app.Follow(ctx, vmlog.Files{Current: out, Previous: out + ".1"}, vmlog.Files{Current: errp, Previous: errp + ".1"}, false)
		close(done)
	}()
	time.Sleep(50 * time.Millisecond)
	f, _ := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("o\nlast without newline")
	f.Close()
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done
	want := map[string]bool{
		"OUT APP/PROC/WEB/2 app-guid one": true, "OUT APP/PROC/WEB/2 app-guid two": true,
		"OUT APP/PROC/WEB/2 app-guid last without newline": true, "ERR APP/PROC/WEB/2 app-guid bad": true,
	}
	if len(s.lines) != len(want) {
		t.Fatalf("sent %q", s.lines)
	}
	for _, l := range s.lines {
		if !want[l] {
			t.Errorf("unexpected %q (all: %q)", l, s.lines)
		}
	}
}
