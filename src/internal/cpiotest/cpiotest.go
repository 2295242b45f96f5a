// Package cpiotest writes newc cpio archives entry by entry exactly as told, for tests that
// need what a well-behaved writer (image.CpioWriter) refuses to write: hard-link groups,
// unclean names, device nodes of any number, truncated or lying entries. A hostile payload is
// such an archive.
package cpiotest

import (
	"bytes"
	"fmt"
)

// File types with default permissions, for Entry.Mode.
const (
	Dir     = 0o040755
	File    = 0o100644
	Exec    = 0o100755
	Symlink = 0o120777
	CharDev = 0o020600
	Fifo    = 0o010644
)

// Entry is one archive entry, written as is.
type Entry struct {
	Name   string
	Mode   uint32 // type and permission bits
	NLink  uint32 // 0: 1
	Ino    uint32 // 0: the entry's position
	UID    uint32 // also the gid
	Data   string // content, or the symlink's target
	Major  uint32 // device number
	LieLen int    // claimed data size beyond len(Data)
	Cut    bool   // end the archive after this entry's data: no padding, no trailer
}

// Archive returns the entries as one archive with its trailer (unless an entry is Cut),
// padded to 4 bytes like the kernel expects.
func Archive(entries ...Entry) []byte {
	var b bytes.Buffer
	for i, e := range entries {
		nlink, ino := e.NLink, e.Ino
		if nlink == 0 {
			nlink = 1
		}
		if ino == 0 {
			ino = uint32(i + 1)
		}
		header(&b, e.Name, ino, e.Mode, e.UID, nlink, len(e.Data)+e.LieLen, e.Major)
		b.WriteString(e.Data)
		if e.Cut {
			return b.Bytes()
		}
		pad(&b)
	}
	header(&b, "TRAILER!!!", 0, 0, 0, 1, 0, 0)
	return b.Bytes()
}

func header(b *bytes.Buffer, name string, ino, mode, uid, nlink uint32, size int, major uint32) {
	fmt.Fprintf(b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%s\x00",
		ino, mode, uid, uid, nlink, 0, size, 0, 0, major, 0, len(name)+1, 0, name)
	pad(b)
}

func pad(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}
