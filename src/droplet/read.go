package droplet

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
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

	"github.com/unik-cf/unik/src/image"
)

// Errors callers tell apart (errors.Is).
var (
	// ErrNoImage: the droplet (or app directory) carries no unik image: it was not staged by
	// the unik buildpack.
	ErrNoImage = errors.New("droplet has no unik image")
	// ErrCorrupt: the image is there but does not verify (digest, size, manifest, archive).
	ErrCorrupt = errors.New("unik image in the droplet is corrupt")
)

// ReadImageFile is ReadImage on the droplet file at dropletPath.
func ReadImageFile(dropletPath, payloadPath string) (image.Result, error) {
	f, err := os.Open(dropletPath)
	if err != nil {
		return image.Result{}, fmt.Errorf("read droplet: %w", err)
	}
	defer f.Close()
	return ReadImage(f, payloadPath)
}

// ReadImage reads a droplet (gzipped tar, as the buildpack lifecycle's builder writes it),
// writes its payload to payloadPath and returns the image record once the payload verifies:
// sha256 and size equal image.json's, and the manifest inside the payload equals image.json's.
// payloadPath is only created (atomically) when everything verifies. Errors wrap ErrNoImage or
// ErrCorrupt, or are I/O errors.
func ReadImage(droplet io.Reader, payloadPath string) (image.Result, error) {
	zr, err := gzip.NewReader(droplet)
	if err != nil {
		return image.Result{}, fmt.Errorf("%w: droplet is not gzipped: %v", ErrCorrupt, err)
	}
	defer zr.Close()
	tmp, err := os.CreateTemp(filepath.Dir(payloadPath), ".payload-*")
	if err != nil {
		return image.Result{}, fmt.Errorf("read droplet: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	var record []byte
	var got *payloadSum
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return image.Result{}, fmt.Errorf("%w: droplet archive: %v", ErrCorrupt, err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name != PayloadPath && name != ImagePath {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return image.Result{}, fmt.Errorf("%w: ./%s is not a regular file", ErrCorrupt, name)
		}
		if name == ImagePath {
			if record != nil {
				return image.Result{}, fmt.Errorf("%w: ./%s appears twice", ErrCorrupt, name)
			}
			if record, err = io.ReadAll(io.LimitReader(tr, maxImageJSON+1)); err != nil {
				return image.Result{}, fmt.Errorf("%w: ./%s: %v", ErrCorrupt, name, err)
			}
			if len(record) > maxImageJSON {
				return image.Result{}, fmt.Errorf("%w: ./%s is larger than %d bytes", ErrCorrupt, name, maxImageJSON)
			}
			continue
		}
		if got != nil {
			return image.Result{}, fmt.Errorf("%w: ./%s appears twice", ErrCorrupt, name)
		}
		if got, err = copySum(tmp, tr); err != nil {
			return image.Result{}, fmt.Errorf("read droplet: ./%s: %w", name, err)
		}
	}
	if record == nil || got == nil {
		return image.Result{}, missing(record == nil, got == nil, "the droplet")
	}
	img, err := DecodeImage(record)
	if err != nil {
		return image.Result{}, err
	}
	if err := verify(img, *got, tmp); err != nil {
		return image.Result{}, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return image.Result{}, fmt.Errorf("read droplet: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return image.Result{}, fmt.Errorf("read droplet: %w", err)
	}
	if err := os.Rename(tmp.Name(), payloadPath); err != nil {
		return image.Result{}, fmt.Errorf("read droplet: %w", err)
	}
	return img.Result(), nil
}

// VerifyApp checks the image of an app directory in place (the build directory after
// finalize, or ./app of an extracted droplet) and returns its record. The payload stays at
// Layout{appDir}.Payload(). Both files are opened beneath appDir and must be regular files:
// a symlink there is ErrCorrupt, never followed (an extracted droplet's links are the tenant's).
func VerifyApp(appDir string) (image.Result, error) {
	root, err := os.OpenRoot(appDir)
	if err != nil {
		return image.Result{}, fmt.Errorf("read %s: %w", appDir, err)
	}
	defer root.Close()
	record, noRecord, err := readRegular(root, ImagePath[len(AppDir)+1:], maxImageJSON)
	if err != nil {
		return image.Result{}, err
	}
	payloadRel := PayloadPath[len(AppDir)+1:]
	f, noPayload, err := openRegular(root, payloadRel)
	if err != nil {
		return image.Result{}, err
	}
	if noRecord || noPayload {
		if f != nil {
			f.Close()
		}
		return image.Result{}, missing(noRecord, noPayload, appDir)
	}
	defer f.Close()
	img, err := DecodeImage(record)
	if err != nil {
		return image.Result{}, err
	}
	got, err := copySum(io.Discard, f)
	if err != nil {
		return image.Result{}, fmt.Errorf("read ./%s: %w", payloadRel, err)
	}
	if err := verify(img, *got, f); err != nil {
		return image.Result{}, err
	}
	return img.Result(), nil
}

// openRegular opens rel beneath root when it is a regular file; missing reports that it is not
// there at all. Anything else at rel (a symlink, a directory) is ErrCorrupt.
func openRegular(root *os.Root, rel string) (f *os.File, missing bool, err error) {
	fi, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read ./%s: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%w: ./%s is not a regular file", ErrCorrupt, rel)
	}
	f, err = root.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, false, fmt.Errorf("read ./%s: %w", rel, err)
	}
	return f, false, nil
}

// readRegular reads rel beneath root (see openRegular), refusing more than max bytes.
func readRegular(root *os.Root, rel string, max int64) ([]byte, bool, error) {
	f, missing, err := openRegular(root, rel)
	if f == nil {
		return nil, missing, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("read ./%s: %w", rel, err)
	}
	if int64(len(b)) > max {
		return nil, false, fmt.Errorf("%w: ./%s is larger than %d bytes", ErrCorrupt, rel, max)
	}
	return b, false, nil
}

func missing(noRecord, noPayload bool, where string) error {
	var names []string
	if noPayload {
		names = append(names, PayloadPath)
	}
	if noRecord {
		names = append(names, ImagePath)
	}
	return fmt.Errorf("%w: %s has no ./%s: stage the app with the unik buildpack (a droplet of the unik stack)",
		ErrNoImage, where, strings.Join(names, " nor ./"))
}

type payloadSum struct {
	digest string
	size   int64
}

func copySum(w io.Writer, r io.Reader) (*payloadSum, error) {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return nil, err
	}
	return &payloadSum{digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), size: n}, nil
}

// verify compares the payload's digest, size and embedded manifest with the record.
func verify(img Image, got payloadSum, payload io.ReadSeeker) error {
	if got.digest != img.Digest {
		return fmt.Errorf("%w: payload digest %s does not match %s's %s", ErrCorrupt, got.digest, ImageFile, img.Digest)
	}
	if got.size != img.Size {
		return fmt.Errorf("%w: payload is %d bytes, %s says %d", ErrCorrupt, got.size, ImageFile, img.Size)
	}
	if _, err := payload.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read payload: %w", err)
	}
	m, err := image.ReadManifest(payload)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	a, errA := json.Marshal(m)
	b, errB := json.Marshal(img.Manifest)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		return fmt.Errorf("%w: the manifest inside the payload differs from %s's", ErrCorrupt, ImageFile)
	}
	return nil
}
