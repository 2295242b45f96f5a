package vmlog

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Reader reads a ring's bytes in order: Previous, then Current, then whatever Current
// becomes after rotations. Read returns io.EOF at the present end; more may come later (see
// Wait). It is not safe for concurrent use.
type Reader struct {
	files Files
	prev  *os.File // an older file to read before cur, or nil
	cur   *os.File // the file that was Current when last looked (nil: the ring had no file)
	watch *watcher
	poll  bool // no inotify to be had: Wait looks every PollInterval
}

// Open starts reading the ring at files from its oldest kept byte. A ring without files
// reads as empty until they appear.
func Open(files Files) (*Reader, error) {
	r := &Reader{files: files}
	if err := r.start(false); err != nil {
		return nil, err
	}
	return r, nil
}

// OpenEnd starts reading at the ring's present end: only bytes written from now on.
func OpenEnd(files Files) (*Reader, error) {
	r := &Reader{files: files}
	if err := r.start(true); err != nil {
		return nil, err
	}
	return r, nil
}

// ReadAll returns every byte the ring at files holds now.
func ReadAll(files Files) ([]byte, error) {
	r, err := Open(files)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (r *Reader) start(fromEnd bool) error {
	cur, prev, err := openPair(r.files)
	if err != nil {
		return err
	}
	if cur == nil { // mid-rotation: Previous was Current a moment ago
		cur, prev = prev, nil
	}
	if fromEnd {
		closeFile(prev)
		prev = nil
		if cur != nil {
			if _, err := cur.Seek(0, io.SeekEnd); err != nil {
				cur.Close()
				return fmt.Errorf("vmlog: %w", err)
			}
		}
	}
	r.prev, r.cur = prev, cur
	return nil
}

// openPair opens Current and Previous such that Previous is older than Current: it retries
// while a rotation happens between the two opens.
func openPair(files Files) (cur, prev *os.File, err error) {
	for range 100 {
		if cur, err = openIfExists(files.Current); err != nil {
			return nil, nil, err
		}
		if prev, err = openIfExists(files.Previous); err != nil {
			closeFile(cur)
			return nil, nil, err
		}
		if cur == nil {
			return nil, prev, nil
		}
		if rotated, err := wasRotated(files.Current, cur); err == nil && !rotated {
			return cur, prev, nil
		}
		closeFile(cur)
		closeFile(prev)
	}
	return nil, nil, fmt.Errorf("vmlog: %s rotates faster than it can be opened", files.Current)
}

func openIfExists(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vmlog: %w", err)
	}
	return f, nil
}

// wasRotated tells whether f is no longer the file at path.
func wasRotated(path string, f *os.File) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("vmlog: %w", err)
	}
	fst, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("vmlog: %w", err)
	}
	return !os.SameFile(st, fst), nil
}

// Read reads the next bytes in order; io.EOF means none for now.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if r.prev != nil {
			n, err := r.prev.Read(p)
			if n > 0 {
				return n, nil
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, fmt.Errorf("vmlog: %w", err)
			}
			closeFile(r.prev) // a renamed file is complete: nothing more comes
			r.prev = nil
			continue
		}
		if r.cur == nil {
			if err := r.start(false); err != nil {
				return 0, err
			}
			if r.cur == nil {
				return 0, io.EOF
			}
			continue
		}
		n, err := r.cur.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("vmlog: %w", err)
		}
		moved, err := r.advance()
		if err != nil || !moved {
			return 0, eofOr(err)
		}
	}
}

// advance moves past a fully read cur that has been rotated away. The writer writes nothing
// to a file after renaming it, so once rotated, cur's end is final.
func (r *Reader) advance() (bool, error) {
	rotated, err := wasRotated(r.files.Current, r.cur)
	if err != nil || !rotated {
		return false, err
	}
	var buf [1]byte // bytes written between our EOF and the rename?
	if n, _ := r.cur.Read(buf[:]); n > 0 {
		if _, err := r.cur.Seek(-1, io.SeekCurrent); err != nil {
			return false, fmt.Errorf("vmlog: %w", err)
		}
		return true, nil
	}
	next, prev, err := openPair(r.files)
	if err != nil {
		return false, err
	}
	if next == nil { // between the rename and the new Current: keep cur and look again later
		closeFile(prev)
		return false, nil
	}
	if prev != nil && !sameFile(prev, r.cur) {
		r.prev = prev // a whole file came and went since cur: read it first
	} else {
		closeFile(prev)
	}
	closeFile(r.cur)
	r.cur = next
	return true, nil
}

func sameFile(a, b *os.File) bool {
	as, err1 := a.Stat()
	bs, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(as, bs)
}

func eofOr(err error) error {
	if err != nil {
		return err
	}
	return io.EOF
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// Close releases the reader's files and watch.
func (r *Reader) Close() error {
	closeFile(r.prev)
	closeFile(r.cur)
	r.prev, r.cur = nil, nil
	if r.watch != nil {
		r.watch.close()
		r.watch = nil
	}
	return nil
}
