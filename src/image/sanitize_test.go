package image

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/internal/cpiotest"
)

// base is what a sane payload starts with.
var base = []cpiotest.Entry{{Name: "home", Mode: cpiotest.Dir}, {Name: "home/vcap", Mode: cpiotest.Dir}, {Name: "home/vcap/app", Mode: cpiotest.Dir},
	{Name: "unik", Mode: cpiotest.Dir}, {Name: "unik/manifest.json", Mode: cpiotest.File, Data: `{"schema_version":1}`}}

func with(extra ...cpiotest.Entry) []byte {
	return cpiotest.Archive(append(append([]cpiotest.Entry(nil), base...), extra...)...)
}

func sanitize(t *testing.T, payload []byte) (map[string]archiveEntry, SanitizeReport, error) {
	t.Helper()
	var out bytes.Buffer
	rep, err := Sanitize(bytes.NewReader(payload), &out)
	if err != nil {
		return nil, rep, err
	}
	entries, _ := readArchive(t, out.Bytes())
	return entries, rep, nil
}

func TestSanitizeDrops(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		gone    []string // paths that must not be in the result
		kept    []string
	}{
		{"an /init of its own", with(cpiotest.Entry{Name: "init", Mode: 0o100755, Data: "PWNED"}), []string{"/init"}, nil},
		{"an /init directory with children", with(cpiotest.Entry{Name: "init", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "init/x", Mode: cpiotest.File, Data: "x"}),
			[]string{"/init", "/init/x"}, nil},
		{"an /init symlink", with(cpiotest.Entry{Name: "init", Mode: cpiotest.Symlink, Data: "/home/vcap/app/evil"}), []string{"/init"}, nil},
		{"/init spelled ./init and /init", with(cpiotest.Entry{Name: "./init", Mode: cpiotest.File, Data: "a"}, cpiotest.Entry{Name: "/sbin", Mode: cpiotest.Dir},
			cpiotest.Entry{Name: "/sbin/init", Mode: 0o100755, Data: "b"}), []string{"/init"}, []string{"/sbin/init"}},
		{"a pre-made config", with(cpiotest.Entry{Name: "unik/config.json", Mode: cpiotest.File, Data: "{}"}), []string{"/unik/config.json"}, []string{"/unik/manifest.json"}},
		{"kernel modules of its own", with(cpiotest.Entry{Name: "unik/modules", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "unik/modules/order", Mode: cpiotest.File, Data: "evil.ko"}),
			[]string{"/unik/modules", "/unik/modules/order"}, nil},
		{"device nodes and fifos", with(cpiotest.Entry{Name: "dev", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "dev/console", Mode: cpiotest.CharDev, Major: 4},
			cpiotest.Entry{Name: "home/vcap/app/mem", Mode: 0o020666, Major: 1}, cpiotest.Entry{Name: "home/vcap/app/fifo", Mode: cpiotest.Fifo}),
			[]string{"/dev/console", "/home/vcap/app/mem", "/home/vcap/app/fifo"}, []string{"/dev"}},
		{"system files", with(cpiotest.Entry{Name: "etc", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "etc/passwd", Mode: cpiotest.File, Data: "vcap:x:0:0"},
			cpiotest.Entry{Name: "etc/hosts", Mode: cpiotest.Symlink, Data: "/proc/sysrq-trigger"}, cpiotest.Entry{Name: "etc/ssl", Mode: cpiotest.Dir}),
			[]string{"/etc/passwd", "/etc/hosts"}, []string{"/etc", "/etc/ssl"}},
		{"system directories that are not directories", with(cpiotest.Entry{Name: "dev", Mode: cpiotest.Symlink, Data: "/home/vcap/app"},
			cpiotest.Entry{Name: "tmp", Mode: cpiotest.File, Data: "x"}, cpiotest.Entry{Name: "etc", Mode: cpiotest.Symlink, Data: "home"}),
			[]string{"/dev", "/tmp", "/etc"}, nil},
		{"what lies beneath a dropped entry", with(cpiotest.Entry{Name: "tmp", Mode: cpiotest.Symlink, Data: "/"}, cpiotest.Entry{Name: "tmp/init", Mode: cpiotest.File, Data: "x"}),
			[]string{"/tmp", "/tmp/init"}, nil},
		{"the root entry", cpiotest.Archive(append([]cpiotest.Entry{{Name: ".", Mode: 0o040777, UID: 2000}}, base...)...), []string{"/."}, []string{"/home"}},
		{"mounted-over content", with(cpiotest.Entry{Name: "proc", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "proc/x", Mode: cpiotest.File, Data: "x"}), []string{"/proc/x"}, []string{"/proc"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries, rep, err := sanitize(t, c.payload)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.gone {
				if _, ok := entries[p]; ok {
					t.Errorf("%s is still there", p)
				}
			}
			for _, p := range append(c.kept, "/unik/manifest.json") {
				if _, ok := entries[p]; !ok {
					t.Errorf("%s was dropped", p)
				}
			}
			if len(rep.Dropped) == 0 {
				t.Error("the report names nothing dropped")
			}
		})
	}
}

