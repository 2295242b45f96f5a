package image

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const mathProgram = `#include <math.h>
#include <stdio.h>
int main(int argc, char **argv) { (void)argv; printf("%f\n", cos((double)argc)); return 0; }
`

const fooLibrary = `int foo(void) { return 42; }
`

const fooProgram = `int foo(void);
int main(void) { return foo() == 42 ? 0 : 1; }
`

const barLibrary = `int foo(void);
int bar(void) { return foo() + 1; }
`

const barProgram = `int bar(void);
int main(void) { return bar() == 43 ? 0 : 1; }
`

// fooLib builds libfoo.so.1.0 with soname libfoo.so.1 and the libfoo.so.1 symlink in dir.
func fooLib(t *testing.T, dir string) {
	t.Helper()
	cc(t, dir, "libfoo.so.1.0", fooLibrary, "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1")
	if err := os.Symlink("libfoo.so.1.0", filepath.Join(dir, "libfoo.so.1")); err != nil {
		t.Fatal(err)
	}
}

func TestLibraryClosure(t *testing.T) {
	app := t.TempDir()
	cc(t, app, "hello", mathProgram, "-Wl,--no-as-needed", "-lm")
	payload, res := mustBuild(t, BuildOptions{AppDir: app, StartCommand: "./hello"})
	entries, _ := readArchive(t, payload)
	m := res.Manifest
	if m.Interpreter != "/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("interpreter %q", m.Interpreter)
	}
	if e := entries[resolveIn(t, entries, m.Interpreter)]; !e.Mode.IsRegular() || e.Mode&0o111 == 0 || e.UID != 0 {
		t.Errorf("interpreter entry %+v", e.CpioEntry)
	}
	for _, lib := range []string{"libc.so.6", "libm.so.6"} {
		i := slices.IndexFunc(m.Libraries, func(p string) bool { return strings.HasSuffix(p, "/"+lib) })
		if i < 0 {
			t.Errorf("manifest libraries %v lack %s", m.Libraries, lib)
			continue
		}
		real := resolveIn(t, entries, m.Libraries[i])
		host, err := filepath.EvalSymlinks(m.Libraries[i])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(host)
		if e := entries[real]; !e.Mode.IsRegular() || string(e.data) != string(want) {
			t.Errorf("%s (%s) is not the host's %s", m.Libraries[i], real, host)
		}
	}
	if !slices.IsSorted(m.Libraries) || slices.Contains(m.Libraries, m.Interpreter) {
		t.Errorf("libraries %v: want sorted, without the interpreter", m.Libraries)
	}
	if _, ok := m.Env["LD_LIBRARY_PATH"]; ok {
		t.Errorf("LD_LIBRARY_PATH set for default directories: %v", m.Env)
	}
}

func TestMissingLibrary(t *testing.T) {
	libDir := t.TempDir()
	fooLib(t, libDir)
	app := t.TempDir()
	cc(t, app, "hello", fooProgram, "-L"+libDir, "-l:libfoo.so.1")
	opts := BuildOptions{AppDir: app, StartCommand: "./hello"}
	_, _, err := build(t, opts)
	var me *MissingLibraryError
	if !errors.As(err, &me) || !errors.Is(err, ErrMissingLibrary) {
		t.Fatalf("error = %v, want a MissingLibraryError", err)
	}
	if me.Library != "libfoo.so.1" || me.Program != "./hello" || me.NeededBy != "" || !slices.Contains(me.Searched, "/usr/lib/x86_64-linux-gnu") {
		t.Errorf("error %+v", me)
	}
	if !strings.HasPrefix(err.Error(), "./hello needs libfoo.so.1, not found in: ") {
		t.Errorf("message %q", err)
	}

	opts.LibraryDirs = []string{libDir}
	payload, res := mustBuild(t, opts)
	entries, _ := readArchive(t, payload)
	link := filepath.Join(libDir, "libfoo.so.1")
	if e := entries[link]; e.Linkname != "libfoo.so.1.0" {
		t.Errorf("%s: %+v, want the symlink kept", link, e.CpioEntry)
	}
	if e := entries[link+".0"]; !e.Mode.IsRegular() {
		t.Errorf("%s.0 missing", link)
	}
	if !slices.Contains(res.Manifest.Libraries, link) {
		t.Errorf("libraries %v lack %s", res.Manifest.Libraries, link)
	}
	if got := res.Manifest.Env["LD_LIBRARY_PATH"]; got != libDir {
		t.Errorf("LD_LIBRARY_PATH = %q, want %q", got, libDir)
	}
}

