package imagecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/unik-cf/unik/src/droplet"
	"github.com/unik-cf/unik/src/image"
)

// legacyDir is where an early form of the contract put the image: ./unik/payload.cpio and
// ./unik/image.json at the droplet's root. Still read; package droplet's ./app/.unik is first.
const legacyDir = "unik"

// maxStagingInfo bounds ./staging_info.yml.
const maxStagingInfo = 1 << 20

// payload finds or builds the payload of an extracted droplet at root and sanitizes it. It
// returns the payload path (inside work, to be moved into the store) and its description.
// Every file of the droplet is read beneath root (os.Root): no link of the droplet is followed
// out of it.
func (c *Cache) payload(ctx context.Context, root, work string, r Request, progress Progress) (string, image.Result, error) {
	dr, err := os.OpenRoot(root)
	if err != nil {
		return "", image.Result{}, fmt.Errorf("read droplet: %w", err)
	}
	defer dr.Close()
	if err := realDir(dr, droplet.AppDir); err != nil {
		return "", image.Result{}, err
	}
	startCommand := r.StartCommand
	res, rel, err := stagedImage(dr, root)
	switch {
	case err == nil && (startCommand == "" || startCommand == res.Manifest.StartCommand):
		progress("Using the droplet's unik image " + short(res.Digest))
		f, err := dr.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return "", image.Result{}, fmt.Errorf("read droplet: %w", err)
		}
		defer f.Close()
		return sanitize(f, work, res.Manifest, r.maxBytes(), progress)
	case err == nil:
		progress(fmt.Sprintf("The start command %q differs from the droplet image's %q: building an image for it", startCommand, res.Manifest.StartCommand))
	case !errors.Is(err, droplet.ErrNoImage):
		return "", image.Result{}, err
	}
	// A plain droplet (or another start command): build from ./app, without the staged image.
	if err := dr.RemoveAll(path.Join(droplet.AppDir, droplet.Dir)); err != nil {
		return "", image.Result{}, fmt.Errorf("build image: %w", err)
	}
	if startCommand == "" {
		startCommand = stagingStartCommand(dr)
	}
	progress("Building a unik image from the droplet")
	built := filepath.Join(work, "built.cpio")
	f, err := os.OpenFile(built, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o600)
	if err != nil {
		return "", image.Result{}, fmt.Errorf("build image: %w", err)
	}
	defer f.Close()
	lw := &limitWriter{w: f, limit: r.maxBytes(), what: "its image is larger than that"}
	res, err = image.Build(ctx, image.BuildOptions{AppDir: filepath.Join(root, droplet.AppDir), StartCommand: startCommand, InitPath: c.initPath}, lw)
	if err != nil {
		return "", image.Result{}, fmt.Errorf("build image from the droplet: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", image.Result{}, fmt.Errorf("build image: %w", err)
	}
	out, res, err := sanitize(f, work, res.Manifest, r.maxBytes(), progress)
	if err == nil {
		progress("Built image " + short(res.Digest))
	}
	return out, res, err
}

// sanitize writes the payload read from src as work/payload.cpio through image.Sanitize (the
// cell's init, system files and device nodes are the cell's: the tenant's are dropped) and
// returns its path and description with the new digest. Past limit bytes it fails with ErrQuota.
func sanitize(src io.Reader, work string, m image.Manifest, limit int64, progress Progress) (string, image.Result, error) {
	out := filepath.Join(work, "payload.cpio")
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return "", image.Result{}, fmt.Errorf("sanitize image: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	lw := &limitWriter{w: io.MultiWriter(f, h), limit: limit, what: "its image is larger than that"}
	rep, err := image.Sanitize(src, lw)
	if err != nil {
		return "", image.Result{}, fmt.Errorf("droplet's unik image: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", image.Result{}, fmt.Errorf("sanitize image: %w", err)
	}
	if len(rep.Dropped) > 0 {
		list := rep.Dropped
		if len(list) > 8 {
			list = append(list[:8:8], fmt.Sprintf("and %d more", len(rep.Dropped)-8))
		}
		progress("Left out of the image (the cell provides init, system files and devices): " + strings.Join(list, ", "))
	}
	return out, image.Result{Manifest: m, Digest: image.DigestPrefix + hex.EncodeToString(h.Sum(nil)), Size: lw.n}, nil
}

// realDir checks that rel is a directory of the droplet, not a link to one.
func realDir(dr *os.Root, rel string) error {
	fi, err := dr.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read droplet: it has no ./%s directory", rel)
	}
	if err != nil {
		return fmt.Errorf("read droplet: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("read droplet: ./%s is not a directory", rel)
	}
	return nil
}

// stagedImage returns the verified image the unik buildpack put in the droplet and the path of
// its payload beneath the droplet's root, or an error wrapping droplet.ErrNoImage when there is
// none. The integrity check against image.json is on the payload as staged, before sanitizing.
func stagedImage(dr *os.Root, root string) (image.Result, string, error) {
	res, err := droplet.VerifyApp(filepath.Join(root, droplet.AppDir))
	if err == nil {
		return res, droplet.PayloadPath, nil
	}
	if !errors.Is(err, droplet.ErrNoImage) {
		return image.Result{}, "", err
	}
	payloadRel := path.Join(legacyDir, droplet.PayloadFile)
	record, rerr := readRegular(dr, path.Join(legacyDir, droplet.ImageFile), 2<<20)
	if rerr != nil {
		if errors.Is(rerr, fs.ErrNotExist) {
			return image.Result{}, "", err // no image at all: the contract's error
		}
		return image.Result{}, "", fmt.Errorf("%w: ./%s/%s: %v", droplet.ErrCorrupt, legacyDir, droplet.ImageFile, rerr)
	}
	img, derr := droplet.DecodeImage(record)
	if derr != nil {
		return image.Result{}, "", derr
	}
	got, herr := digestBeneath(dr, payloadRel)
	if herr != nil {
		return image.Result{}, "", fmt.Errorf("%w: ./%s: %v", droplet.ErrCorrupt, payloadRel, herr)
	}
	if got != img.Digest {
		return image.Result{}, "", fmt.Errorf("%w: payload digest %s does not match image.json's %s", droplet.ErrCorrupt, got, img.Digest)
	}
	return img.Result(), payloadRel, nil
}

// openRegular opens rel beneath dr when it is a regular file (not a link to one).
func openRegular(dr *os.Root, rel string) (*os.File, error) {
	fi, err := dr.Lstat(rel)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("./%s is not a regular file", rel)
	}
	return dr.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

func readRegular(dr *os.Root, rel string, max int64) ([]byte, error) {
	f, err := openRegular(dr, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("./%s is larger than %d bytes", rel, max)
	}
	return b, err
}

func digestBeneath(dr *os.Root, rel string) (string, error) {
	f, err := openRegular(dr, rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return image.DigestPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

// stagingStartCommand reads start_command from ./staging_info.yml (JSON, as the buildpack
// lifecycle writes it; a plain "start_command: ..." YAML line is accepted too), beneath the
// droplet's root.
func stagingStartCommand(dr *os.Root) string {
	b, err := readRegular(dr, "staging_info.yml", maxStagingInfo)
	if err != nil {
		return ""
	}
	var info struct {
		StartCommand string `json:"start_command"`
	}
	if json.Unmarshal(b, &info) == nil {
		return info.StartCommand
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "start_command:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}
