package buildpack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), Env{Args: args, Stdout: &out, Stderr: &errb, Version: "1.2.3", Executable: "/nonexistent/unik-buildpack"})
	return code, out.String(), errb.String()
}

func TestMainUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"compile", "x"}, {"detect"}, {"finalize", "a", "b", "c"}, {"supply", "a", "b", "c", "x"}} {
		if code, _, stderr := runMain(args...); code != 2 || !strings.Contains(stderr, "usage: unik-buildpack") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, out, _ := runMain("version"); code != 0 || out != "1.2.3\n" {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestMainDetect(t *testing.T) {
	app := files(t, t.TempDir(), map[string]string{"go.mod": "module x\n"})
	if code, out, stderr := runMain("detect", app); code != 0 || out != "" || !strings.Contains(stderr, "detected Go source app") {
		t.Errorf("detect Go app: %d %q %q", code, out, stderr)
	}
	code, out, stderr := runMain("detect", t.TempDir())
	if code != 1 || out != "" || !strings.Contains(stderr, "not a unik app") || strings.Contains(stderr, "ERROR") {
		t.Errorf("detect empty app: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := runMain("detect", "/nonexistent"); code != 1 || !strings.Contains(stderr, "**ERROR** detect: build directory") {
		t.Errorf("detect missing dir: %d %q", code, stderr)
	}
}

func TestMainSupplyFinalizeRelease(t *testing.T) {
	d := testDirs(t)
	if code, out, stderr := runMain("supply", d.Build, d.Cache, d.Deps, d.Index); code != 0 || !strings.Contains(out, "nothing to supply") {
		t.Fatalf("supply: %d %q %q", code, out, stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(d.DepDir(), "config.yml"))
	if err != nil || string(cfg) != "name: unik\nversion: \"1.2.3\"\nconfig: {}\n" {
		t.Errorf("config.yml = %q, %v", cfg, err)
	}
	files(t, d.Build, map[string]string{"x:server": "elf"})
	// the guest init is looked for next to the program: none there
	code, _, stderr := runMain("finalize", d.Build, d.Cache, d.Deps, d.Index, d.Profile)
	if code != 1 || !strings.Contains(stderr, "**ERROR**") || !strings.Contains(stderr, "the buildpack is incomplete: its guest init /nonexistent/unik-init") {
		t.Errorf("finalize without unik-init: %d %q", code, stderr)
	}
	if code, _, stderr := runMain("release", d.Build); code != 1 || !strings.Contains(stderr, "finalize did not run") {
		t.Errorf("release before finalize: %d %q", code, stderr)
	}
}
