package imagecache_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/imagestore"
	dt "github.com/unik-cf/unik/src/internal/droplettest"
)

// quotaCache is a cache whose work directory the test can look into.
func quotaCache(t *testing.T) (*imagecache.Cache, string, imagestore.Store) {
	t.Helper()
	dir := t.TempDir()
	work, store := filepath.Join(dir, "work"), imagestore.Store{Dir: filepath.Join(dir, "images")}
	c, err := imagecache.New(work, store, initPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, work, store
}

// wantQuota fails unless err is ErrQuota naming the quota in MB, nothing is left in the work
// directory and no image is stored.
func wantQuota(t *testing.T, err error, mb int64, work string, store imagestore.Store) {
	t.Helper()
	want := fmt.Sprintf("droplet exceeds the instance's disk quota of %d MB", mb)
	if !errors.Is(err, imagecache.ErrQuota) || !strings.Contains(err.Error(), want) {
		t.Errorf("Image: %v, want ErrQuota saying %q", err, want)
	}
	if left, _ := os.ReadDir(work); len(left) > 0 {
		t.Errorf("left in the work directory: %v", left)
	}
	if imgs, _ := store.List(); len(imgs) > 0 {
		t.Errorf("images stored: %v", imgs)
	}
}

func TestGzipBombRefusedAtTheQuota(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.tgz")
	sum := dt.Tgz(t, path, dt.Dir("./app/"), dt.File("./app/Procfile", "web: ./x\n"), dt.Zeros("./app/zeros", 64<<20))
	if fi, _ := os.Stat(path); fi.Size() > 1<<20 {
		t.Fatalf("the bomb is %d bytes: not a bomb", fi.Size())
	}
	c, work, store := quotaCache(t)
	_, err := c.Image(context.Background(), imagecache.Request{URL: serve(t, path).URL, ChecksumAlgorithm: "sha256",
		ChecksumValue: sum, MaxBytes: 8 << 20}, nil)
	wantQuota(t, err, 8, work, store)
}

func TestDownloadRefusedAtTheQuota(t *testing.T) {
	body := make([]byte, 3<<20)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.HandlerFunc{
		"announced length": func(w http.ResponseWriter, r *http.Request) { w.Write(body) },
		"chunked": func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(body); i += 64 << 10 {
				w.Write(body[i : i+64<<10])
				w.(http.Flusher).Flush()
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := httptest.NewServer(h)
			defer s.Close()
			c, work, store := quotaCache(t)
			_, err := c.Image(context.Background(), imagecache.Request{URL: s.URL, MaxBytes: 1 << 20}, nil)
			wantQuota(t, err, 1, work, store)
			if !strings.Contains(err.Error(), "download") {
				t.Errorf("the error does not say the download passed the quota: %v", err)
			}
		})
	}
}

func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

func TestImageBoundedByTheQuota(t *testing.T) {
	ctx := context.Background()
	plain, err := push.MakeDroplet(ctx, appDir, filepath.Join(t.TempDir(), "plain.tgz"), "./hello-go", initPath, false)
	if err != nil {
		t.Fatal(err)
	}
	app, err := dirBytes(appDir)
	if err != nil {
		t.Fatal(err)
	}
	initInfo, err := os.Stat(initPath)
	if err != nil {
		t.Fatal(err)
	}
	// The droplet and its files fit, the image (the app and the init the builder adds) not.
	mb := (app + initInfo.Size()/2) >> 20
	if mb<<20 < app+64<<10 {
		mb++
	}
	c, work, store := quotaCache(t)
	req := imagecache.Request{URL: serve(t, plain.Path).URL, ChecksumAlgorithm: "sha256", ChecksumValue: plain.SHA256, MaxBytes: mb << 20}
	_, err = c.Image(ctx, req, nil)
	wantQuota(t, err, mb, work, store)
	if !strings.Contains(err.Error(), "image") {
		t.Errorf("the error does not say the image passed the quota: %v", err)
	}

	// A cached image is held to every later request's quota.
	req.MaxBytes = 0
	img, err := c.Image(ctx, req, nil)
	if err != nil {
		t.Fatalf("with the default quota: %v", err)
	}
	req.MaxBytes = 1 << 20
	if _, err := c.Image(ctx, req, nil); !errors.Is(err, imagecache.ErrQuota) {
		t.Errorf("the cached %d-byte image under a 1 MB quota: %v", img.Size, err)
	}
	if _, err := c.Image(ctx, imagecache.Request{URL: req.URL, MaxBytes: -1}, nil); err == nil {
		t.Error("a negative quota was accepted")
	}
}
