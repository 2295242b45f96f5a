package imagecache

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// entryCost is what every droplet entry counts against the quota on top of its data: about a
// tar header or an inode, so that a droplet of millions of empty files is bounded too.
const entryCost = 512

// extract unpacks the gzipped tar at tgz into dir, which it creates, and returns the bytes
// charged against limit (entry data plus entryCost per entry). Every entry is created beneath
// dir through an os.Root, so no chain of symlinks and hard links that earlier entries built can
// make a later one create, overwrite or read anything outside dir: such an entry is refused.
// Symlinks are data (their targets are checked lexically: relative ones stay inside the
// droplet, absolute ones inside /home/vcap); hard links join regular files of the droplet only;
// devices and fifos are skipped; setuid, setgid and sticky bits are dropped. Past limit the
// extraction stops with an error wrapping ErrQuota, before writing the entry that passes it.
// The caller removes dir after an error.
func extract(tgz, dir string, limit int64) (int64, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return 0, fmt.Errorf("extract droplet: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("extract droplet: not gzipped: %w", err)
	}
	defer zr.Close()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, fmt.Errorf("extract droplet: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, fmt.Errorf("extract droplet: %w", err)
	}
	defer root.Close()
	x := extractor{root: root, limit: limit}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return x.used, nil
		}
		if err != nil {
			return x.used, fmt.Errorf("extract droplet: %w", err)
		}
		if err := x.charge(h); err != nil {
			return x.used, err
		}
		if err := x.entry(tr, h); err != nil {
			return x.used, fmt.Errorf("extract droplet: %s: %w", h.Name, err)
		}
	}
}

type extractor struct {
	root  *os.Root
	limit int64
	used  int64
}

// charge counts an entry against the limit before anything of it is written. Data the
// extraction skips (of a device entry, say) counts too: it bounds the decompression work.
func (x *extractor) charge(h *tar.Header) error {
	if h.Size < 0 || h.Size > x.limit {
		return quotaError(x.limit, "a file in it is larger than that")
	}
	x.used += entryCost + h.Size
	if x.used > x.limit {
		return quotaError(x.limit, "its files unpack to more than that")
	}
	return nil
}

func (x *extractor) entry(tr io.Reader, h *tar.Header) error {
	rel, err := entryPath(h.Name)
	if err != nil || rel == "." {
		return err // the droplet's root itself: nothing to create
	}
	mode := fs.FileMode(h.Mode).Perm() // no setuid, setgid or sticky bit
	if parent := path.Dir(rel); parent != "." {
		if err := x.root.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return x.dir(rel, mode)
	case tar.TypeReg:
		return x.file(rel, mode, tr)
	case tar.TypeSymlink:
		if err := checkLink(rel, h.Linkname); err != nil {
			return err
		}
		if err := x.clear(rel, false); err != nil {
			return err
		}
		return x.root.Symlink(h.Linkname, rel)
	case tar.TypeLink:
		return x.hardlink(rel, h.Linkname)
	}
	return nil // devices, fifos: nothing to unpack
}

// entryPath turns an entry name into a clean path relative to the droplet's root, refusing
// absolute names and names with a ".." component.
func entryPath(name string) (string, error) {
	if strings.HasPrefix(name, "/") || strings.Contains("/"+name+"/", "/../") {
		return "", fmt.Errorf("entry leaves the droplet")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("entry name holds a NUL byte")
	}
	return path.Clean(name), nil
}

// clear removes what an earlier entry put at rel (a later entry replaces an earlier one, as
// with tar), except a directory when keepDir. It never follows a symlink at rel.
func (x *extractor) clear(rel string, keepDir bool) error {
	fi, err := x.root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case keepDir && fi.IsDir():
		return nil
	}
	return x.root.RemoveAll(rel)
}

func (x *extractor) dir(rel string, mode fs.FileMode) error {
	if err := x.clear(rel, true); err != nil {
		return err
	}
	if err := x.root.Mkdir(rel, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return x.root.Chmod(rel, mode|0o700)
}

func (x *extractor) file(rel string, mode fs.FileMode, data io.Reader) error {
	if err := x.clear(rel, false); err != nil {
		return err
	}
	out, err := x.root.OpenFile(rel, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, data); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(mode | 0o600); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// hardlink links rel to an earlier regular file of the droplet: the target is resolved beneath
// the root and must not be a directory, a symlink or anything but a regular file.
func (x *extractor) hardlink(rel, target string) error {
	src, err := entryPath(target)
	if err != nil || src == "." {
		return fmt.Errorf("hard link to %q leaves the droplet", target)
	}
	fi, err := x.root.Lstat(src)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("hard link to %q: not a regular file of the droplet", target)
	}
	if err := x.clear(rel, false); err != nil {
		return err
	}
	return x.root.Link(src, rel)
}

// checkLink refuses symlinks that point out of the droplet by their own name: relative links
// must stay inside the droplet, absolute ones inside the app's guest home (/home/vcap), which
// the builder maps onto the droplet. It is the friendly first check; what confines a chain of
// links is that every later entry is resolved beneath the root, and that readers of the tree
// (droplet, image) resolve beneath it too.
func checkLink(rel, dest string) error {
	if path.IsAbs(dest) {
		if !strings.HasPrefix(path.Clean(dest)+"/", "/home/vcap/") {
			return fmt.Errorf("symlink to %q points outside /home/vcap", dest)
		}
		return nil
	}
	joined := path.Join(path.Dir(rel), dest)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return fmt.Errorf("symlink to %q leaves the droplet", dest)
	}
	return nil
}
