package imagecache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/unik-cf/unik/src/droplet"
	"github.com/unik-cf/unik/src/image"
)

// legacyDir is where an early form of the contract put the image: ./unik/payload.cpio and
// ./unik/image.json at the droplet's root. Still read; package droplet's ./app/.unik is first.
const legacyDir = "unik"

// payload finds or builds the payload of an extracted droplet at root. It returns the payload
// path (inside work, to be moved into the store) and its description.
func (c *Cache) payload(ctx context.Context, root, work, startCommand string, progress Progress) (string, image.Result, error) {
	appDir := filepath.Join(root, droplet.AppDir)
	res, path, err := stagedImage(root)
	switch {
	case err == nil && (startCommand == "" || startCommand == res.Manifest.StartCommand):
		progress("Using the droplet's unik image " + short(res.Digest))
		return path, res, nil
	case err == nil:
		progress(fmt.Sprintf("The start command %q differs from the droplet image's %q: building an image for it", startCommand, res.Manifest.StartCommand))
	case !errors.Is(err, droplet.ErrNoImage):
		return "", image.Result{}, err
	}
	// A plain droplet (or another start command): build from ./app, without the staged image.
	if err := os.RemoveAll(droplet.Layout{AppDir: appDir}.Dir()); err != nil {
		return "", image.Result{}, fmt.Errorf("build image: %w", err)
	}
	if startCommand == "" {
		startCommand = stagingStartCommand(root)
	}
	progress("Building a unik image from the droplet")
	out := filepath.Join(work, "payload.cpio")
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return "", image.Result{}, fmt.Errorf("build image: %w", err)
	}
	defer f.Close()
	res, err = image.Build(ctx, image.BuildOptions{AppDir: appDir, StartCommand: startCommand, InitPath: c.initPath}, f)
	if err != nil {
		return "", image.Result{}, fmt.Errorf("build image from the droplet: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", image.Result{}, fmt.Errorf("build image: %w", err)
	}
	progress("Built image " + short(res.Digest))
	return out, res, nil
}

// stagedImage returns the verified image the unik buildpack put in the droplet, or an error
// wrapping droplet.ErrNoImage when there is none.
func stagedImage(root string) (image.Result, string, error) {
	appDir := filepath.Join(root, droplet.AppDir)
	res, err := droplet.VerifyApp(appDir)
	if err == nil {
		return res, droplet.Layout{AppDir: appDir}.Payload(), nil
	}
	if !errors.Is(err, droplet.ErrNoImage) {
		return image.Result{}, "", err
	}
	payload := filepath.Join(root, legacyDir, droplet.PayloadFile)
	record, rerr := os.ReadFile(filepath.Join(root, legacyDir, droplet.ImageFile))
	if rerr != nil {
		return image.Result{}, "", err // no image at all: the contract's error
	}
	img, derr := droplet.DecodeImage(record)
	if derr != nil {
		return image.Result{}, "", derr
	}
	got, herr := image.FileDigest(payload)
	if herr != nil {
		return image.Result{}, "", fmt.Errorf("%w: ./%s/%s: %v", droplet.ErrCorrupt, legacyDir, droplet.PayloadFile, herr)
	}
	if got != img.Digest {
		return image.Result{}, "", fmt.Errorf("%w: payload digest %s does not match image.json's %s", droplet.ErrCorrupt, got, img.Digest)
	}
	return img.Result(), payload, nil
}

// stagingStartCommand reads start_command from ./staging_info.yml (JSON, as the buildpack
// lifecycle writes it; a plain "start_command: ..." YAML line is accepted too).
func stagingStartCommand(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "staging_info.yml"))
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
