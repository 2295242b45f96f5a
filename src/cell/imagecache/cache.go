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
	// MaxBytes is the instance's disk quota (Diego's disk_mb, in bytes): the download, the
	// extracted droplet and the image are each refused past it (ErrQuota). 0 = DefaultMaxBytes.
	MaxBytes int64
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
// the engine re-verifies the payload's digest before every boot. An image larger than r's
// quota is refused with ErrQuota, cached or not.
func (c *Cache) Image(ctx context.Context, r Request, progress Progress) (imagestore.Image, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if r.MaxBytes < 0 {
		return imagestore.Image{}, fmt.Errorf("prepare image: negative disk quota %d", r.MaxBytes)
	}
	name := Name(r)
	if img, err := c.store.Get(name); err == nil {
		return fits(img, r)
	}
	// Requests with different quotas do not share a preparation: one may fit where another
	// does not.
	key := fmt.Sprintf("%s/%d", name, r.maxBytes())
	c.mu.Lock()
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.img, cl.err
		case <-ctx.Done():
			return imagestore.Image{}, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()

	// The preparation is shared: it must not die with the first caller's context.
	cl.img, cl.err = c.prepare(context.WithoutCancel(ctx), name, r, progress)
	c.mu.Lock()
	delete(c.inflight, key)
	c.mu.Unlock()
	close(cl.done)
	return cl.img, cl.err
}

// fits returns img unless it is larger than r's quota.
func fits(img imagestore.Image, r Request) (imagestore.Image, error) {
	if img.Size > r.maxBytes() {
		return imagestore.Image{}, quotaError(r.maxBytes(), fmt.Sprintf("its image is %s", byteSize(img.Size)))
	}
	return img, nil
}

// prepare downloads, extracts and turns the droplet into a sanitized image, each step bounded
// by the quota. The work directory goes, whatever happens.
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
	if _, err := extract(tgz, root, r.maxBytes()); err != nil {
		return imagestore.Image{}, err
	}
	os.Remove(tgz)
	payload, res, err := c.payload(ctx, root, work, r, progress)
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
