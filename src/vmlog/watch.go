package vmlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrGone means the ring's directory was removed while following it.
var ErrGone = errors.New("vmlog: the ring's directory is gone")

// PollInterval is how often Wait looks when inotify is unavailable (the host's
// fs.inotify.max_user_instances, 128 on Debian, is used up: a cell follows two rings per
// instance).
const PollInterval = 100 * time.Millisecond

// Wait blocks until the ring may have new bytes (a write, a rotation), or ctx ends. The first
// call only sets the watch up and returns at once, so bytes written before it are not missed:
// read to io.EOF, Wait, read again.
func (r *Reader) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case r.poll:
		t := time.NewTimer(PollInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	case r.watch == nil:
		w, err := newWatcher(r.files)
		if errors.Is(err, ErrGone) {
			return err
		}
		r.watch, r.poll = w, err != nil
		return nil
	}
	return r.watch.wait(ctx)
}

// watcher is an inotify watch on the ring's directory, filtered to the ring's names.
type watcher struct {
	f     *os.File // nonblocking inotify descriptor, so reads honour deadlines
	names map[string]bool
	gone  bool
}

const watchMask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
	unix.IN_DELETE | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

func newWatcher(files Files) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("vmlog: inotify: %w", err)
	}
	dir := filepath.Dir(files.Current)
	if _, err := unix.InotifyAddWatch(fd, dir, watchMask); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.ENOENT) {
			return nil, ErrGone
		}
		return nil, fmt.Errorf("vmlog: watch %s: %w", dir, err)
	}
	return &watcher{f: os.NewFile(uintptr(fd), "inotify:"+dir), names: map[string]bool{
		filepath.Base(files.Current): true, filepath.Base(files.Previous): true}}, nil
}

func (w *watcher) wait(ctx context.Context) error {
	if w.gone {
		return ErrGone
	}
	stop := context.AfterFunc(ctx, func() { _ = w.f.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_ = w.f.SetReadDeadline(time.Time{})
		if ctx.Err() != nil { // the deadline may have been cleared after AfterFunc ran
			return ctx.Err()
		}
		n, err := w.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // ctx ended (checked above), or a late deadline from an earlier wait
			}
			return fmt.Errorf("vmlog: inotify: %w", err)
		}
		if w.relevant(buf[:n]) {
			return nil
		}
	}
}

// relevant tells whether events concern the ring (or its directory went away, or events were
// lost: both are worth a look).
func (w *watcher) relevant(b []byte) bool {
	hit := false
	for len(b) >= unix.SizeofInotifyEvent {
		mask := binary.NativeEndian.Uint32(b[4:8])
		nameLen := binary.NativeEndian.Uint32(b[12:16])
		end := unix.SizeofInotifyEvent + int(nameLen)
		if end > len(b) {
			break
		}
		name := string(trimNUL(b[unix.SizeofInotifyEvent:end]))
		switch {
		case mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0:
			w.gone, hit = true, true
		case mask&unix.IN_Q_OVERFLOW != 0, w.names[name]:
			hit = true
		}
		b = b[end:]
	}
	return hit
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func (w *watcher) close() { w.f.Close() }
