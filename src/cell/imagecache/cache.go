package imagecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/unik-cf/unik/src/imagestore"
)

// Request names a droplet and how to start it.
type Request struct {
	URL               string
	ChecksumAlgorithm string // sha256 (CC's), sha1 or md5; "" = no checksum to verify
	ChecksumValue     string // hex
	CacheKey          string // the Download action's cache key (informational)
	// StartCommand overrides the droplet's: "" uses the image's own (a unik payload) or
	// staging_info.yml's start_command (a plain droplet).
	StartCommand string
}

// Cache prepares images. Its zero value is not usable: use New.
type Cache struct {
	dir      string // downloads and extraction (same file system as the store)
	store    imagestore.Store
	initPath string
	client   *http.Client

	mu       sync.Mutex
	inflight map[string]*call
}

type call struct {
	done chan struct{}
	img  imagestore.Image
	err  error
}

// New makes a cache working in dir and keeping images in store. initPath is the static guest
// init for images built on the cell; client downloads droplets (nil: http.DefaultClient).
func New(dir string, store imagestore.Store, initPath string, client *http.Client) (*Cache, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("image cache: %w", err)
	}
	return &Cache{dir: dir, store: store, initPath: initPath, client: client, inflight: map[string]*call{}}, nil
}

// CleanTemp removes what an interrupted preparation left in the work directory.
func (c *Cache) CleanTemp() error {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "tmp-") {
			errs = append(errs, os.RemoveAll(filepath.Join(c.dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// Name is the image name of a request: the droplet's checksum and the start command.
func Name(r Request) string {
	var key string
	if r.ChecksumValue != "" {
		key = strings.ToLower(r.ChecksumAlgorithm + "-" + r.ChecksumValue)
	} else {
		key = "url-" + r.URL
	}
	sum := sha256.Sum256([]byte(key + "\x00" + r.StartCommand))
	return "droplet-" + hex.EncodeToString(sum[:12])
}

// Progress receives messages for the app's log ("Downloading droplet...").
type Progress func(msg string)

// Image returns the image of r, preparing it unless cached. A cached image is trusted by name;
// the engine re-verifies the payload's digest before every boot.
func (c *Cache) Image(ctx context.Context, r Request, progress Progress) (imagestore.Image, error) {
	if progress == nil {
		progress = func(string) {}
	}
	name := Name(r)
	if img, err := c.store.Get(name); err == nil {
		return img, nil
	}
	c.mu.Lock()
	if cl, ok := c.inflight[name]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.img, cl.err
		case <-ctx.Done():
			return imagestore.Image{}, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[name] = cl
	c.mu.Unlock()

	// The preparation is shared: it must not die with the first caller's context.
	cl.img, cl.err = c.prepare(context.WithoutCancel(ctx), name, r, progress)
	c.mu.Lock()
	delete(c.inflight, name)
	c.mu.Unlock()
	close(cl.done)
	return cl.img, cl.err
}

func (c *Cache) prepare(ctx context.Context, name string, r Request, progress Progress) (imagestore.Image, error) {
	work, err := os.MkdirTemp(c.dir, "tmp-")
	if err != nil {
		return imagestore.Image{}, fmt.Errorf("prepare image: %w", err)
	}
	defer os.RemoveAll(work)

	progress("Downloading droplet...")
	tgz := filepath.Join(work, "droplet.tgz")
	size, err := download(ctx, c.client, r, tgz)
	if err != nil {
		progress("Downloading droplet failed")
		return imagestore.Image{}, err
	}
	progress(fmt.Sprintf("Downloaded droplet (%s)", byteSize(size)))
	root := filepath.Join(work, "droplet")
	if err := extract(tgz, root); err != nil {
		return imagestore.Image{}, err
	}
	os.Remove(tgz)
	payload, res, err := c.payload(ctx, root, work, r.StartCommand, progress)
	if err != nil {
		return imagestore.Image{}, err
	}
	img, err := c.store.Put(name, payload, res)
	if err != nil {
		return imagestore.Image{}, fmt.Errorf("prepare image: %w", err)
	}
	return img, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
