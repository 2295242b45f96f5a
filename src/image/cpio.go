package image

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"strings"
)

// newc format constants.
const (
	cpioMagic     = "070701"
	cpioHeaderLen = 110
	cpioTrailer   = "TRAILER!!!"
	cpioBlock     = 512
	maxCpioName   = 4096 // PATH_MAX, also the kernel's limit

	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
	modeTypes   = 0o170000
)

// CpioOption configures a CpioWriter.
type CpioOption func(*CpioWriter)

// WithModTime sets the mtime (seconds since the epoch) of every entry; the default is 0.
func WithModTime(sec int64) CpioOption {
	return func(c *CpioWriter) { c.mtime = sec }
}

// CpioWriter writes a newc ("070701") cpio archive, the format of Linux initramfs. Entries are
// written in call order with sequential inode numbers and a fixed mtime; paths are stored
// without a leading "/". The first error is sticky: later calls return it.
type CpioWriter struct {
	w      io.Writer
	off    int64
	ino    uint32
	mtime  int64
	err    error
	closed bool
}

// NewCpioWriter returns a writer of a cpio archive to w. Close writes the trailer.
func NewCpioWriter(w io.Writer, opts ...CpioOption) *CpioWriter {
	c := &CpioWriter{w: w}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WriteDir writes a directory entry.
func (c *CpioWriter) WriteDir(path string, mode fs.FileMode, uid, gid int) error {
	return c.entry(path, modeDir|permBits(mode), uid, gid, 2, 0, 0, 0, nil)
}

// WriteFile writes a regular file of exactly size bytes read from r.
func (c *CpioWriter) WriteFile(path string, mode fs.FileMode, uid, gid int, r io.Reader, size int64) error {
	if r == nil {
		return c.fail(fmt.Errorf("cpio: file %s: nil reader", path))
	}
	return c.entry(path, modeRegular|permBits(mode), uid, gid, 1, size, 0, 0, r)
}

// WriteSymlink writes a symbolic link to target.
func (c *CpioWriter) WriteSymlink(path, target string, uid, gid int) error {
	if target == "" || strings.IndexByte(target, 0) >= 0 || len(target) >= maxCpioName {
		return c.fail(fmt.Errorf("cpio: symlink %s: invalid target %q", path, target))
	}
	return c.entry(path, modeSymlink|0o777, uid, gid, 1, int64(len(target)), 0, 0, strings.NewReader(target))
}

// WriteDevice writes a character device node owned by root.
func (c *CpioWriter) WriteDevice(path string, mode fs.FileMode, major, minor uint32) error {
	return c.entry(path, modeCharDev|permBits(mode), 0, 0, 1, 0, major, minor, nil)
}

// Close writes the trailer and zero-pads the archive to a multiple of 512 bytes. It does not
// close the underlying writer. Calling it again returns the first result.
func (c *CpioWriter) Close() error {
	if c.closed || c.err != nil {
		return c.err
	}
	if err := c.header(cpioTrailer, 0, 0, 0, 0, 1, 0, 0, 0); err != nil {
		return err
	}
	c.closed = true
	if rem := c.off % cpioBlock; rem != 0 {
		return c.write(make([]byte, cpioBlock-rem))
	}
	return nil
}

func (c *CpioWriter) entry(name string, mode uint32, uid, gid int, nlink uint32, size int64, rmaj, rmin uint32, data io.Reader) error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return fmt.Errorf("cpio: write %s after Close", name)
	}
	clean, err := archiveName(name)
	if err != nil {
		return c.fail(err)
	}
	switch {
	case uid < 0 || uid > math.MaxUint32 || gid < 0 || gid > math.MaxUint32:
		return c.fail(fmt.Errorf("cpio: %s: uid/gid %d/%d out of range", clean, uid, gid))
	case size < 0 || size > math.MaxUint32:
		return c.fail(fmt.Errorf("cpio: %s: size %d does not fit the newc format (max 4 GiB)", clean, size))
	case c.mtime < 0 || c.mtime > math.MaxUint32:
		return c.fail(fmt.Errorf("cpio: mtime %d out of range", c.mtime))
	case c.ino == math.MaxUint32:
		return c.fail(fmt.Errorf("cpio: too many entries"))
	}
	c.ino++
	if err := c.header(clean, c.ino, mode, uint32(uid), uint32(gid), nlink, uint32(size), rmaj, rmin); err != nil {
		return err
	}
	if size > 0 {
		n, err := io.CopyN(countWriter{c}, data, size)
		if err != nil {
			if c.err == nil {
				c.err = fmt.Errorf("cpio: %s: wrote %d of %d bytes: %w", clean, n, size, err)
			}
			return c.err
		}
	}
	return c.pad()
}

func (c *CpioWriter) header(name string, ino, mode, uid, gid, nlink, size, rmaj, rmin uint32) error {
	h := fmt.Sprintf("%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%s\x00", cpioMagic,
		ino, mode, uid, gid, nlink, uint32(c.mtime), size, 0, 0, rmaj, rmin, len(name)+1, 0, name)
	if err := c.write([]byte(h)); err != nil {
		return err
	}
	return c.pad()
}

func (c *CpioWriter) pad() error {
	if rem := c.off % 4; rem != 0 {
		return c.write(make([]byte, 4-rem))
	}
	return nil
}

func (c *CpioWriter) write(b []byte) error {
	if c.err != nil {
		return c.err
	}
	n, err := c.w.Write(b)
	c.off += int64(n)
	if err != nil {
		c.err = fmt.Errorf("cpio: write: %w", err)
	}
	return c.err
}

func (c *CpioWriter) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return c.err
}

// countWriter lets io.CopyN write through the CpioWriter's offset accounting.
type countWriter struct{ c *CpioWriter }

func (w countWriter) Write(b []byte) (int, error) {
	if err := w.c.write(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// archiveName turns "/a/b" into "a/b" and rejects names that are not clean relative paths.
func archiveName(name string) (string, error) {
	n := strings.TrimPrefix(name, "/")
	if n == "" || n == "." || n == cpioTrailer || path.Clean(n) != n || strings.HasPrefix(n, "../") ||
		n == ".." || strings.IndexByte(n, 0) >= 0 || len(n) >= maxCpioName {
		return "", fmt.Errorf("cpio: invalid entry path %q", name)
	}
	return n, nil
}

// permBits converts the permission, setuid, setgid and sticky bits of m to Unix mode bits.
func permBits(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}