func TestSanitizeRefuses(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		want    error
	}{
		{"a hard link group", with(cpiotest.Entry{Name: "home/vcap/app/a", Mode: cpiotest.File, NLink: 2, Ino: 99},
			cpiotest.Entry{Name: "home/vcap/app/b", Mode: cpiotest.File, NLink: 2, Ino: 99, Data: "x"}), ErrUnsafePayload},
		{"an entry through a symlink", with(cpiotest.Entry{Name: "home/vcap/app/l", Mode: cpiotest.Symlink, Data: "/"},
			cpiotest.Entry{Name: "home/vcap/app/l/init", Mode: cpiotest.File, Data: "x"}), ErrUnsafePayload},
		{"an entry through a symlinked directory", with(cpiotest.Entry{Name: "home/vcap/app/l", Mode: cpiotest.Symlink, Data: "/"},
			cpiotest.Entry{Name: "home/vcap/app/l/unik", Mode: cpiotest.Dir}), ErrUnsafePayload},
		{"a missing parent", with(cpiotest.Entry{Name: "home/vcap/app/nowhere/x", Mode: cpiotest.File}), ErrUnsafePayload},
		{"a file as parent", with(cpiotest.Entry{Name: "home/vcap/app/f", Mode: cpiotest.File}, cpiotest.Entry{Name: "home/vcap/app/f/x", Mode: cpiotest.File}), ErrUnsafePayload},
		{"a path twice", with(cpiotest.Entry{Name: "home/vcap/app/f", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "home/vcap/app/f", Mode: cpiotest.Symlink, Data: "/"}), ErrUnsafePayload},
		{"dot-dot", with(cpiotest.Entry{Name: "home/vcap/app/../../../init", Mode: cpiotest.File}), ErrUnsafePayload},
		{"leading dot-dot", with(cpiotest.Entry{Name: "../init", Mode: cpiotest.File}), ErrUnsafePayload},
		{"double slash", with(cpiotest.Entry{Name: "home//vcap", Mode: cpiotest.Dir}), ErrUnsafePayload},
		{"a manifest symlink", cpiotest.Archive(cpiotest.Entry{Name: "unik", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "unik/manifest.json", Mode: cpiotest.Symlink, Data: "/x"}), ErrUnsafePayload},
		{"a huge manifest", cpiotest.Archive(cpiotest.Entry{Name: "unik", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "unik/manifest.json", Mode: cpiotest.File,
			Data: strings.Repeat(" ", maxManifestSize+1)}), ErrUnsafePayload},
		{"an entry claiming more data than there is", with(cpiotest.Entry{Name: "home/vcap/app/f", Mode: cpiotest.File, Data: "x", LieLen: 4096, Cut: true}), ErrCorruptPayload},
		{"not cpio", []byte("\x1f\x8b\x08gzip"), ErrCorruptPayload},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := sanitize(t, c.payload); !errors.Is(err, c.want) {
				t.Errorf("Sanitize: %v, want %v", err, c.want)
			}
		})
	}
}

