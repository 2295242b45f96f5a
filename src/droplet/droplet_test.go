package droplet

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/unik-cf/unik/src/image"
)

// staticELF is a static x86-64 program built once (TestMain): the fake init and the app.
var staticELF string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "droplet-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	staticELF = filepath.Join(dir, "static")
	cmd := exec.Command("go", "build", "-o", staticELF, "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the static test program (needs go in PATH): %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// stage builds an app directory and its image the way the buildpack's finalize does.
func stage(t *testing.T) (appDir string, res image.Result) {
	t.Helper()
	appDir = t.TempDir()
	data, err := os.ReadFile(staticELF)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(appDir, "server"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(appDir, "Procfile"), []byte("web: ./server --port 8080\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "payload")
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	res, err = image.Build(context.Background(), image.BuildOptions{AppDir: appDir, InitPath: staticELF}, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(appDir, tmp, res); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Write left the temporary payload %s: %v", tmp, err)
	}
	return appDir, res
}

type tarEntry struct {
	name string
	data []byte
	typ  byte
}

// dropletOf archives an app directory's image files like the builder's `tar -czf ... -C contents .`.
func dropletOf(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: e.typ}
		switch e.typ {
		case 0:
			h.Typeflag = tar.TypeReg
		case tar.TypeDir:
			h.Mode, h.Size = 0o755, 0
		case tar.TypeSymlink:
			h.Linkname, h.Size = string(e.data), 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteAndVerifyApp(t *testing.T) {
	appDir, res := stage(t)
	l := Layout{AppDir: appDir}
	var rec map[string]any
	if err := json.Unmarshal(read(t, l.Image()), &rec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"manifest", "digest", "size"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("image.json lacks %q: %v", k, rec)
		}
	}
	got, err := VerifyApp(appDir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != res.Digest || got.Size != res.Size || got.Manifest.StartCommand != "./server --port 8080" {
		t.Errorf("VerifyApp = %+v, want %+v", got, res)
	}
	if fi, err := os.Stat(l.Payload()); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("payload: %v %v", fi, err)
	}
}

func TestVerifyAppErrors(t *testing.T) {
	appDir, _ := stage(t)
	l := Layout{AppDir: appDir}
	payload := read(t, l.Payload())
	payload[len(payload)/2] ^= 0xff
	if err := os.WriteFile(l.Payload(), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyApp(appDir); !errors.Is(err, ErrCorrupt) {
		t.Errorf("tampered payload: %v, want ErrCorrupt", err)
	}
	if _, err := VerifyApp(t.TempDir()); !errors.Is(err, ErrNoImage) {
		t.Errorf("app without .unik: %v, want ErrNoImage", err)
	}
}

func TestReadImage(t *testing.T) {
	appDir, res := stage(t)
	l := Layout{AppDir: appDir}
	payload, record := read(t, l.Payload()), read(t, l.Image())
	orders := map[string][]tarEntry{
		"payload first": {{name: "./", typ: tar.TypeDir}, {name: "./app/", typ: tar.TypeDir},
			{name: "./app/Procfile", data: []byte("web: ./server\n")}, {name: "./app/.unik/", typ: tar.TypeDir},
			{name: "./app/.unik/payload.cpio", data: payload}, {name: "./app/.unik/image.json", data: record},
			{name: "./staging_info.yml", data: []byte("{}")}},
		"record first, no ./ prefix": {{name: "app/.unik/image.json", data: record}, {name: "app/.unik/payload.cpio", data: payload}},
	}
	for name, entries := range orders {
		t.Run(name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "payload.cpio")
			got, err := ReadImage(bytes.NewReader(dropletOf(t, entries)), dst)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != res.Digest || got.Size != res.Size || got.Manifest.Program != res.Manifest.Program {
				t.Errorf("ReadImage = %+v, want %+v", got, res)
			}
			if !bytes.Equal(read(t, dst), payload) {
				t.Error("extracted payload differs")
			}
		})
	}
}

func TestReadImageFile(t *testing.T) {
	appDir, res := stage(t)
	l := Layout{AppDir: appDir}
	drop := filepath.Join(t.TempDir(), "droplet.tgz")
	data := dropletOf(t, []tarEntry{{name: "./app/.unik/payload.cpio", data: read(t, l.Payload())}, {name: "./app/.unik/image.json", data: read(t, l.Image())}})
	if err := os.WriteFile(drop, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadImageFile(drop, filepath.Join(t.TempDir(), "p"))
	if err != nil || got.Digest != res.Digest {
		t.Fatalf("ReadImageFile = %+v, %v", got, err)
	}
}

func TestReadImageErrors(t *testing.T) {
	appDir, _ := stage(t)
	l := Layout{AppDir: appDir}
	payload, record := read(t, l.Payload()), read(t, l.Image())
	var img Image
	if err := json.Unmarshal(record, &img); err != nil {
		t.Fatal(err)
	}
	reencode := func(f func(*Image)) []byte {
		c := img
		f(&c)
		b, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tampered := append([]byte(nil), payload...)
	tampered[100] ^= 1
	const p, r = "./app/.unik/payload.cpio", "./app/.unik/image.json"
	cases := []struct {
		name    string
		entries []tarEntry
		want    error
	}{
		{"no image at all", []tarEntry{{name: "./app/server", data: []byte("x")}}, ErrNoImage},
		{"payload only", []tarEntry{{name: p, data: payload}}, ErrNoImage},
		{"record only", []tarEntry{{name: r, data: record}}, ErrNoImage},
		{"tampered payload", []tarEntry{{name: p, data: tampered}, {name: r, data: record}}, ErrCorrupt},
		{"truncated payload", []tarEntry{{name: p, data: payload[:len(payload)-512]}, {name: r, data: record}}, ErrCorrupt},
		{"size differs", []tarEntry{{name: p, data: payload}, {name: r, data: reencode(func(i *Image) { i.Size++ })}}, ErrCorrupt},
		{"manifest differs", []tarEntry{{name: p, data: payload}, {name: r, data: reencode(func(i *Image) { i.Manifest.StartCommand = "./other" })}}, ErrCorrupt},
		{"bad digest syntax", []tarEntry{{name: p, data: payload}, {name: r, data: reencode(func(i *Image) { i.Digest = "md5:00" })}}, ErrCorrupt},
		{"record is not JSON", []tarEntry{{name: p, data: payload}, {name: r, data: []byte("{")}}, ErrCorrupt},
		{"payload is a symlink", []tarEntry{{name: p, data: []byte("/etc/passwd"), typ: tar.TypeSymlink}, {name: r, data: record}}, ErrCorrupt},
		{"payload twice", []tarEntry{{name: p, data: payload}, {name: p, data: payload}, {name: r, data: record}}, ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "payload.cpio")
			_, err := ReadImage(bytes.NewReader(dropletOf(t, c.entries)), dst)
			if !errors.Is(err, c.want) {
				t.Fatalf("ReadImage: %v, want %v", err, c.want)
			}
			if _, serr := os.Stat(dst); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("payload written despite the error: %v", serr)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".payload-*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	if _, err := ReadImage(bytes.NewReader([]byte("not gzip")), filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("not gzip: %v, want ErrCorrupt", err)
	}
}

func TestImageValidate(t *testing.T) {
	ok := Image{Manifest: image.Manifest{SchemaVersion: image.SchemaVersion, StartCommand: "./x"},
		Digest: "sha256:" + fmt.Sprintf("%064x", 1), Size: 512}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*Image){
		"digest": func(i *Image) { i.Digest = "sha256:ABC" }, "size": func(i *Image) { i.Size = 0 },
		"schema": func(i *Image) { i.Manifest.SchemaVersion = 99 }, "start": func(i *Image) { i.Manifest.StartCommand = "" },
	} {
		c := ok
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate passed %+v", name, c)
		}
	}
	if err := Write(t.TempDir(), "/nonexistent", image.Result{}); err == nil {
		t.Error("Write of an invalid result passed")
	}
}
