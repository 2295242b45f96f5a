package imagecache

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dt "github.com/unik-cf/unik/src/internal/droplettest"
)

// chain returns the entries of a symlink chain that leads depth levels above the extraction
// directory while every link, taken by its own name, stays inside: a -> ., a/l1 -> .. (which
// lands at l1), l1/l2 -> .., l1/l2/l3 -> .., ... It also returns the path through the chain.
func chain(depth int) ([]dt.Entry, string) {
	entries := []dt.Entry{dt.Symlink("a", "."), dt.Symlink("a/l1", "..")}
	through := "l1"
	for i := 2; i <= depth; i++ {
		through += "/l" + string(rune('0'+i))
		entries = append(entries, dt.Symlink(through, ".."))
	}
	return entries, through
}

// canary is a file outside the extraction directory that no droplet may touch.
type canary struct {
	path   string
	secret string
	mtime  time.Time
}

func newCanary(t *testing.T, dir, name string) canary {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	c := canary{path: filepath.Join(dir, name), secret: "cell-secret-" + hex.EncodeToString(b)}
	if err := os.WriteFile(c.path, []byte(c.secret), 0o600); err != nil {
		t.Fatal(err)
	}
	c.mtime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(c.path, c.mtime, c.mtime); err != nil {
		t.Fatal(err)
	}
	return c
}

// untouched fails the test if the canary changed or if any regular file beneath tree holds
// its secret.
func (c canary) untouched(t *testing.T, tree string) {
	t.Helper()
	fi, err := os.Lstat(c.path)
	if err != nil {
		t.Fatalf("canary %s: %v", c.path, err)
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != c.secret || !fi.Mode().IsRegular() || !fi.ModTime().Equal(c.mtime) {
		t.Errorf("canary %s was touched: %q, mode %v, mtime %v", c.path, b, fi.Mode(), fi.ModTime())
	}
	_ = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data, rerr := os.ReadFile(p)
		if rerr == nil && bytes.Contains(data, []byte(c.secret)) {
			t.Errorf("%s holds the cell's secret %s", p, c.path)
		}
		return nil
	})
}

// extractCase lays out outer/work/tmp/droplet (three levels under outer, as the cache does),
// puts canaries in outer and extracts entries. It returns the error and the canaries.
func extractCase(t *testing.T, entries []dt.Entry, limit int64) (string, error, []canary) {
	t.Helper()
	outer := t.TempDir()
	canaries := []canary{newCanary(t, outer, "canary"), newCanary(t, outer, "secret")}
	work := filepath.Join(outer, "work", "tmp-x")
	if err := os.MkdirAll(work, 0o700); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(work, "droplet.tgz")
	dt.Tgz(t, tgz, entries...)
	root := filepath.Join(work, "droplet")
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	_, err := extract(tgz, root, limit)
	return root, err, canaries
}

