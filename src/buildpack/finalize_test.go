package buildpack

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/droplet"
	"github.com/unik-cf/unik/src/image"
)

func finalize(t *testing.T, d Dirs) (image.Result, string, error) {
	t.Helper()
	var out bytes.Buffer
	res, err := Finalize(context.Background(), d, FinalizeOptions{InitPath: staticELF(t), Environ: []string{"PATH=/nonexistent"},
		Version: "test", Stdout: &out, Stderr: &out})
	return res, out.String(), err
}

func TestFinalizeBinaryApp(t *testing.T) {
	d := testDirs(t)
	files(t, d.Build, map[string]string{"x:server": "elf", "lib/": "", "README": "hi", ".unik/payload.cpio": "stale", ".unik-deps/x": "stale"})
	res, log, err := finalize(t, d)
	if err != nil {
		t.Fatalf("Finalize: %v\n%s", err, log)
	}
	if res.Manifest.StartCommand != "./server" || res.Manifest.Program != "/home/vcap/app/server" {
		t.Errorf("manifest %+v", res.Manifest)
	}
	got, err := droplet.VerifyApp(d.Build)
	if err != nil || got.Digest != res.Digest {
		t.Fatalf("VerifyApp = %+v, %v", got, err)
	}
	for _, w := range []string{"removed ./.unik from the pushed app", "removed ./.unik-deps", "start command: ./server (from the only program",
		"program: /home/vcap/app/server (static)", "digest: " + res.Digest} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	// finalize again: .unik is not part of the image, so the digest is the same
	again, log, err := finalize(t, d)
	if err != nil || again.Digest != res.Digest {
		t.Errorf("second Finalize: %s, %v (first %s)\n%s", again.Digest, err, res.Digest, log)
	}
	var rel bytes.Buffer
	if err := Release(d.Build, &rel); err != nil || rel.String() != "---\ndefault_process_types:\n  web: \"./server\"\n" {
		t.Errorf("Release = %q, %v", rel.String(), err)
	}
}

// A program only a supply buildpack provides, named bare in the Procfile, is linked into
// bin/ so the image builder and guest init find it; the deps' bin and lib become the image's.
func TestFinalizeProgramFromDeps(t *testing.T) {
	d := testDirs(t)
	files(t, d.Build, map[string]string{"Procfile": "web: server --port $PORT\n"})
	files(t, d.Deps, map[string]string{"x:0/bin/server": "elf", "0/lib/": ""})
	res, log, err := finalize(t, d)
	if err != nil {
		t.Fatalf("Finalize: %v\n%s", err, log)
	}
	if target, err := os.Readlink(filepath.Join(d.Build, "bin", "server")); err != nil || target != "../.unik-deps/0/bin/server" {
		t.Errorf("bin/server -> %q, %v", target, err)
	}
	m := res.Manifest
	if m.StartCommand != "server --port $PORT" || m.Env["DEPS_DIR"] != "/home/vcap/app/.unik-deps" ||
		!strings.HasPrefix(m.Env["PATH"], "/home/vcap/app/.unik-deps/0/bin:") {
		t.Errorf("manifest %+v", m)
	}
}

func TestFinalizeNoStartCommand(t *testing.T) {
	cases := map[string]map[string]string{
		"nothing":           {"data.txt": "x"},
		"no web line":       {"Procfile": "worker: ./w\n", "w": "elf"},
		"several programs":  {"x:a": "elf", "x:b": "elf"},
		"go package is lib": {"go.mod": "module example.com/x\n\ngo 1.22\n", "x.go": "package x\n"},
	}
	wants := map[string]string{"nothing": "no Procfile and no executable", "no web line": "the Procfile has no web: line",
		"several programs": "several programs at the top of the app (a, b)", "go package is lib": "no Go toolchain"}
	for name, fs := range cases {
		t.Run(name, func(t *testing.T) {
			d := testDirs(t)
			files(t, d.Build, fs)
			_, log, err := finalize(t, d)
			if err == nil || !strings.Contains(err.Error(), wants[name]) {
				t.Fatalf("Finalize: %v, want %q\n%s", err, wants[name], log)
			}
			if _, err := os.Stat(droplet.Layout{AppDir: d.Build}.Image()); err == nil {
				t.Error("image.json written despite the failure")
			}
		})
	}
}

func TestFinalizeImageErrors(t *testing.T) {
	d := testDirs(t)
	files(t, d.Build, map[string]string{"Procfile": "web: ./missing\n"})
	if _, _, err := finalize(t, d); !errors.Is(err, image.ErrProgramNotFound) {
		t.Errorf("missing program: %v", err)
	}
	if _, err := Finalize(context.Background(), d, FinalizeOptions{}); err == nil {
		t.Error("Finalize without options passed")
	}
	if _, err := Finalize(context.Background(), Dirs{Build: d.Build}, FinalizeOptions{InitPath: "x", Stdout: os.Stdout, Stderr: os.Stderr}); !errors.Is(err, ErrUsage) {
		t.Errorf("Finalize without the cache dir: %v", err)
	}
}

func TestReleaseWithoutImage(t *testing.T) {
	if err := Release(t.TempDir(), &bytes.Buffer{}); !errors.Is(err, droplet.ErrNoImage) {
		t.Errorf("Release: %v, want ErrNoImage", err)
	}
}
