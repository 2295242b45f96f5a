package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// ErrUnsafePayload: a payload's shape could make the kernel unpack it other than as the entries
// say (hard links, entries through symlinks, an entry twice, unclean names). Sanitize refuses it.
var ErrUnsafePayload = errors.New("unsafe image payload")

// systemDir says whether name is a directory the cell owns in every guest, which a payload
// may hold only as a directory, and whether what a payload puts beneath it is dropped
// (mounted over in the guest, or the cell's).
func systemDir(name string) (system, dropBeneath bool) {
	switch name {
	case "dev", "proc", "sys", "run", "unik":
		return true, true
	case "etc", "tmp":
		return true, false
	}
	return false, false
}

// systemFile says whether name is a file the cell owns in every guest: a payload's is dropped,
// the engine's system segment (unpacked after the payload) puts the cell's there.
func systemFile(name string) bool {
	switch name {
	case "init", "etc/passwd", "etc/group", "etc/nsswitch.conf", "etc/hosts", "etc/resolv.conf":
		return true
	}
	return false
}

// SanitizeReport says what Sanitize did.
type SanitizeReport struct {
	Entries int      // entries written
	Dropped []string // paths of the entries left out
}

// Sanitize copies the payload (or several concatenated cpio archives) from r to w as one newc
// archive the cell can boot whatever the payload's origin, so that the kernel unpacks exactly
// the entries written and nothing of the payload can replace what the engine appends after it
// (the cell's /init, system files and the instance's config):
//
//   - dropped: /init, everything under /unik but /unik/manifest.json (the cell's: init, the
//     config, the fallback kernel's modules), the system files (/etc/passwd, /etc/group,
//     /etc/nsswitch.conf, /etc/hosts, /etc/resolv.conf), /dev, /proc, /sys, /run, /unik, /etc
//     and /tmp unless they are directories, what lies beneath /dev, /proc, /sys and /run,
//     device nodes, fifos and sockets anywhere, the root entry ".", and whatever lies beneath
//     a dropped entry;
//   - refused (ErrUnsafePayload): hard links (a regular file with more than one link), an entry
//     whose parent is not a directory an earlier entry of the payload made (so no entry lands
//     through a symlink), the same path twice, names that are not clean relative paths, a
//     manifest larger than 1 MiB;
//   - normalized: owners (vcap, 2000:2000, for /home/vcap and the app directory, root for the
//     rest, as Build makes them), setuid and setgid bits dropped (sticky kept on directories),
//     fresh inode numbers, one link per file, mtime 0, a single trailer.
//
// A payload Build wrote loses only /init, its device nodes and its system files, which the
// engine's system segment brings back as the cell's. Malformed archives give an error
// wrapping ErrCorruptPayload. Nothing useful is in w after an error.
func Sanitize(r io.Reader, w io.Writer) (SanitizeReport, error) {
	s := sanitizer{kinds: map[string]entryKind{}, dropped: map[string]bool{}}
	cr := NewCpioReader(r)
	cw := NewCpioWriter(w)
	for {
		e, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s.report, fmt.Errorf("sanitize payload: %w", err)
		}
		if err := s.entry(cw, cr, e); err != nil {
			return s.report, fmt.Errorf("sanitize payload: %w", err)
		}
	}
	if err := cw.Close(); err != nil {
		return s.report, fmt.Errorf("sanitize payload: %w", err)
	}
	return s.report, nil
}

type sanitizer struct {
	kinds   map[string]entryKind // what the kept entries are, by path
	dropped map[string]bool      // dropped paths (to drop what lies beneath them)
	report  SanitizeReport
}

func (s *sanitizer) entry(cw *CpioWriter, data io.Reader, e *CpioEntry) error {
	name, err := payloadName(e.Path)
	if err != nil {
		return err
	}
	if name == "." {
		s.report.Dropped = append(s.report.Dropped, "/")
		return nil
	}
	if _, dup := s.kinds[name]; dup || s.dropped[name] {
		return fmt.Errorf("%w: /%s appears twice", ErrUnsafePayload, name)
	}
	kind, keep := s.keep(name, e.Mode)
	if keep {
		if err := s.checkParent(name); err != nil {
			return err
		}
	}
	if !keep || s.droppedParent(name) {
		s.dropped[name] = true
		s.report.Dropped = append(s.report.Dropped, "/"+name)
		return nil
	}
	if kind == kindFile && e.NLink > 1 {
		return fmt.Errorf("%w: /%s is a hard link (%d links): payloads hold only single-link files", ErrUnsafePayload, name, e.NLink)
	}
	if name == ManifestPath[1:] && (kind != kindFile || e.Size > maxManifestSize) {
		return fmt.Errorf("%w: %s is not a regular file of at most %d bytes", ErrUnsafePayload, ManifestPath, maxManifestSize)
	}
	s.kinds[name] = kind
	s.report.Entries++
	uid, gid := 0, 0
	if guest := "/" + name; inApp(guest) || guest == path.Dir(GuestAppDir) {
		uid, gid = VcapUID, VcapGID
	}
	switch kind {
	case kindDir:
		return cw.WriteDir(name, e.Mode&(fs.ModePerm|fs.ModeSticky), uid, gid)
	case kindSymlink:
		return cw.WriteSymlink(name, e.Linkname, uid, gid)
	}
	return cw.WriteFile(name, e.Mode.Perm(), uid, gid, data, e.Size)
}

// keep says whether an entry of this name and mode stays, and as what.
func (s *sanitizer) keep(name string, mode fs.FileMode) (entryKind, bool) {
	var kind entryKind
	switch {
	case mode.IsDir():
		kind = kindDir
	case mode.IsRegular():
		kind = kindFile
	case mode&fs.ModeSymlink != 0:
		kind = kindSymlink
	default:
		return 0, false // devices, fifos, sockets
	}
	if systemFile(name) || strings.HasPrefix(name, "init/") {
		return 0, false
	}
	if system, _ := systemDir(name); system {
		return kind, kind == kindDir
	}
	top, _, _ := strings.Cut(name, "/")
	if _, dropBeneath := systemDir(top); dropBeneath && name != ManifestPath[1:] {
		return 0, false
	}
	return kind, true
}

// checkParent refuses an entry whose parent is not a directory made by an earlier entry of the
// payload: the kernel would create it through whatever is there (a symlink, say).
func (s *sanitizer) checkParent(name string) error {
	parent := path.Dir(name)
	if parent == "." || s.droppedParent(name) {
		return nil
	}
	if k, ok := s.kinds[parent]; !ok || k != kindDir {
		what := "missing"
		if ok {
			what = "a " + k.String()
		}
		return fmt.Errorf("%w: the parent of /%s is %s, not a directory made before it", ErrUnsafePayload, name, what)
	}
	return nil
}

func (s *sanitizer) droppedParent(name string) bool {
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		if s.dropped[p] {
			return true
		}
	}
	return false
}

// payloadName turns a stored name into the clean relative path the kernel creates ("/x" and
// "./x" are x, "." the root), refusing names it would resolve elsewhere ("..", "a//b").
func payloadName(stored string) (string, error) {
	n := stored
	for {
		switch {
		case strings.HasPrefix(n, "/"):
			n = n[1:]
			continue
		case strings.HasPrefix(n, "./"):
			n = n[2:]
			continue
		}
		break
	}
	if n == "" || n == "." {
		return ".", nil
	}
	if path.Clean(n) != n || n == ".." || strings.HasPrefix(n, "../") {
		return "", fmt.Errorf("%w: entry name %q is not a clean path inside the image", ErrUnsafePayload, stored)
	}
	return n, nil
}
