package buildpack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// files creates files under dir: "x:" marks executables, content "->T" a symlink to T,
// "elf" the static program, a name ending in "/" a directory.
func files(t *testing.T, dir string, m map[string]string) string {
	t.Helper()
	for name, content := range m {
		mode := os.FileMode(0o644)
		if n, ok := strings.CutPrefix(name, "x:"); ok {
			name, mode = n, 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(content[2:], p)
		case content == "elf":
			var b []byte
			if b, err = os.ReadFile(staticELF(t)); err == nil {
				err = os.WriteFile(p, b, mode)
			}
		default:
			err = os.WriteFile(p, []byte(content), mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
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
