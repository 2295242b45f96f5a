package image

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

// raw is a cpio entry written as is, whatever its name, links or type, as a hostile payload
// would carry it.
type raw struct {
	name   string
	mode   uint32 // with the type bits
	nlink  uint32
	ino    uint32
	uid    uint32
	data   string // content, or symlink target
	maj    uint32 // device number
	noPad  bool   // leave the archive without its trailer
	lieLen int    // claimed data size beyond the real one
}

func rawArchive(entries ...raw) []byte {
	var b bytes.Buffer
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	trailer := true
	for i, e := range entries {
		nlink, ino := e.nlink, e.ino
		if nlink == 0 {
			nlink = 1
		}
		if ino == 0 {
			ino = uint32(i + 1)
		}
		fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%s\x00",
			ino, e.mode, e.uid, e.uid, nlink, 0, len(e.data)+e.lieLen, 0, 0, e.maj, 0, len(e.name)+1, 0, e.name)
		pad()
		b.WriteString(e.data)
		if e.noPad {
			trailer = false
			break
		}
		pad()
	}
	if trailer {
		fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%s\x00", 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(cpioTrailer)+1, 0, cpioTrailer)
		pad()
	}
	return b.Bytes()
}

const (
	tDir  = 0o040755
	tFile = 0o100644
	tLink = 0o120777
	tChr  = 0o020600
	tFifo = 0o010644
)

// base is what a sane payload starts with.
var base = []raw{{name: "home", mode: tDir}, {name: "home/vcap", mode: tDir}, {name: "home/vcap/app", mode: tDir},
	{name: "unik", mode: tDir}, {name: "unik/manifest.json", mode: tFile, data: `{"schema_version":1}`}}

func with(extra ...raw) []byte { return rawArchive(append(append([]raw(nil), base...), extra...)...) }

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
		{"an /init of its own", with(raw{name: "init", mode: 0o100755, data: "PWNED"}), []string{"/init"}, nil},
		{"an /init directory with children", with(raw{name: "init", mode: tDir}, raw{name: "init/x", mode: tFile, data: "x"}),
			[]string{"/init", "/init/x"}, nil},
		{"an /init symlink", with(raw{name: "init", mode: tLink, data: "/home/vcap/app/evil"}), []string{"/init"}, nil},
		{"/init spelled ./init and /init", with(raw{name: "./init", mode: tFile, data: "a"}, raw{name: "/sbin", mode: tDir},
			raw{name: "/sbin/init", mode: 0o100755, data: "b"}), []string{"/init"}, []string{"/sbin/init"}},
		{"a pre-made config", with(raw{name: "unik/config.json", mode: tFile, data: "{}"}), []string{"/unik/config.json"}, []string{"/unik/manifest.json"}},
		{"kernel modules of its own", with(raw{name: "unik/modules", mode: tDir}, raw{name: "unik/modules/order", mode: tFile, data: "evil.ko"}),
			[]string{"/unik/modules", "/unik/modules/order"}, nil},
		{"device nodes and fifos", with(raw{name: "dev", mode: tDir}, raw{name: "dev/console", mode: tChr, maj: 4},
			raw{name: "home/vcap/app/mem", mode: 0o020666, maj: 1}, raw{name: "home/vcap/app/fifo", mode: tFifo}),
			[]string{"/dev/console", "/home/vcap/app/mem", "/home/vcap/app/fifo"}, []string{"/dev"}},
		{"system files", with(raw{name: "etc", mode: tDir}, raw{name: "etc/passwd", mode: tFile, data: "vcap:x:0:0"},
			raw{name: "etc/hosts", mode: tLink, data: "/proc/sysrq-trigger"}, raw{name: "etc/ssl", mode: tDir}),
			[]string{"/etc/passwd", "/etc/hosts"}, []string{"/etc", "/etc/ssl"}},
		{"system directories that are not directories", with(raw{name: "dev", mode: tLink, data: "/home/vcap/app"},
			raw{name: "tmp", mode: tFile, data: "x"}, raw{name: "etc", mode: tLink, data: "home"}),
			[]string{"/dev", "/tmp", "/etc"}, nil},
		{"what lies beneath a dropped entry", with(raw{name: "tmp", mode: tLink, data: "/"}, raw{name: "tmp/init", mode: tFile, data: "x"}),
			[]string{"/tmp", "/tmp/init"}, nil},
		{"the root entry", rawArchive(append([]raw{{name: ".", mode: 0o040777, uid: 2000}}, base...)...), []string{"/."}, []string{"/home"}},
		{"mounted-over content", with(raw{name: "proc", mode: tDir}, raw{name: "proc/x", mode: tFile, data: "x"}), []string{"/proc/x"}, []string{"/proc"}},
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
		{"a hard link group", with(raw{name: "home/vcap/app/a", mode: tFile, nlink: 2, ino: 99},
			raw{name: "home/vcap/app/b", mode: tFile, nlink: 2, ino: 99, data: "x"}), ErrUnsafePayload},
		{"an entry through a symlink", with(raw{name: "home/vcap/app/l", mode: tLink, data: "/"},
			raw{name: "home/vcap/app/l/init", mode: tFile, data: "x"}), ErrUnsafePayload},
		{"an entry through a symlinked directory", with(raw{name: "home/vcap/app/l", mode: tLink, data: "/"},
			raw{name: "home/vcap/app/l/unik", mode: tDir}), ErrUnsafePayload},
		{"a missing parent", with(raw{name: "home/vcap/app/nowhere/x", mode: tFile}), ErrUnsafePayload},
		{"a file as parent", with(raw{name: "home/vcap/app/f", mode: tFile}, raw{name: "home/vcap/app/f/x", mode: tFile}), ErrUnsafePayload},
		{"a path twice", with(raw{name: "home/vcap/app/f", mode: tDir}, raw{name: "home/vcap/app/f", mode: tLink, data: "/"}), ErrUnsafePayload},
		{"dot-dot", with(raw{name: "home/vcap/app/../../../init", mode: tFile}), ErrUnsafePayload},
		{"leading dot-dot", with(raw{name: "../init", mode: tFile}), ErrUnsafePayload},
		{"double slash", with(raw{name: "home//vcap", mode: tDir}), ErrUnsafePayload},
		{"a manifest symlink", rawArchive(raw{name: "unik", mode: tDir}, raw{name: "unik/manifest.json", mode: tLink, data: "/x"}), ErrUnsafePayload},
		{"a huge manifest", rawArchive(raw{name: "unik", mode: tDir}, raw{name: "unik/manifest.json", mode: tFile,
			data: strings.Repeat(" ", maxManifestSize+1)}), ErrUnsafePayload},
		{"an entry claiming more data than there is", with(raw{name: "home/vcap/app/f", mode: tFile, data: "x", lieLen: 4096, noPad: true}), ErrCorruptPayload},
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
	entries, _, err := sanitize(t, with(raw{name: "home/vcap/app/suid", mode: 0o104755, data: "x"},
		raw{name: "usr", mode: tDir, uid: 2000}, raw{name: "usr/sgid", mode: 0o102755, uid: 2000, data: "y"},
		raw{name: "tmp", mode: 0o041777, uid: 2000}))
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
		case p == GuestInit || e.Mode&fs.ModeDevice != 0 || systemFiles[p[1:]]:
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
