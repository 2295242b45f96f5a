package image

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// CpioEntry is the header of one entry read by CpioReader.
type CpioEntry struct {
	Path     string // as stored, without a leading "/"
	Mode     fs.FileMode
	UID, GID int
	NLink    uint32
	Inode    uint32
	MTime    int64
	Size     int64  // data size; for a symlink the length of Linkname
	Linkname string // symlink target
	Major    uint32 // device number of a device node
	Minor    uint32
}

// CpioReader reads newc cpio archives, including several concatenated archives separated by
// zero padding (as the kernel accepts for initramfs). It is the inverse of CpioWriter.
type CpioReader struct {
	r      *bufio.Reader
	off    int64
	remain int64 // unread data bytes of the current entry
	pad    int64 // padding after the current entry's data
	err    error
}

// NewCpioReader returns a reader of the cpio archive(s) in r.
func NewCpioReader(r io.Reader) *CpioReader {
	return &CpioReader{r: bufio.NewReader(r)}
}

// Next advances to the next entry, skipping the data of the current one. It returns io.EOF
// at the end of the input and an error wrapping ErrCorruptPayload on a malformed archive.
func (c *CpioReader) Next() (*CpioEntry, error) {
	if c.err != nil {
		return nil, c.err
	}
	e, err := c.next()
	if err != nil {
		c.err = err
	}
	return e, err
}

// Read reads the data of the current entry.
func (c *CpioReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.r.Read(p)
	c.off += int64(n)
	c.remain -= int64(n)
	if err == io.EOF && c.remain > 0 {
		c.err = c.corrupt("truncated entry data")
		return n, c.err
	}
	return n, nil
}

func (c *CpioReader) next() (*CpioEntry, error) {
	for {
		if err := c.skip(c.remain + c.pad); err != nil {
			return nil, err
		}
		c.remain, c.pad = 0, 0
		e, err := c.header()
		if err != nil || e != nil {
			return e, err
		}
		// nil, nil: a trailer or zero padding between archives; continue.
	}
}

// header reads one header. It returns nil, nil for a trailer or 4 bytes of zero padding.
func (c *CpioReader) header() (*CpioEntry, error) {
	start := c.off
	var magic [4]byte
	if n, err := io.ReadFull(c.r, magic[:]); err != nil {
		c.off += int64(n)
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, c.corrupt("truncated header")
	}
	c.off += 4
	if magic == [4]byte{} {
		return nil, nil
	}
	h := make([]byte, cpioHeaderLen)
	copy(h, magic[:])
	if err := c.full(h[4:]); err != nil {
		return nil, err
	}
	if m := string(h[:6]); m != cpioMagic && m != "070702" {
		return nil, c.corruptAt(start, fmt.Sprintf("bad magic %q (not a newc cpio archive)", m))
	}
	var f [13]uint32
	for i := range f {
		v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
		if err != nil {
			return nil, c.corruptAt(start, "malformed header field")
		}
		f[i] = uint32(v)
	}
	nameLen := int64(f[11])
	if nameLen < 1 || nameLen > maxCpioName {
		return nil, c.corruptAt(start, fmt.Sprintf("bad name size %d", nameLen))
	}
	name := make([]byte, nameLen)
	if err := c.full(name); err != nil {
		return nil, err
	}
	if name[nameLen-1] != 0 {
		return nil, c.corruptAt(start, "entry name not NUL-terminated")
	}
	if err := c.skip(pad4(c.off - start)); err != nil {
		return nil, err
	}
	e := &CpioEntry{
		Path: string(name[:nameLen-1]), Inode: f[0], Mode: fileMode(f[1]), UID: int(f[2]), GID: int(f[3]),
		NLink: f[4], MTime: int64(f[5]), Size: int64(f[6]), Major: f[9], Minor: f[10],
	}
	c.remain, c.pad = e.Size, pad4(e.Size)
	if e.Path == cpioTrailer {
		return nil, nil
	}
	if e.Mode&fs.ModeSymlink != 0 {
		if e.Size == 0 || e.Size >= maxCpioName {
			return nil, c.corruptAt(start, fmt.Sprintf("symlink %s has a bad target size %d", e.Path, e.Size))
		}
		target := make([]byte, e.Size)
		if err := c.full(target); err != nil {
			return nil, err
		}
		c.remain = 0
		e.Linkname = string(target)
	}
	return e, nil
}

func (c *CpioReader) full(b []byte) error {
	n, err := io.ReadFull(c.r, b)
	c.off += int64(n)
	if err != nil {
		return c.corrupt("truncated archive")
	}
	return nil
}

func (c *CpioReader) skip(n int64) error {
	if n == 0 {
		return nil
	}
	m, err := io.CopyN(io.Discard, c.r, n)
	c.off += m
	if err != nil {
		return c.corrupt("truncated archive")
	}
	return nil
}

func (c *CpioReader) corrupt(what string) error { return c.corruptAt(c.off, what) }

func (c *CpioReader) corruptAt(off int64, what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrCorruptPayload, what, off)
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }

// fileMode converts Unix mode bits to an fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & modeTypes {
	case modeDir:
		mode |= fs.ModeDir
	case modeSymlink:
		mode |= fs.ModeSymlink
	case modeCharDev:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		mode |= fs.ModeDevice
	case 0o010000:
		mode |= fs.ModeNamedPipe
	case 0o140000:
		mode |= fs.ModeSocket
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// ReadManifest reads a payload (or a payload with further cpio segments concatenated) up to
// the first /unik/manifest.json and decodes it. A payload without a manifest gives an error
// wrapping ErrNoManifest; a malformed archive or manifest one wrapping ErrCorruptPayload.
func ReadManifest(payload io.Reader) (Manifest, error) {
	cr := NewCpioReader(payload)
	for {
		e, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return Manifest{}, fmt.Errorf("read image manifest: %w", ErrNoManifest)
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("read image manifest: %w", err)
		}
		if strings.TrimPrefix(strings.TrimPrefix(e.Path, "./"), "/") != ManifestPath[1:] {
			continue
		}
		if !e.Mode.IsRegular() || e.Size > maxManifestSize {
			return Manifest{}, fmt.Errorf("read image manifest: %w: %s is not a regular file of at most %d bytes",
				ErrCorruptPayload, ManifestPath, maxManifestSize)
		}
		data, err := io.ReadAll(cr)
		if err != nil {
			return Manifest{}, fmt.Errorf("read image manifest: %w", err)
		}
		return decodeManifest(data)
	}
}
