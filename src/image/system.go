package image

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// System files of the image. The per-instance config (hostname, resolv.conf, ...) is not here:
// the engine adds it as a further cpio segment.
const (
	etcPasswd = "root:x:0:0:root:/:/nonexistent\n" +
		"vcap:x:2000:2000:vcap:/home/vcap/app:/nonexistent\n"
	etcGroup      = "root:x:0:\nvcap:x:2000:\n"
	etcNsswitch   = "passwd: files\ngroup: files\nhosts: files dns\n"
	etcHosts      = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	consoleMajor  = 5
	consoleMinor  = 1
	devNullMajor  = 1
	devNullMinor  = 3
	permDirectory = 0o755
	permFile      = 0o644
)

// systemEntry is one entry of the system part of every image.
type systemEntry struct {
	path         string
	kind         entryKind
	mode         fs.FileMode
	uid          int
	data         string
	major, minor uint32
}

// systemEntries are the mount points, system files and device nodes, parents first; /init
// comes on top.
func systemEntries() []systemEntry {
	return []systemEntry{
		{path: "/dev", kind: kindDir, mode: permDirectory}, {path: "/proc", kind: kindDir, mode: 0o555},
		{path: "/sys", kind: kindDir, mode: 0o555}, {path: "/tmp", kind: kindDir, mode: 0o777 | fs.ModeSticky},
		{path: "/run", kind: kindDir, mode: permDirectory}, {path: "/etc", kind: kindDir, mode: permDirectory},
		{path: "/unik", kind: kindDir, mode: permDirectory},
		{path: "/etc/passwd", kind: kindFile, mode: permFile, data: etcPasswd},
		{path: "/etc/group", kind: kindFile, mode: permFile, data: etcGroup},
		{path: "/etc/nsswitch.conf", kind: kindFile, mode: permFile, data: etcNsswitch},
		{path: "/etc/hosts", kind: kindFile, mode: permFile, data: etcHosts},
		{path: "/dev/console", kind: kindCharDev, mode: 0o600, major: consoleMajor, minor: consoleMinor},
		{path: "/dev/null", kind: kindCharDev, mode: 0o666, major: devNullMajor, minor: devNullMinor},
	}
}

// addSystem adds init, the system files, the mount points, the device nodes and the app's home.
func addSystem(t *tree, initPath string, initInfo fs.FileInfo) error {
	for _, d := range []struct {
		path string
		uid  int
	}{{"/home", 0}, {"/home/vcap", VcapUID}} {
		if err := t.add(d.path, &entry{kind: kindDir, mode: permDirectory, uid: d.uid, gid: d.uid}); err != nil {
			return err
		}
	}
	for _, s := range systemEntries() {
		e := &entry{kind: s.kind, mode: s.mode, major: s.major, minor: s.minor}
		if s.kind == kindFile {
			e.data, e.size = []byte(s.data), int64(len(s.data))
		}
		if err := t.add(s.path, e); err != nil {
			return err
		}
	}
	if err := t.add(GuestInit, &entry{kind: kindFile, mode: 0o755, host: initPath, size: initInfo.Size()}); err != nil {
		return fmt.Errorf("add init: %w", err)
	}
	return nil
}

// WriteSystem writes the cell's part of every guest to cw: the mount points (/dev, /proc, /sys,
// /tmp, /run), /etc, /unik, the system files (/etc/passwd, /etc/group, /etc/nsswitch.conf,
// /etc/hosts), the console device nodes and the guest init at /init, read from init (size
// bytes), all owned by root. The engine writes it as a segment after a sanitized payload (see
// Sanitize), which holds none of these but the directories, so the kernel creates each of them
// afresh, and /init is the cell's whatever the payload held.
func WriteSystem(cw *CpioWriter, init io.Reader, size int64) error {
	for _, s := range systemEntries() {
		var err error
		switch s.kind {
		case kindDir:
			err = cw.WriteDir(s.path, s.mode, s.uid, s.uid)
		case kindFile:
			err = cw.WriteFile(s.path, s.mode, s.uid, s.uid, strings.NewReader(s.data), int64(len(s.data)))
		case kindCharDev:
			err = cw.WriteDevice(s.path, s.mode, s.major, s.minor)
		}
		if err != nil {
			return fmt.Errorf("system segment: %w", err)
		}
	}
	if err := cw.WriteFile(GuestInit, 0o755, 0, 0, init, size); err != nil {
		return fmt.Errorf("system segment: init: %w", err)
	}
	return nil
}