func TestSanitizeNormalizes(t *testing.T) {
	entries, _, err := sanitize(t, with(cpiotest.Entry{Name: "home/vcap/app/suid", Mode: 0o104755, Data: "x"},
		cpiotest.Entry{Name: "usr", Mode: cpiotest.Dir, UID: 2000}, cpiotest.Entry{Name: "usr/sgid", Mode: 0o102755, UID: 2000, Data: "y"},
		cpiotest.Entry{Name: "tmp", Mode: 0o041777, UID: 2000}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		mode fs.FileMode
		uid  int
	}{
		"/home/vcap":          {fs.ModeDir | 0o755, 2000},
		"/home/vcap/app/suid": {0o755, 2000},
		"/usr":                {fs.ModeDir | 0o755, 0},
		"/usr/sgid":           {0o755, 0},
		"/tmp":                {fs.ModeDir | fs.ModeSticky | 0o777, 0},
		"/unik/manifest.json": {0o644, 0},
		"/home":               {fs.ModeDir | 0o755, 0},
		"/home/vcap/app":      {fs.ModeDir | 0o755, 2000},
		"/unik":               {fs.ModeDir | 0o755, 0},
	}
	for p, w := range want {
		e, ok := entries[p]
		if !ok || e.Mode != w.mode || e.UID != w.uid || e.GID != w.uid || (!e.Mode.IsDir() && e.NLink != 1) {
			t.Errorf("%s: %+v, want mode %v owner %d", p, e.CpioEntry, w.mode, w.uid)
		}
	}
}

// TestSanitizeBuiltPayload: a payload Build wrote loses only /init, its device nodes and its
// system files (the engine's system segment brings the same), and sanitizing is idempotent.
func TestSanitizeBuiltPayload(t *testing.T) {
	payload, _ := mustBuild(t, BuildOptions{AppDir: staticApp(t)})
	var once, twice bytes.Buffer
	rep, err := Sanitize(bytes.NewReader(payload), &once)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rep.Dropped, " "); got != "/dev/console /dev/null /etc/group /etc/hosts /etc/nsswitch.conf /etc/passwd /init" {
		t.Errorf("dropped %s", got)
	}
	if _, err := Sanitize(bytes.NewReader(once.Bytes()), &twice); err != nil || !bytes.Equal(once.Bytes(), twice.Bytes()) {
		t.Errorf("sanitizing twice differs (%v)", err)
	}
	before, _ := readArchive(t, payload)
	after, _ := readArchive(t, once.Bytes())
	for p, e := range before {
		a, ok := after[p]
		switch {
		case p == GuestInit || e.Mode&fs.ModeDevice != 0 || systemFile(p[1:]):
			if ok {
				t.Errorf("%s kept", p)
			}
		case !ok || a.Mode != e.Mode || a.UID != e.UID || !bytes.Equal(a.data, e.data) || a.Linkname != e.Linkname:
			t.Errorf("%s changed: %+v -> %+v", p, e.CpioEntry, a.CpioEntry)
		}
	}
	if _, err := ReadManifest(bytes.NewReader(once.Bytes())); err != nil {
		t.Errorf("manifest of the sanitized payload: %v", err)
	}
}

func TestWriteSystem(t *testing.T) {
	var b bytes.Buffer
	cw := NewCpioWriter(&b)
	if err := WriteSystem(cw, strings.NewReader("INIT"), 4); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	entries, order := readArchive(t, b.Bytes())
	if e := entries[GuestInit]; string(e.data) != "INIT" || e.Mode != 0o755 || e.UID != 0 || order[len(order)-1] != GuestInit {
		t.Errorf("/init %+v, last of %v", e.CpioEntry, order)
	}
	for _, p := range []string{"/dev/console", "/etc/passwd", "/unik", "/tmp"} {
		if e, ok := entries[p]; !ok || e.UID != 0 || e.NLink > 2 {
			t.Errorf("%s: %+v", p, e)
		}
	}
	if _, err := Sanitize(bytes.NewReader(b.Bytes()), &bytes.Buffer{}); err != nil {
		t.Errorf("the system segment is itself a sane payload: %v", err)
	}
}
