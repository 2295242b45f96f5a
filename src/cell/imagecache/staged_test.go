package imagecache_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/internal/cpiotest"
	dt "github.com/unik-cf/unik/src/internal/droplettest"
)

// payloadEntries reads a stored payload's entries by path.
func payloadEntries(t *testing.T, path string) map[string]*image.CpioEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*image.CpioEntry{}
	r := image.NewCpioReader(f)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out["/"+e.Path] = e
	}
}

// TestStagedImageIsSanitized: the droplet's payload verifies against its image.json, then the
// stored image is the payload without the tenant's init, devices and /unik files.
func TestStagedImageIsSanitized(t *testing.T) {
	hello, err := os.ReadFile(filepath.Join(appDir, "hello-go"))
	if err != nil {
		t.Fatal(err)
	}
	m := dt.Manifest("hello-go", "root", 0, 0)
	entries := dt.Staged(t, "hello-go", hello, m,
		cpiotest.Entry{Name: "init", Mode: cpiotest.Exec, Data: "PWNED"},
		cpiotest.Entry{Name: "sbin", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "sbin/init", Mode: 0o104755, Data: "PWNED"},
		cpiotest.Entry{Name: "unik/config.json", Mode: cpiotest.File, Data: "{}"},
		cpiotest.Entry{Name: "dev", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "dev/mem", Mode: cpiotest.CharDev, Major: 1})
	path := filepath.Join(t.TempDir(), "staged.tgz")
	sum := dt.Tgz(t, path, entries...)
	var msgs []string
	img, err := newCache(t).Image(context.Background(), imagecache.Request{URL: serve(t, path).URL, ChecksumAlgorithm: "sha256", ChecksumValue: sum},
		func(s string) { msgs = append(msgs, s) })
	if err != nil {
		t.Fatal(err)
	}
	log := strings.Join(msgs, "\n")
	if !strings.Contains(log, "Using the droplet's unik image") || !strings.Contains(log, "/init") {
		t.Errorf("progress: %s", log)
	}
	if err := imagestore.Verify(img); err != nil {
		t.Errorf("the stored digest is the sanitized payload's: %v", err)
	}
	got := payloadEntries(t, img.Payload)
	for _, p := range []string{"/init", "/unik/config.json", "/dev/mem"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s is in the stored image", p)
		}
	}
	if e := got["/sbin/init"]; e == nil || e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
		t.Errorf("/sbin/init: %+v, want kept without its setuid bit", e)
	}
	if e := got["/home/vcap/app/hello-go"]; e == nil || e.Size != int64(len(hello)) || e.UID != 2000 {
		t.Errorf("the app: %+v", e)
	}
	if img.Manifest.StartCommand != "./hello-go" || img.Manifest.UID != 0 {
		t.Errorf("manifest %+v: kept as the droplet says (init decides who runs)", img.Manifest)
	}
}

func TestStagedDropletsRefused(t *testing.T) {
	hello := []byte("\x7fELF not really")
	m := dt.Manifest("hello-go", "vcap", 2000, 2000)
	cases := []struct {
		name    string
		entries []dt.Entry
		want    error // nil: any error
	}{
		{"a hard link in the payload", dt.Staged(t, "hello-go", hello, m,
			cpiotest.Entry{Name: "home/vcap/app/a", Mode: cpiotest.File, NLink: 2, Ino: 9},
			cpiotest.Entry{Name: "unik/x", Mode: cpiotest.File, NLink: 2, Ino: 9}), image.ErrUnsafePayload},
		{"an entry through a symlink in the payload", dt.Staged(t, "hello-go", hello, m,
			cpiotest.Entry{Name: "home/vcap/app/l", Mode: cpiotest.Symlink, Data: "/"},
			cpiotest.Entry{Name: "home/vcap/app/l/init", Mode: cpiotest.Exec, Data: "PWNED"}), image.ErrUnsafePayload},
		{"./app a link", []dt.Entry{dt.Dir("./real/"), dt.File("./real/Procfile", "web: ./x\n"), dt.Symlink("./app", "real")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.tgz")
			dt.Tgz(t, path, c.entries...)
			_, err := newCache(t).Image(context.Background(), imagecache.Request{URL: serve(t, path).URL}, nil)
			if err == nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Image: %v, want %v", err, c.want)
			}
		})
	}
}
