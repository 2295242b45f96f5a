package imagestore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/unik-cf/unik/src/image"
)

func payload(t *testing.T, s Store, content string) (string, image.Result) {
	t.Helper()
	f, err := s.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(content)
	f.Close()
	sum := sha256.Sum256([]byte(content))
	return f.Name(), image.Result{Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(content)),
		Manifest: image.Manifest{StartCommand: "./app"}}
}

func TestPutGetListRemove(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	p, res := payload(t, s, "payload-a")
	a, err := s.Put("a", p, res)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(a); err != nil {
		t.Fatalf("fresh image: %v", err)
	}
	p2, res2 := payload(t, s, "payload-a") // same content, second name
	if _, err := s.Put("b", p2, res2); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[0].Manifest.StartCommand != "./app" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.Remove("a"); err != nil {
		t.Fatal(err)
	}
	b, err := s.Get("b")
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(b); err != nil {
		t.Fatalf("removing a deleted the payload b shares: %v", err)
	}
	if err := s.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Payload); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the last name's payload is still there: %v", err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after remove: %v", err)
	}
}

func TestVerifyCatchesCorruption(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	p, res := payload(t, s, "payload")
	img, err := s.Put("x", p, res)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(img.Payload, []byte("PAYLOAD"), 0o644)
	if err := Verify(img); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt payload: %v", err)
	}
	os.Remove(img.Payload)
	if err := Verify(img); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing payload: %v", err)
	}
	os.WriteFile(filepath.Join(s.Dir, "images", "x.json"), []byte("{"), 0o644)
	if _, err := s.Get("x"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt record: %v", err)
	}
}

func TestNames(t *testing.T) {
	for _, bad := range []string{"", "Hello", "../x", "a/b", "-x", string(make([]byte, 64))} {
		if err := ValidName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"hello", "my-app.v2", "a_b", "0"} {
		if err := ValidName(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

// Payloads hold the app's files: nobody but the store's owner may read them or their records.
func TestStoreIsPrivate(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	p, res := payload(t, s, "app files")
	img, err := s.Put("a", p, res)
	if err != nil {
		t.Fatal(err)
	}
	assertModes(t, s, img)
}

// A store written before blobs were private (0755 directories, 0644 files) is made private the
// first time it is used, by a read as well as a write.
func TestOldStoreIsMadePrivate(t *testing.T) {
	for _, use := range []func(Store) error{
		func(s Store) error { _, err := s.Get("a"); return err },
		func(s Store) error { _, err := s.List(); return err },
		func(s Store) error { f, err := s.TempFile(); f.Close(); return err },
	} {
		s := Store{Dir: t.TempDir()}
		p, res := payload(t, s, "app files")
		img, err := s.Put("a", p, res)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{img.Payload, s.record("a")} {
			if err := os.Chmod(f, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []string{"images", "blobs"} {
			if err := os.Chmod(filepath.Join(s.Dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := use(s); err != nil {
			t.Fatal(err)
		}
		assertModes(t, s, img)
	}
}

func assertModes(t *testing.T, s Store, img Image) {
	t.Helper()
	for path, want := range map[string]os.FileMode{
		filepath.Join(s.Dir, "images"): 0o700, filepath.Join(s.Dir, "blobs"): 0o700,
		img.Payload: 0o600, s.record(img.Name): 0o600,
	} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
}
