package vmlog

import (
	"errors"
	"fmt"
	"os"
)

// Files are a ring's two files. Previous holds older bytes than Current.
type Files struct {
	Current  string
	Previous string
}

// MinCap is the smallest cap a Writer accepts.
const MinCap = 2

// Writer appends to a ring holding at most a cap of bytes. It is not safe for concurrent use.
type Writer struct {
	files Files
	half  int64 // each file holds at most half the cap
	f     *os.File
	size  int64 // bytes in Current
}

// Create starts an empty ring (an old one at files is discarded) that keeps at most capBytes
// on disk. Files are private (0600).
func Create(files Files, capBytes int64) (*Writer, error) {
	if capBytes < MinCap {
		return nil, fmt.Errorf("vmlog: cap %d bytes is below %d", capBytes, MinCap)
	}
	if err := os.Remove(files.Previous); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("vmlog: %w", err)
	}
	f, err := os.OpenFile(files.Current, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vmlog: %w", err)
	}
	return &Writer{files: files, half: capBytes / 2, f: f}, nil
}

// Write appends p, rotating as often as needed; with p longer than the cap only its last
// bytes stay on disk.
func (w *Writer) Write(p []byte) (int, error) {
	if w.f == nil {
		return 0, fmt.Errorf("vmlog: write to closed ring %s", w.files.Current)
	}
	written := 0
	for len(p) > 0 {
		room := w.half - w.size
		if room <= 0 {
			if err := w.rotate(); err != nil {
				return written, err
			}
			room = w.half
		}
		n := int(min(room, int64(len(p))))
		m, err := w.f.Write(p[:n])
		w.size += int64(m)
		written += m
		if err != nil {
			return written, fmt.Errorf("vmlog: %w", err)
		}
		p = p[n:]
	}
	return written, nil
}

// rotate renames Current over Previous and starts a new Current. Readers rely on the order:
// nothing is written to a file after it has been renamed.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("vmlog: %w", err)
	}
	w.f = nil
	if err := os.Rename(w.files.Current, w.files.Previous); err != nil {
		return fmt.Errorf("vmlog: rotate: %w", err)
	}
	f, err := os.OpenFile(w.files.Current, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("vmlog: rotate: %w", err)
	}
	w.f, w.size = f, 0
	return nil
}

// Close closes Current; the files stay.
func (w *Writer) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
