// Package droplettest writes droplets for tests, hostile ones included: tar entries exactly as
// told (links through links, names with "..", bombs of zeros) and staged droplets whose unik
// image is any payload, with a matching image.json.
package droplettest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/unik-cf/unik/src/droplet"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/internal/cpiotest"
)

// Entry is one tar entry. Type is a tar type flag (0: a regular file).
type Entry struct {
	Name, Link string
	Type       byte
	Data       []byte
	Mode       int64 // 0: 0644, 0755 for a directory
	Zeros      int64 // a regular file of that many zero bytes after Data
}

// File, Dir, Symlink and Hardlink make entries.
func File(name, data string) Entry        { return Entry{Name: name, Data: []byte(data)} }
func Exec(name string, data []byte) Entry { return Entry{Name: name, Data: data, Mode: 0o755} }
func Dir(name string) Entry               { return Entry{Name: name, Type: tar.TypeDir} }
func Symlink(name, to string) Entry       { return Entry{Name: name, Link: to, Type: tar.TypeSymlink} }
func Hardlink(name, to string) Entry      { return Entry{Name: name, Link: to, Type: tar.TypeLink} }
func Zeros(name string, n int64) Entry    { return Entry{Name: name, Zeros: n} }

// Tgz writes entries as a gzipped tar at path and returns its sha256 (hex), as a Download
// action's checksum.
func Tgz(t testing.TB, path string, entries ...Entry) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	zw := gzip.NewWriter(io.MultiWriter(f, h))
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hd := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: e.Mode, Size: int64(len(e.Data)) + e.Zeros,
			Uid: 2000, Gid: 2000}
		if hd.Typeflag == 0 {
			hd.Typeflag = tar.TypeReg
		}
		if hd.Typeflag != tar.TypeReg {
			hd.Size = 0
		}
		if hd.Mode == 0 {
			hd.Mode = 0o644
			if hd.Typeflag == tar.TypeDir {
				hd.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(hd); err != nil {
			t.Fatal(err)
		}
		if hd.Size > 0 {
			if _, err := io.Copy(tw, io.MultiReader(bytes.NewReader(e.Data), io.LimitReader(zeros{}, e.Zeros))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// Manifest is the manifest the builder would write for the static program ./name, with the
// identity it asks for.
func Manifest(name, user string, uid, gid int) image.Manifest {
	return image.Manifest{SchemaVersion: image.SchemaVersion, StartCommand: "./" + name, Program: image.GuestAppDir + "/" + name,
		WorkDir: image.GuestAppDir, User: user, UID: uid, GID: gid, Ports: []int{image.DefaultPort}}
}

// Staged returns the entries of a droplet the unik buildpack could have staged: ./app holding
// the program name and ./app/.unik a payload with the usual layout, the program, m at
// /unik/manifest.json and extra entries appended as they are (a tenant's own /init, say), and
// an image.json that matches it, so that the droplet passes every integrity check.
func Staged(t testing.TB, name string, program []byte, m image.Manifest, extra ...cpiotest.Entry) []Entry {
	t.Helper()
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	entries := []cpiotest.Entry{{Name: "home", Mode: cpiotest.Dir}, {Name: "home/vcap", Mode: cpiotest.Dir, UID: 2000},
		{Name: "home/vcap/app", Mode: cpiotest.Dir, UID: 2000},
		{Name: "home/vcap/app/" + name, Mode: cpiotest.Exec, UID: 2000, Data: string(program)},
		{Name: "unik", Mode: cpiotest.Dir}, {Name: "unik/manifest.json", Mode: cpiotest.File, Data: string(js) + "\n"}}
	payload := cpiotest.Archive(append(entries, extra...)...)
	sum := sha256.Sum256(payload)
	rec, err := droplet.Image{Manifest: m, Digest: image.DigestPrefix + hex.EncodeToString(sum[:]), Size: int64(len(payload))}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]string{"start_command": m.StartCommand})
	return []Entry{Dir("./app/"), Exec("./app/"+name, program), Dir("./app/.unik/"),
		{Name: "./" + droplet.PayloadPath, Data: payload}, {Name: "./" + droplet.ImagePath, Data: rec},
		{Name: "./staging_info.yml", Data: info}}
}
