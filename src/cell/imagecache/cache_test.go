package imagecache_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/imagestore"
)

var initPath, appDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagecache-test-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		initPath = filepath.Join(dir, "unik-init")
		appDir = filepath.Join(dir, "app")
		os.MkdirAll(appDir, 0o755)
		for out, pkg := range map[string]string{initPath: "../../cmd/unik-init", filepath.Join(appDir, "hello-go"): "../../../examples/hello-go"} {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				os.Stderr.Write(b)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

type served struct {
	*httptest.Server
	hits atomic.Int32
}

func serve(t *testing.T, path string) *served {
	s := &served{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		http.ServeFile(w, r, path)
	}))
	t.Cleanup(s.Close)
	return s
}

func newCache(t *testing.T) *imagecache.Cache {
	dir := t.TempDir()
	c, err := imagecache.New(filepath.Join(dir, "work"), imagestore.Store{Dir: filepath.Join(dir, "images")}, initPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStagedAndPlainDroplets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	staged, err := push.MakeDroplet(ctx, appDir, filepath.Join(dir, "staged.tgz"), "./hello-go", initPath, true)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := push.MakeDroplet(ctx, appDir, filepath.Join(dir, "plain.tgz"), "./hello-go", initPath, false)
	if err != nil {
		t.Fatal(err)
	}
	c := newCache(t)
	var msgs []string
	progress := func(m string) { msgs = append(msgs, m) }

	s1 := serve(t, staged.Path)
	a, err := c.Image(ctx, imagecache.Request{URL: s1.URL, ChecksumAlgorithm: "sha256", ChecksumValue: staged.SHA256}, progress)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "Using the droplet's unik image") {
		t.Errorf("a staged droplet's image is used as is: %v", msgs)
	}
	if err := imagestore.Verify(a); err != nil {
		t.Fatal(err)
	}
	msgs = nil
	s2 := serve(t, plain.Path)
	b, err := c.Image(ctx, imagecache.Request{URL: s2.URL, ChecksumAlgorithm: "sha256", ChecksumValue: plain.SHA256}, progress)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "Building a unik image") {
		t.Errorf("a plain droplet is built: %v", msgs)
	}
	if a.Digest != b.Digest {
		t.Errorf("the builder is reproducible: staged %s, built on the cell %s", a.Digest, b.Digest)
	}
	// Cached by checksum: no second download.
	if _, err := c.Image(ctx, imagecache.Request{URL: s2.URL, ChecksumAlgorithm: "sha256", ChecksumValue: plain.SHA256}, nil); err != nil {
		t.Fatal(err)
	}
	if s2.hits.Load() != 1 {
		t.Errorf("downloads: %d", s2.hits.Load())
	}
	_, err = c.Image(ctx, imagecache.Request{URL: s2.URL, ChecksumAlgorithm: "sha256", ChecksumValue: strings.Repeat("0", 64)}, nil)
	if !errors.Is(err, imagecache.ErrChecksum) {
		t.Errorf("bad checksum: %v", err)
	}
}

func TestRefusesLinksOutOfTheDroplet(t *testing.T) {
	for _, link := range []string{"../../../etc/shadow", "/etc/shadow"} {
		path := filepath.Join(t.TempDir(), "evil.tgz")
		f, _ := os.Create(path)
		zw := gzip.NewWriter(f)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: "./app/", Typeflag: tar.TypeDir, Mode: 0o755})
		tw.WriteHeader(&tar.Header{Name: "./app/x", Typeflag: tar.TypeSymlink, Linkname: link})
		tw.Close()
		zw.Close()
		f.Close()
		s := serve(t, path)
		_, err := newCache(t).Image(context.Background(), imagecache.Request{URL: s.URL, StartCommand: "./x"}, nil)
		if err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("link to %s: %v", link, err)
		}
	}
}