func TestMissingLibraryThroughLibrary(t *testing.T) {
	fooDir := t.TempDir()
	fooLib(t, fooDir)
	app := t.TempDir()
	cc(t, app, "lib/libbar.so", barLibrary, "-shared", "-fPIC", "-L"+fooDir, "-l:libfoo.so.1")
	cc(t, app, "hello", barProgram, "-L"+filepath.Join(app, "lib"), "-lbar", "-Wl,-rpath,$ORIGIN/lib", "-Wl,-rpath-link,"+fooDir)
	_, _, err := build(t, BuildOptions{AppDir: app, StartCommand: "./hello"})
	var me *MissingLibraryError
	if !errors.As(err, &me) || me.Library != "libfoo.so.1" || me.NeededBy != "/home/vcap/app/lib/libbar.so" {
		t.Fatalf("error = %v (%+v)", err, me)
	}
	if !strings.Contains(err.Error(), "(through /home/vcap/app/lib/libbar.so)") {
		t.Errorf("message %q", err)
	}
	// The app-relative LibraryDirs form maps to the guest app directory.
	copyFile(t, filepath.Join(fooDir, "libfoo.so.1.0"), filepath.Join(app, "vendor/libfoo.so.1"), 0o755)
	_, res := mustBuild(t, BuildOptions{AppDir: app, StartCommand: "./hello", LibraryDirs: []string{"vendor"}})
	if got := res.Manifest.Env["LD_LIBRARY_PATH"]; got != "/home/vcap/app/vendor" {
		t.Errorf("LD_LIBRARY_PATH = %q", got)
	}
}

func TestRunpathOrigin(t *testing.T) {
	for _, tc := range []struct{ name, dtags string }{
		{"RUNPATH", "-Wl,--enable-new-dtags"}, {"RPATH", "-Wl,--disable-new-dtags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := t.TempDir()
			fooLib(t, filepath.Join(app, "lib"))
			cc(t, app, "bin/hello", fooProgram, "-L"+filepath.Join(app, "lib"), "-l:libfoo.so.1", tc.dtags, "-Wl,-rpath,${ORIGIN}/../lib")
			obj, err := readObject(filepath.Join(app, "bin/hello"), "hello")
			if err != nil || (tc.name == "RUNPATH") != obj.hasRunpath {
				t.Fatalf("readObject: %+v, %v", obj, err)
			}
			payload, res := mustBuild(t, BuildOptions{AppDir: app, StartCommand: "hello"})
			if !slices.Contains(res.Manifest.Libraries, "/home/vcap/app/lib/libfoo.so.1") {
				t.Errorf("libraries %v lack /home/vcap/app/lib/libfoo.so.1", res.Manifest.Libraries)
			}
			if _, ok := res.Manifest.Env["LD_LIBRARY_PATH"]; ok {
				t.Errorf("LD_LIBRARY_PATH set: %v", res.Manifest.Env)
			}
			entries, _ := readArchive(t, payload)
			for p := range entries {
				if strings.Contains(p, "libfoo") && !strings.HasPrefix(p, GuestAppDir+"/") {
					t.Errorf("app library copied outside the app: %s", p)
				}
			}
		})
	}
}

func TestSysRootAndLdSoConf(t *testing.T) {
	// A system root with the host's loader and libc, /etc/ld.so.conf including a directory with
	// libfoo, and a wrong-architecture libfoo earlier in the search that must be skipped.
	root := t.TempDir()
	for _, p := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"} {
		host, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatal(err)
		}
		copyFile(t, host, filepath.Join(root, "usr/lib/x86_64-linux-gnu", filepath.Base(p)), 0o755)
	}
	writeFiles(t, root, map[string]string{
		"lib":                        "->usr/lib",
		"lib64/ld-linux-x86-64.so.2": "->/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"etc/ld.so.conf":             "# comment\ninclude ld.so.conf.d/*.conf\n",
		"etc/ld.so.conf.d/a.conf":    "/opt/arm/lib\n/opt/foo/lib # foo\n",
		"etc/ld.so.conf.d/skip.txt":  "/nowhere\n",
	})
	fakeELF(t, filepath.Join(root, "opt/arm/lib/libfoo.so.1"), 2, 183)
	fooDir := filepath.Join(root, "opt/foo/lib")
	if err := os.MkdirAll(fooDir, 0o755); err != nil {
		t.Fatal(err)
	}
	fooLib(t, fooDir)
	app := t.TempDir()
	cc(t, app, "hello", fooProgram, "-L"+fooDir, "-l:libfoo.so.1")
	payload, res := mustBuild(t, BuildOptions{AppDir: app, StartCommand: "./hello", SysRoot: root})
	entries, _ := readArchive(t, payload)
	if got := res.Manifest.Env["LD_LIBRARY_PATH"]; got != "/opt/foo/lib" {
		t.Errorf("LD_LIBRARY_PATH = %q", got)
	}
	if _, ok := entries["/opt/arm/lib/libfoo.so.1"]; ok {
		t.Error("wrong-architecture library copied")
	}
	for _, p := range []string{"/opt/foo/lib/libfoo.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"} {
		if real := resolveIn(t, entries, p); !entries[real].Mode.IsRegular() {
			t.Errorf("%s does not resolve to a file", p)
		}
	}
	if entries["/lib"].Linkname != "usr/lib" {
		t.Errorf("/lib = %+v, want the system root's symlink", entries["/lib"].CpioEntry)
	}
	if _, ok := entries["/nowhere"]; ok {
		t.Error("non-.conf include read")
	}
}

func TestMissingInterpreter(t *testing.T) {
	app := t.TempDir()
	cc(t, app, "hello", mathProgram, "-lm")
	_, _, err := build(t, BuildOptions{AppDir: app, StartCommand: "./hello", SysRoot: t.TempDir()})
	if !errors.Is(err, ErrMissingLibrary) || !strings.Contains(err.Error(), "ELF interpreter /lib64/ld-linux-x86-64.so.2") {
		t.Errorf("error = %v", err)
	}
}
