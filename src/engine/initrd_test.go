package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/image"
	c "github.com/unik-cf/unik/src/internal/cpiotest"
)

var (
	// sane is the start of a payload as the builder makes it.
	sane = []c.Entry{{Name: "home", Mode: c.Dir}, {Name: "home/vcap", Mode: c.Dir, UID: 2000},
		{Name: "home/vcap/app", Mode: c.Dir, UID: 2000}, {Name: "home/vcap/app/app", Mode: c.Exec, UID: 2000, Data: "APP"},
		{Name: "unik", Mode: c.Dir}, {Name: "unik/manifest.json", Mode: c.File, Data: `{"uid":0,"gid":0,"user":"root"}`}}
	// prefix is a fallback kernel's modules segment.
	prefix = c.Archive(c.Entry{Name: "unik", Mode: c.Dir}, c.Entry{Name: "unik/modules", Mode: c.Dir},
		c.Entry{Name: "unik/modules/order", Mode: c.File, Data: "virtio.ko\n"})
)

func payload(extra ...c.Entry) []byte {
	return c.Archive(append(append([]c.Entry(nil), sane...), extra...)...)
}

// hostilePayloads are payloads that try to bring their own init, or to make the cell's
// config land where the app can read it. naive: whether they win against an initrd that
// appends the payload as it is (the model's check fails then).
var hostilePayloads = []struct {
	name    string
	payload []byte
	naive   bool
}{
	{"its own /init", payload(c.Entry{Name: "init", Mode: c.Exec, Data: "PWNED"}), false},
	{"/init a directory with children", payload(c.Entry{Name: "init", Mode: c.Dir}, c.Entry{Name: "init/x", Mode: c.File}), true},
	{"/init a symlink into the app", payload(c.Entry{Name: "init", Mode: c.Symlink, Data: "/home/vcap/app/app"}), false},
	{"/init a hard link of an app file", payload(c.Entry{Name: "home/vcap/app/i", Mode: c.Exec, NLink: 2, Ino: 77, UID: 2000},
		c.Entry{Name: "init", Mode: c.Exec, NLink: 2, Ino: 77, Data: "PWNED"}), false},
	{"/init made through a symlink", payload(c.Entry{Name: "home/vcap/app/l", Mode: c.Symlink, Data: "/"},
		c.Entry{Name: "home/vcap/app/l/init", Mode: c.Dir}, c.Entry{Name: "home/vcap/app/l/init/x", Mode: c.File}), true},
	{"/unik a symlink into the app", c.Archive(append(sane[:4:4], c.Entry{Name: "home/vcap/app/u", Mode: c.Dir, UID: 2000},
		c.Entry{Name: "unik", Mode: c.Symlink, Data: "home/vcap/app/u"})...), false},
	{"/unik a vcap-owned directory", c.Archive(append(sane[:4:4], c.Entry{Name: "unik", Mode: 0o040777, UID: 2000})...), false},
	{"a config hard-linked to an app file", payload(c.Entry{Name: "home/vcap/app/c", Mode: c.File, NLink: 2, Ino: 88, UID: 2000},
		c.Entry{Name: "unik/config.json", Mode: c.File, NLink: 2, Ino: 88}), true},
	{"a config made through a symlink", payload(c.Entry{Name: "home/vcap/app/l", Mode: c.Symlink, Data: "/unik"},
		c.Entry{Name: "home/vcap/app/l/config.json", Mode: c.Symlink, Data: "/home/vcap/app/leak"}), false},
	{"a last entry that swallows what follows", payload(c.Entry{Name: "home/vcap/app/sink", Mode: c.File, LieLen: 1 << 20, Cut: true}), true},
	{"junk after the trailer", append(payload(c.Entry{Name: "init", Mode: c.Exec, Data: "PWNED"}), "JUNKJUNK"...), true},
}

