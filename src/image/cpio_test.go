package image

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
)

func TestCpioRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	cw := NewCpioWriter(&buf, WithModTime(1700000000))
	steps := []error{
		cw.WriteDir("/etc", 0o755, 0, 0),
		cw.WriteFile("/etc/hostname", 0o644, 0, 0, strings.NewReader("vm1\n"), 4),
		cw.WriteFile("etc/empty", 0o600, 2000, 2000, strings.NewReader(""), 0),
		cw.WriteSymlink("/etc/link", "hostname", 0, 0),
		cw.WriteDevice("/dev/null", 0o666, 1, 3),
		cw.WriteDir("/tmp", 0o777|fs.ModeSticky, 0, 0),
		cw.WriteFile("/x", 0o755|fs.ModeSetuid, 1, 2, strings.NewReader("abcde"), 5),
		cw.Close(),
		cw.Close(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if buf.Len()%512 != 0 {
		t.Errorf("archive size %d is not a multiple of 512", buf.Len())
	}
	want := []struct {
		path string
		mode fs.FileMode
		uid  int
		nl   uint32
		data string
		link string
		maj  uint32
		min  uint32
	}{
		{"etc", fs.ModeDir | 0o755, 0, 2, "", "", 0, 0},
		{"etc/hostname", 0o644, 0, 1, "vm1\n", "", 0, 0},
		{"etc/empty", 0o600, 2000, 1, "", "", 0, 0},
		{"etc/link", fs.ModeSymlink | 0o777, 0, 1, "", "hostname", 0, 0},
		{"dev/null", fs.ModeDevice | fs.ModeCharDevice | 0o666, 0, 1, "", "", 1, 3},
		{"tmp", fs.ModeDir | fs.ModeSticky | 0o777, 0, 2, "", "", 0, 0},
		{"x", fs.ModeSetuid | 0o755, 1, 1, "abcde", "", 0, 0},
	}
	r := NewCpioReader(bytes.NewReader(buf.Bytes()))
	for i, w := range want {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if e.Path != w.path || e.Mode != w.mode || e.UID != w.uid || e.NLink != w.nl || string(data) != w.data ||
			e.Linkname != w.link || e.Major != w.maj || e.Minor != w.min || e.Inode != uint32(i+1) || e.MTime != 1700000000 {
			t.Errorf("entry %d = %+v data %q, want %+v", i, e, data, w)
		}
	}
	if e, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last entry: %+v, %v; want io.EOF", e, err)
	}
}

func TestCpioConcatenatedSegments(t *testing.T) {
	var buf bytes.Buffer
	for _, name := range []string{"a", "b"} {
		cw := NewCpioWriter(&buf)
		if err := cw.WriteFile(name, 0o644, 0, 0, strings.NewReader(name), 1); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	entries, order := readArchive(t, buf.Bytes())
	if strings.Join(order, ",") != "/a,/b" || string(entries["/b"].data) != "b" {
		t.Errorf("entries %v", order)
	}
}

func TestCpioWriterRejects(t *testing.T) {
	for _, p := range []string{"", "/", ".", "..", "../x", "a//b", "a/./b", "a/", "TRAILER!!!", "a\x00b"} {
		cw := NewCpioWriter(io.Discard)
		if err := cw.WriteDir(p, 0o755, 0, 0); err == nil {
			t.Errorf("WriteDir(%q) succeeded", p)
		}
	}
	cw := NewCpioWriter(io.Discard)
	if err := cw.WriteFile("a", 0o644, -1, 0, strings.NewReader(""), 0); err == nil {
		t.Error("negative uid accepted")
	}
	cw = NewCpioWriter(io.Discard)
	if err := cw.WriteFile("a", 0o644, 0, 0, strings.NewReader("ab"), 5); err == nil {
		t.Error("short file accepted")
	}
	if err := cw.Close(); err == nil {
		t.Error("Close after a failed write succeeded")
	}
	cw = NewCpioWriter(io.Discard)
	if err := cw.WriteFile("a", 0o644, 0, 0, strings.NewReader(""), 1<<32); err == nil {
		t.Error("4 GiB file accepted")
	}
	cw = NewCpioWriter(&failWriter{})
	if err := cw.WriteDir("a", 0o755, 0, 0); err == nil {
		t.Error("write error not reported")
	}
	cw = NewCpioWriter(io.Discard)
	cw.Close()
	if err := cw.WriteDir("a", 0o755, 0, 0); err == nil {
		t.Error("write after Close accepted")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestReadManifestErrors(t *testing.T) {
	var noManifest bytes.Buffer
	cw := NewCpioWriter(&noManifest)
	cw.WriteDir("etc", 0o755, 0, 0)
	cw.Close()

	var badJSON bytes.Buffer
	cw = NewCpioWriter(&badJSON)
	cw.WriteFile("unik/manifest.json", 0o644, 0, 0, strings.NewReader("{"), 1)
	cw.Close()

	var badSchema bytes.Buffer
	cw = NewCpioWriter(&badSchema)
	cw.WriteFile("unik/manifest.json", 0o644, 0, 0, strings.NewReader(`{"schema_version":9}`), 20)
	cw.Close()

	valid := noManifest.Bytes()
	tests := []struct {
		name    string
		payload []byte
		want    error
	}{
		{"empty", nil, ErrNoManifest},
		{"no manifest", valid, ErrNoManifest},
		{"garbage", []byte("this is not a cpio archive at all, not at all..................."), ErrCorruptPayload},
		{"truncated", valid[:60], ErrCorruptPayload},
		{"truncated name", valid[:112], ErrCorruptPayload},
		{"bad hex", append([]byte("070701zzzzzzzz"), valid[14:]...), ErrCorruptPayload},
		{"bad json", badJSON.Bytes(), ErrCorruptPayload},
		{"bad schema", badSchema.Bytes(), ErrCorruptPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadManifest(bytes.NewReader(tt.payload))
			if !errors.Is(err, tt.want) {
				t.Errorf("ReadManifest error = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzReadManifest(f *testing.F) {
	var buf bytes.Buffer
	cw := NewCpioWriter(&buf)
	cw.WriteSymlink("l", "t", 0, 0)
	cw.WriteFile("unik/manifest.json", 0o644, 0, 0, strings.NewReader(`{"schema_version":1}`), 20)
	cw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("070701"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ReadManifest(bytes.NewReader(b))
	})
}
