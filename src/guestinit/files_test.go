package guestinit

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestValidateFiles(t *testing.T) {
	ok := []File{{Path: "/etc/cf-instance-credentials/instance.key", Mode: 0o600, Data: []byte("k")}}
	if err := ValidateFiles(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    File
		want string
	}{
		{File{Path: "etc/x"}, "clean absolute"},
		{File{Path: "/etc/../unik/config.json"}, "clean absolute"},
		{File{Path: "/unik/config.json"}, "init's"},
		{File{Path: "/proc/sys/kernel/x"}, "init's"},
		{File{Path: "/"}, "clean absolute"},
		{File{Path: "/etc/x", Owner: "nobody"}, "owner"},
		{File{Path: "/etc/x", Mode: 0o4755}, "mode"},
		{File{Path: "/etc/x", Data: make([]byte, MaxFilesBytes+1)}, "more than"},
	} {
		if err := ValidateFiles([]File{tc.f}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.f.Path, err, tc.want)
		}
	}
}

// TestWriteFilesReplacesAtomically: owner and mode as asked, a second write replaces the
// content (rotation), and a symlink planted at the target is replaced, not followed.
func TestWriteFilesReplacesAtomically(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test chowns files to vcap (uid 2000): run it as root, as CI does")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "creds", "instance.key")
	if err := writeFiles([]File{{Path: target, Mode: 0o600, Data: []byte("one")}}); err != nil {
		t.Fatal(err)
	}
	check := func(want string, uid uint32, mode os.FileMode) {
		t.Helper()
		fi, err := os.Lstat(target)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		b, _ := os.ReadFile(target)
		if string(b) != want || st.Uid != uid || fi.Mode().Perm() != mode || !fi.Mode().IsRegular() {
			t.Fatalf("%s: %q uid %d mode %v, want %q uid %d mode %v", target, b, st.Uid, fi.Mode(), want, uid, mode)
		}
	}
	check("one", 2000, 0o600)
	if err := writeFiles([]File{{Path: target, Owner: "root", Data: []byte("two")}}); err != nil {
		t.Fatal(err)
	}
	check("two", 0, 0o400)
	outside := filepath.Join(dir, "outside")
	if err := os.WriteFile(outside, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, target); err != nil {
		t.Fatal(err)
	}
	if err := writeFiles([]File{{Path: target, Data: []byte("three")}}); err != nil {
		t.Fatal(err)
	}
	check("three", 2000, 0o400)
	if b, _ := os.ReadFile(outside); string(b) != "untouched" {
		t.Fatalf("the write followed a planted symlink: %q", b)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "creds", ".unik-file-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}
