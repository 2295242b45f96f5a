package buildpack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStagingEnv(t *testing.T) {
	d := testDirs(t)
	files(t, d.Deps, map[string]string{
		"0/bin/": "", "0/lib/": "", "0/env/GOROOT": "/deps/0/go\n", "0/env/dir/": "",
		"2/include/": "", "2/pkgconfig/": "", "2/bin/": "",
		"1/bin/": "", // our own index: not a supplier
	})
	deps, err := supplied(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 2 || deps[0].index != "0" || deps[1].index != "2" {
		t.Fatalf("supplied = %+v", deps)
	}
	env, err := stagingEnv(environ{"PATH=/usr/bin:/bin", "LD_LIBRARY_PATH="}, d.Deps, deps)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PATH":            filepath.Join(d.Deps, "0/bin") + ":" + filepath.Join(d.Deps, "2/bin") + ":/usr/bin:/bin",
		"LD_LIBRARY_PATH": filepath.Join(d.Deps, "0/lib"),
		"CPATH":           filepath.Join(d.Deps, "2/include"),
		"PKG_CONFIG_PATH": filepath.Join(d.Deps, "2/pkgconfig"),
		"GOROOT":          "/deps/0/go",
		"DEPS_DIR":        d.Deps,
	}
	for k, v := range want {
		if got, _ := env.get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestVendorDeps(t *testing.T) {
	d := testDirs(t)
	rootfsFile := filepath.Join(t.TempDir(), "libz.so.1")
	files(t, filepath.Dir(rootfsFile), map[string]string{"libz.so.1": "zlib"})
	dep0 := filepath.Join(d.Deps, "0")
	files(t, d.Deps, map[string]string{
		"0/config.yml": "name: x\n", "0/launch.yml": "processes: []\n", "0/env/X": "1", "0/profile.d/x.sh": "export X=1\n",
		"0/pkg/lib/libgreet.so": "greet", "x:0/bin/server": "elf",
		"0/lib/libgreet.so": "->" + filepath.Join(dep0, "pkg/lib/libgreet.so"), // absolute, into deps
		"0/lib/libz.so.1":   "->" + rootfsFile,                                 // absolute, into the rootfs: copied
		"0/lib/rel.so":      "->../pkg/lib/libgreet.so",                        // relative: kept
		"0/lib/rootdir":     "->/usr",                                          // a directory outside: dropped
		"0/lib/dangling":    "->/nonexistent/x",
		"2/config.yml":      "name: metadata only\n",
	})
	if err := os.MkdirAll(filepath.Join(d.Deps, "2"), 0o755); err != nil {
		t.Fatal(err)
	}
	deps, err := supplied(d)
	if err != nil {
		t.Fatal(err)
	}
	log, out := testLogger()
	vendored, err := vendorDeps(log, d, deps)
	if err != nil {
		t.Fatal(err)
	}
	if len(vendored) != 1 || vendored[0].index != "0" {
		t.Fatalf("vendored %+v, want deps 0 only", vendored)
	}
	v := filepath.Join(d.Build, VendorDir, "0")
	for _, gone := range []string{"config.yml", "launch.yml", "env", "profile.d", "lib/rootdir", "lib/dangling"} {
		if _, err := os.Lstat(filepath.Join(v, gone)); err == nil {
			t.Errorf("%s was copied", gone)
		}
	}
	links := map[string]string{"lib/libgreet.so": "../pkg/lib/libgreet.so", "lib/rel.so": "../pkg/lib/libgreet.so"}
	for name, want := range links {
		if got, err := os.Readlink(filepath.Join(v, name)); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", name, got, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(v, "lib/libz.so.1")); err != nil || string(b) != "zlib" {
		t.Errorf("libz.so.1 not copied: %q %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(v, "bin/server")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/server: %v %v", fi, err)
	}
	for _, w := range []string{"profile.d scripts", "rootdir -> /usr", "dangling -> /nonexistent/x: the target does not exist"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
}

func TestFindGo(t *testing.T) {
	d := testDirs(t)
	pathDir := files(t, t.TempDir(), map[string]string{"x:go": "#!/bin/sh\n"})
	env := environ{"PATH=relative:" + pathDir}
	if got, err := findGo(nil, env); err != nil || got != filepath.Join(pathDir, "go") {
		t.Errorf("findGo from PATH = %q, %v", got, err)
	}
	files(t, d.Deps, map[string]string{"x:0/go1.26.8/go/bin/go": "#!/bin/sh\n", "0/go1.0/bin/go": "not executable"})
	deps, _ := supplied(d)
	if got, err := findGo(deps, env); err != nil || got != filepath.Join(d.Deps, "0/go1.26.8/go/bin/go") {
		t.Errorf("findGo from deps = %q, %v", got, err)
	}
	if _, err := findGo(nil, environ{"PATH=/nonexistent"}); err == nil || !strings.Contains(err.Error(), "no Go toolchain") {
		t.Errorf("findGo without Go: %v", err)
	}
}

func TestBinaryName(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/hello-go": "hello-go", "example.com/x/v2": "x", "example.com/x/cmd/server": "server",
		"hello": "hello", "v3": "v3", "example.com/wéird": "app",
	} {
		if got := binaryName(in); got != want {
			t.Errorf("binaryName(%q) = %q, want %q", in, got, want)
		}
	}
}
