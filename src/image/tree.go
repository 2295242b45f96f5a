package image

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
)

type entryKind int

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
	kindCharDev
)

func (k entryKind) String() string {
	return [...]string{"directory", "file", "symlink", "device"}[k]
}

// entry is one archive entry before writing.
type entry struct {
	kind     entryKind
	mode     fs.FileMode // permission bits (and setuid/setgid/sticky)
	uid, gid int
	implicit bool   // a parent directory nobody added explicitly
	host     string // kindFile: the host file to copy, unless data is set
	data     []byte // kindFile: generated content
	size     int64  // kindFile
	target   string // kindSymlink
	major    uint32 // kindCharDev
	minor    uint32
}

// tree collects the entries of the image by guest path.
type tree struct {
	entries map[string]*entry
}

func newTree() *tree { return &tree{entries: map[string]*entry{}} }

// add records e at the clean absolute guest path p and creates missing parent directories
// (root-owned, 0755). Adding the same thing twice is fine; an explicit directory replaces an
// implicit one; anything else at an occupied path is an ErrConflict.
func (t *tree) add(p string, e *entry) error {
	if p == "/" || path.Clean(p) != p || !path.IsAbs(p) {
		return fmt.Errorf("image entry %q: not a clean absolute path", p)
	}
	if old, ok := t.entries[p]; ok {
		switch {
		case old.kind == kindDir && e.kind == kindDir:
			if old.implicit && !e.implicit {
				t.entries[p] = e
			}
			return nil
		case old.kind == e.kind && old.target == e.target && old.host == e.host && bytes.Equal(old.data, e.data):
			return nil
		}
		return errorf(ErrConflict, "the image would hold both a %s and a %s at %s", old.kind, e.kind, p)
	}
	if dir := path.Dir(p); dir != "/" {
		if err := t.add(dir, &entry{kind: kindDir, mode: 0o755, implicit: true}); err != nil {
			return err
		}
	}
	t.entries[p] = e
	return nil
}

func (t *tree) addData(p string, mode fs.FileMode, data []byte) error {
	return t.add(p, &entry{kind: kindFile, mode: mode, data: data, size: int64(len(data))})
}

// write writes the entries sorted by path, so parents come before their children.
func (t *tree) write(ctx context.Context, cw *CpioWriter) error {
	paths := make([]string, 0, len(t.entries))
	for p := range t.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write image: %w", err)
		}
		if err := t.writeEntry(cw, p, t.entries[p]); err != nil {
			return err
		}
	}
	return nil
}

func (t *tree) writeEntry(cw *CpioWriter, p string, e *entry) error {
	switch e.kind {
	case kindDir:
		return cw.WriteDir(p, e.mode, e.uid, e.gid)
	case kindSymlink:
		return cw.WriteSymlink(p, e.target, e.uid, e.gid)
	case kindCharDev:
		return cw.WriteDevice(p, e.mode, e.major, e.minor)
	}
	if e.data != nil || e.host == "" {
		return cw.WriteFile(p, e.mode, e.uid, e.gid, bytes.NewReader(e.data), e.size)
	}
	f, err := os.Open(e.host)
	if err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	if fi.Size() != e.size || !fi.Mode().IsRegular() {
		return fmt.Errorf("write image: %s changed during the build", e.host)
	}
	if err := cw.WriteFile(p, e.mode, e.uid, e.gid, f, e.size); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	return nil
}
