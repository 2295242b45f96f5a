package image

import (
	"fmt"
	"io/fs"
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

// addSystem adds init, the system files, the mount points and the device nodes.
func addSystem(t *tree, initPath string, initInfo fs.FileInfo) error {
	dirs := []struct {
		path string
		mode fs.FileMode
		uid  int
	}{
		{"/dev", permDirectory, 0}, {"/proc", 0o555, 0}, {"/sys", 0o555, 0},
		{"/tmp", 0o777 | fs.ModeSticky, 0}, {"/run", permDirectory, 0}, {"/etc", permDirectory, 0},
		{"/home", permDirectory, 0}, {"/home/vcap", permDirectory, VcapUID}, {"/unik", permDirectory, 0},
	}
	for _, d := range dirs {
		if err := t.add(d.path, &entry{kind: kindDir, mode: d.mode, uid: d.uid, gid: d.uid}); err != nil {
			return err
		}
	}
	files := []struct{ path, data string }{
		{"/etc/passwd", etcPasswd}, {"/etc/group", etcGroup},
		{"/etc/nsswitch.conf", etcNsswitch}, {"/etc/hosts", etcHosts},
	}
	for _, f := range files {
		if err := t.addData(f.path, permFile, []byte(f.data)); err != nil {
			return err
		}
	}
	devs := []struct {
		path         string
		mode         fs.FileMode
		major, minor uint32
	}{
		{"/dev/console", 0o600, consoleMajor, consoleMinor},
		{"/dev/null", 0o666, devNullMajor, devNullMinor},
	}
	for _, d := range devs {
		if err := t.add(d.path, &entry{kind: kindCharDev, mode: d.mode, major: d.major, minor: d.minor}); err != nil {
			return err
		}
	}
	if err := t.add(GuestInit, &entry{kind: kindFile, mode: 0o755, host: initPath, size: initInfo.Size()}); err != nil {
		return fmt.Errorf("add init: %w", err)
	}
	return nil
}
