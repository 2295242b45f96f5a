package image

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/unik-cf/unik/src/internal/filetree"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// staticELF is a static x86-64 program built once for the whole test run (TestMain); tests
// use it as the fake init and as a static app program.
var staticELF string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	staticELF = filepath.Join(dir, "static")
	cmd := exec.Command("go", "build", "-o", staticELF, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the static test program (needs the go command in PATH): %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// writeFiles creates files under dir (see filetree.Write for the map's conventions).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	filetree.Write(t, dir, files)
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}

// staticApp returns an app directory holding the static program as "hello" and a Procfile.
func staticApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, staticELF, filepath.Join(dir, "hello"), 0o755)
	writeFiles(t, dir, map[string]string{"Procfile": "web: ./hello\n"})
	return dir
}

func build(t *testing.T, opts BuildOptions) ([]byte, Result, error) {
	t.Helper()
	if opts.InitPath == "" {
		opts.InitPath = staticELF
	}
	var buf bytes.Buffer
	res, err := Build(context.Background(), opts, &buf)
	return buf.Bytes(), res, err
}

func mustBuild(t *testing.T, opts BuildOptions) ([]byte, Result) {
	t.Helper()
	b, res, err := build(t, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return b, res
}

// archiveEntry is an entry read back from a payload.
type archiveEntry struct {
	CpioEntry
	data []byte
}

// readArchive parses a payload into its entries by guest path ("/x"), in order.
func readArchive(t *testing.T, payload []byte) (map[string]archiveEntry, []string) {
	t.Helper()
	entries := map[string]archiveEntry{}
	var order []string
	r := NewCpioReader(bytes.NewReader(payload))
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return entries, order
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read %s: %v", e.Path, err)
		}
		p := "/" + e.Path
		entries[p] = archiveEntry{CpioEntry: *e, data: data}
		order = append(order, p)
	}
}

// resolveIn follows symlinks through p inside the archive and returns the real entry path.
func resolveIn(t *testing.T, entries map[string]archiveEntry, p string) string {
	t.Helper()
	rest := strings.Split(p, "/")
	cur := "/"
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		e, ok := entries[next]
		if !ok {
			t.Fatalf("resolve %s in the archive: %s missing", p, next)
		}
		if e.Linkname == "" {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			t.Fatalf("resolve %s: symlink loop", p)
		}
		if path.IsAbs(e.Linkname) {
			cur = "/"
		}
		rest = append(strings.Split(e.Linkname, "/"), rest...)
	}
	return cur
}

// fakeELF writes a 64-byte ELF header for the given class and machine, without segments.
func fakeELF(t *testing.T, p string, class byte, machine uint16) {
	t.Helper()
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = class, 1, 1           // class, little endian, version
	binary.LittleEndian.PutUint16(h[16:], 3) // ET_DYN
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, h, 0o755); err != nil {
		t.Fatal(err)
	}
}

// cc compiles C source with the host compiler; the tests need it (gcc is part of the
// development machine set-up).
func cc(t *testing.T, dir, out, src string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Fatalf("this test needs a C compiler (cc) to build dynamically linked programs: %v", err)
	}
	srcPath := filepath.Join(t.TempDir(), "src.c")
	if err := os.WriteFile(srcPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, out)
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cc", append([]string{"-O1", "-o", outPath, srcPath}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", out, err, b)
	}
	return outPath
}