func TestInitrdBootsTheCellsInit(t *testing.T) {
	dir := t.TempDir()
	initBytes := []byte("\x7fELF the cell's init")
	initPath := filepath.Join(dir, "unik-init")
	if err := os.WriteFile(initPath, initBytes, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := guestinit.Config{InstanceID: "i1", Env: []string{"SECRET=s3cr3t-value"}}
	config, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pre := range []struct {
		name string
		data []byte
	}{{"minimal kernel", nil}, {"fallback kernel", prefix}} {
		for _, h := range hostilePayloads {
			t.Run(pre.name+"/"+h.name, func(t *testing.T) {
				payloadPath, prefixPath := filepath.Join(t.TempDir(), "payload"), ""
				if err := os.WriteFile(payloadPath, h.payload, 0o644); err != nil {
					t.Fatal(err)
				}
				if pre.data != nil {
					prefixPath = filepath.Join(t.TempDir(), "prefix")
					if err := os.WriteFile(prefixPath, pre.data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				out := filepath.Join(t.TempDir(), "initrd")
				werr := writeInitrd(out, prefixPath, payloadPath, initPath, cfg)
				t.Logf("writeInitrd: %v", werr)
				if werr == nil {
					initrd, err := os.ReadFile(out)
					if err != nil {
						t.Fatal(err)
					}
					if err := unpack(initrd).bootsCellInit(initBytes, config); err != nil {
						t.Errorf("the payload wins: %v", err)
					}
				} else if !errors.Is(werr, image.ErrUnsafePayload) && !errors.Is(werr, image.ErrCorruptPayload) {
					t.Errorf("writeInitrd: %v, want a boot or a refusal of the payload", werr)
				}
				// the control: the same payload appended as it is
				naive := append(append(append(append([]byte(nil), pre.data...), h.payload...), systemSegment(t, initBytes)...), mustConfig(t, cfg)...)
				if err := unpack(naive).bootsCellInit(initBytes, config); (err != nil) != h.naive {
					t.Errorf("without sanitizing, the model says %v; the test expects the payload to win: %v", err, h.naive)
				}
			})
		}
	}
}

func TestInitrdOfABuiltImage(t *testing.T) {
	dir := t.TempDir()
	initPath := filepath.Join(dir, "unik-init")
	if err := os.WriteFile(initPath, []byte("INIT"), 0o755); err != nil {
		t.Fatal(err)
	}
	payloadPath := filepath.Join(dir, "payload")
	if err := os.WriteFile(payloadPath, payload(c.Entry{Name: "dev", Mode: c.Dir}, c.Entry{Name: "dev/console", Mode: c.CharDev, Major: 5}), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "initrd")
	cfg := guestinit.Config{InstanceID: "i1"}
	if err := writeInitrd(out, "", payloadPath, initPath, cfg); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("initrd %v %v, want 0600", fi, err)
	}
	initrd, _ := os.ReadFile(out)
	m := unpack(initrd)
	config, _ := json.Marshal(cfg)
	if err := m.bootsCellInit([]byte("INIT"), config); err != nil {
		t.Error(err)
	}
	if app := m.lookup("home/vcap/app/app", false); app == nil || string(app.data) != "APP" || app.uid != 2000 {
		t.Errorf("the app is not in the guest: %+v", app)
	}
	if con := m.lookup("dev/console", false); con == nil || con.kind != 'c' {
		t.Errorf("no console: %+v", con)
	}
	if err := writeInitrd(out, "", "", initPath, cfg); err != nil {
		t.Errorf("init alone (the accelerator probe): %v", err)
	}
	if err := writeInitrd(out, "", payloadPath, "", cfg); !errors.Is(err, ErrNoInit) {
		t.Errorf("no init path: %v, want ErrNoInit", err)
	}
}

func systemSegment(t *testing.T, init []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	cw := image.NewCpioWriter(&b)
	if err := image.WriteSystem(cw, bytes.NewReader(init), int64(len(init))); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustConfig(t *testing.T, cfg guestinit.Config) []byte {
	t.Helper()
	b, err := configSegment(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
