package imagestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/unik-cf/unik/src/image"
)

// Image is one named image.
type Image struct {
	Name     string         `json:"name"`
	Digest   string         `json:"digest"` // sha256:<hex> of the payload
	Size     int64          `json:"size"`
	Created  time.Time      `json:"created"`
	Manifest image.Manifest `json:"manifest"`
	Payload  string         `json:"-"` // path of the payload file
}

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("image not found")
	ErrCorrupt  = errors.New("image is corrupt")
	ErrBadName  = errors.New("bad image name")
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidName checks an image name: lower-case letters, digits, '.', '_' and '-', at most 63.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", ErrBadName, name)
	}
	return nil
}

// Store is a directory of images. Payloads hold the app's files, which may be secret (keys,
// configuration), so the store is private to its owner: directories 0700, blobs and records
// 0600. A store written before that (0755 directories, 0644 files) is made private the first time
// any method uses it.
type Store struct{ Dir string }

const (
	dirMode  os.FileMode = 0o700
	fileMode os.FileMode = 0o600
)

// private creates the store's directories if create is set and makes existing ones, and the
// files in them, private. A store already private costs two stats.
func (s Store) private(create bool) error {
	for _, d := range []string{"images", "blobs"} {
		dir := filepath.Join(s.Dir, d)
		if create {
			if err := os.MkdirAll(dir, dirMode); err != nil {
				return fmt.Errorf("image store: %w", err)
			}
		}
		st, err := os.Stat(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("image store: %w", err)
		}
		if st.Mode().Perm() == dirMode {
			continue
		}
		if err := tighten(dir); err != nil {
			return fmt.Errorf("image store: make %s private: %w", dir, err)
		}
	}
	return nil
}

// tighten chmods dir to dirMode and the regular files directly in it to fileMode. The files
// first: once the directory is closed, nobody else can open them anyway.
func tighten(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.Chmod(filepath.Join(dir, e.Name()), fileMode); err != nil {
				return err
			}
		}
	}
	return os.Chmod(dir, dirMode)
}

func (s Store) record(name string) string { return filepath.Join(s.Dir, "images", name+".json") }

func (s Store) blob(digest string) string {
	return filepath.Join(s.Dir, "blobs", strings.Replace(digest, ":", "-", 1)+".cpio")
}

// Put stores the payload at payloadPath (moved into the store) under name, replacing an image
// of that name.
func (s Store) Put(name, payloadPath string, res image.Result) (Image, error) {
	if err := ValidName(name); err != nil {
		return Image{}, err
	}
	if err := s.private(true); err != nil {
		return Image{}, err
	}
	img := Image{Name: name, Digest: res.Digest, Size: res.Size, Created: time.Now().UTC(), Manifest: res.Manifest, Payload: s.blob(res.Digest)}
	if err := os.Chmod(payloadPath, fileMode); err != nil {
		return Image{}, err
	}
	if err := os.Rename(payloadPath, img.Payload); err != nil {
		return Image{}, fmt.Errorf("store image %s: %w", name, err)
	}
	b, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return Image{}, err
	}
	if err := writeAtomic(s.record(name), b); err != nil {
		return Image{}, fmt.Errorf("store image %s: %w", name, err)
	}
	return img, nil
}

// TempFile is where a payload is built before Put (same file system as the store).
func (s Store) TempFile() (*os.File, error) {
	if err := s.private(true); err != nil {
		return nil, err
	}
	return os.CreateTemp(filepath.Join(s.Dir, "blobs"), ".build-*") // 0600
}

// Get returns the image called name.
func (s Store) Get(name string) (Image, error) {
	if err := ValidName(name); err != nil {
		return Image{}, err
	}
	if err := s.private(false); err != nil {
		return Image{}, err
	}
	b, err := os.ReadFile(s.record(name))
	if errors.Is(err, os.ErrNotExist) {
		return Image{}, fmt.Errorf("%w: %q (see `unik images`)", ErrNotFound, name)
	}
	if err != nil {
		return Image{}, err
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return Image{}, fmt.Errorf("%w: %s: record %s: %v", ErrCorrupt, name, s.record(name), err)
	}
	img.Payload = s.blob(img.Digest)
	return img, nil
}

// Verify re-hashes the payload and compares it with the recorded digest.
func Verify(img Image) error {
	got, err := image.FileDigest(img.Payload)
	if err != nil {
		return fmt.Errorf("%w: %s: payload: %v", ErrCorrupt, img.Name, err)
	}
	if got != img.Digest {
		return fmt.Errorf("%w: %s: payload digest %s does not match the recorded %s (rebuild it with `unik build`)", ErrCorrupt, img.Name, got, img.Digest)
	}
	return nil
}

// List returns every image, by name.
func (s Store) List() ([]Image, error) {
	if err := s.private(false); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(s.Dir, "images", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, f := range files {
		img, err := s.Get(strings.TrimSuffix(filepath.Base(f), ".json"))
		if err != nil {
			continue
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the name, and the payload when no other name uses it.
func (s Store) Remove(name string) error {
	img, err := s.Get(name)
	if err != nil {
		return err
	}
	if err := os.Remove(s.record(name)); err != nil {
		return err
	}
	others, err := s.List()
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.Digest == img.Digest {
			return nil
		}
	}
	if err := os.Remove(img.Payload); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), fileMode); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
