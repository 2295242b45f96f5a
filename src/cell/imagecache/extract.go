package imagecache

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// extract unpacks the gzipped tar at tgz into dir. Entries that would land outside dir
// (absolute names, "..", links pointing out) are refused; devices and fifos are skipped.
func extract(tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("extract droplet: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("extract droplet: not gzipped: %w", err)
	}
	defer zr.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("extract droplet: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract droplet: %w", err)
		}
		if err := extractEntry(tr, h, dir); err != nil {
			return fmt.Errorf("extract droplet: %s: %w", h.Name, err)
		}
	}
}

func extractEntry(tr *tar.Reader, h *tar.Header, dir string) error {
	rel := path.Clean("/" + h.Name)[1:]
	if rel == "" {
		return nil
	}
	if strings.HasPrefix(h.Name, "/") || strings.Contains("/"+h.Name+"/", "/../") {
		return fmt.Errorf("entry leaves the droplet")
	}
	target := filepath.Join(dir, filepath.FromSlash(rel))
	mode := os.FileMode(h.Mode).Perm()
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		return os.Chmod(target, mode|0o700)
	case tar.TypeReg:
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	case tar.TypeSymlink:
		if err := checkLink(rel, h.Linkname); err != nil {
			return err
		}
		os.Remove(target)
		return os.Symlink(h.Linkname, target)
	case tar.TypeLink:
		src := path.Clean("/" + h.Linkname)[1:]
		if strings.HasPrefix(h.Linkname, "/") || strings.Contains("/"+h.Linkname+"/", "/../") {
			return fmt.Errorf("hard link to %q leaves the droplet", h.Linkname)
		}
		os.Remove(target)
		return os.Link(filepath.Join(dir, filepath.FromSlash(src)), target)
	}
	return nil // devices, fifos, pax headers: nothing to unpack
}

// checkLink refuses symlinks that would let a droplet read the cell's files into its image:
// relative links must stay inside the droplet, absolute ones inside the app's guest home
// (/home/vcap), which the builder maps onto the droplet.
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
