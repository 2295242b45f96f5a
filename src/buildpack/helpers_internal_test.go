package buildpack

import (
	"bytes"
	"github.com/unik-cf/unik/src/internal/filetree"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	elfOnce sync.Once
	elfPath string
	elfErr  error
)

// staticELF returns a small static x86-64 program (built once per test run).
func staticELF(t *testing.T) string {
	t.Helper()
	elfOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bp-elf-")
		if err != nil {
			elfErr = err
			return
		}
		if elfErr = os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); elfErr != nil {
			return
		}
		elfPath = filepath.Join(dir, "static")
		cmd := exec.Command("go", "build", "-o", elfPath, "main.go")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=", "GO111MODULE=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			elfErr = &exec.Error{Name: "go build (needs go on PATH): " + string(out), Err: err}
		}
	})
	if elfErr != nil {
		t.Fatalf("build the static test program: %v", elfErr)
	}
	return elfPath
}

// files creates files under dir as filetree.Write does; content "elf" is the static program.
func files(t *testing.T, dir string, m map[string]string) string {
	t.Helper()
	rest := map[string]string{}
	for name, content := range m {
		if content != "elf" {
			rest[name] = content
			continue
		}
		b, err := os.ReadFile(staticELF(t))
		if err != nil {
			t.Fatal(err)
		}
		rest[name] = string(b)
	}
	filetree.Write(t, dir, rest)
	return dir
}

// testDirs makes the lifecycle's directories with this buildpack at index 1.
func testDirs(t *testing.T) Dirs {
	t.Helper()
	root := t.TempDir()
	d := Dirs{Build: filepath.Join(root, "app"), Cache: filepath.Join(root, "cache"), Deps: filepath.Join(root, "deps"),
		Index: "1", Profile: filepath.Join(root, "profile.d")}
	for _, p := range []string{d.Build, d.Cache, d.DepDir(), filepath.Join(d.Deps, "0"), d.Profile} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func testLogger() (logger, *bytes.Buffer) {
	var b bytes.Buffer
	return logger{out: &b, err: &b}, &b
}