func TestExtractConfinesEveryEntry(t *testing.T) {
	links, up3 := chain(3) // up3 resolves to outer, where the canaries are
	hostDir := "/home/vcap/app/unik-hostile-" + strings.ReplaceAll(t.Name(), "/", "-")
	cases := []struct {
		name    string
		entries []dt.Entry
		wantErr bool // false: the droplet extracts, harmlessly
	}{
		{"file written through a symlink chain", append(links[:len(links):len(links)], dt.File(up3+"/canary", "pwned")), true},
		{"file created through a symlink chain", append(links[:len(links):len(links)], dt.File(up3+"/new", "pwned")), true},
		{"hard link through a symlink chain", append(links[:len(links):len(links)], dt.Hardlink("stolen", up3+"/secret")), true},
		{"symlink then a file through it", append(links[:len(links):len(links)], dt.Symlink("d", up3), dt.File("d/canary", "pwned")), true},
		{"symlink then a hard link through it", append(links[:len(links):len(links)], dt.Symlink("d", up3), dt.Hardlink("stolen", "d/secret")), true},
		{"dot-dot name", []dt.Entry{dt.File("../../../canary", "pwned")}, true},
		{"dot-dot inside a name", []dt.Entry{dt.Dir("app"), dt.File("app/../../../../canary", "pwned")}, true},
		{"absolute name", []dt.Entry{dt.File("/tmp/unik-hostile-abs", "pwned")}, true},
		{"relative symlink out", []dt.Entry{dt.Symlink("x", "../../../secret")}, true},
		{"absolute symlink out", []dt.Entry{dt.Symlink("x", "/etc/shadow")}, true},
		{"file through an absolute symlink into /home/vcap", []dt.Entry{dt.Symlink("x", hostDir), dt.File("x/canary", "pwned")}, true},
		{"hard link to a file outside", []dt.Entry{dt.Hardlink("stolen", "../../../secret")}, true},
		{"hard link to an absolute path", []dt.Entry{dt.Hardlink("stolen", filepath.Join(os.TempDir(), "x"))}, true},
		{"hard link to a directory", []dt.Entry{dt.Dir("d"), dt.Hardlink("h", "d")}, true},
		{"hard link to the root", []dt.Entry{dt.Hardlink("h", ".")}, true},
		{"hard link to a symlink", []dt.Entry{dt.File("f", "x"), dt.Symlink("s", "f"), dt.Hardlink("h", "s")}, true},
		{"symlink over a directory, then a file through it",
			append(links[:len(links):len(links)], dt.Dir("p"), dt.Symlink("p", up3), dt.File("p/canary", "pwned")), true},
		{"a chain of links that cannot be built", links, true},
		{"one outward link, built through another, is data", links[:2], false},
		{"links inside the droplet", []dt.Entry{dt.Dir("app"), dt.File("app/f", "data"), dt.Symlink("app/s", "f"), dt.Hardlink("app/h", "app/f"),
			dt.Symlink("app/abs", "/home/vcap/app/f"), dt.Symlink("d", "app"), dt.File("d/g", "through an inner link")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, err, canaries := extractCase(t, c.entries, 0)
			t.Cleanup(func() { os.RemoveAll(hostDir) })
			if c.wantErr && err == nil {
				t.Error("extract accepted the droplet")
			}
			if !c.wantErr && err != nil {
				t.Errorf("extract: %v", err)
			}
			for _, cn := range canaries {
				cn.untouched(t, root)
			}
			for _, p := range []string{hostDir, "/tmp/unik-hostile-abs"} {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s was created outside the droplet (%v)", p, err)
					os.RemoveAll(p)
				}
			}
		})
	}
}

// diskBytes is what the files beneath dir hold.
func diskBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func TestExtractQuota(t *testing.T) {
	const limit = 8 << 20
	many := func(n int, size int64) []dt.Entry {
		var out []dt.Entry
		for i := range n {
			out = append(out, dt.Zeros(fmt.Sprintf("app/f%05d", i), size))
		}
		return out
	}
	cases := []struct {
		name    string
		entries []dt.Entry
		limit   int64
	}{
		{"a gzip bomb: 64 MiB of zeros in one file", []dt.Entry{dt.Dir("app"), dt.Zeros("app/zeros", 64<<20)}, limit},
		{"64 files of 1 MiB", many(64, 1<<20), limit},
		{"an inode flood of empty files", many(5000, 0), 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, err, _ := extractCase(t, c.entries, c.limit)
			if !errors.Is(err, ErrQuota) || !strings.Contains(err.Error(), fmt.Sprintf("disk quota of %d MB", c.limit>>20)) {
				t.Fatalf("extract: %v, want ErrQuota naming %d MB", err, c.limit>>20)
			}
			if n := diskBytes(t, root); n > c.limit {
				t.Errorf("%d bytes written, more than the quota %d", n, c.limit)
			}
		})
	}
	// Within the quota, the same droplets unpack.
	if _, err, _ := extractCase(t, many(7, 1<<20), limit); err != nil {
		t.Errorf("7 MiB under an 8 MiB quota: %v", err)
	}
}
