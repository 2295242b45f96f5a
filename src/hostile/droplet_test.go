package hostile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/internal/cpiotest"
	dt "github.com/unik-cf/unik/src/internal/droplettest"
)

// TestDropletCannotChooseWhatRunsInTheGuest: a droplet whose staged image asks to run the app
// as root and carries its own /init (an init that would print PWNED and reset the VM). The
// cell's init runs, and it runs the app as vcap.
func TestDropletCannotChooseWhatRunsInTheGuest(t *testing.T) {
	cell := newDropletCell(t)
	probe, evil := dropletBuild(t, dropletProbeSource), dropletBuild(t, dropletEvilInitSource)
	rootManifest := dt.Manifest("probe", "root", 0, 0)

	t.Run("a staged droplet through the image cache", func(t *testing.T) {
		entries := dt.Staged(t, "probe", probe, rootManifest,
			cpiotest.Entry{Name: "init", Mode: cpiotest.Exec, Data: string(evil)},
			cpiotest.Entry{Name: "sbin", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "sbin/init", Mode: cpiotest.Exec, Data: string(evil)},
			cpiotest.Entry{Name: "dev", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "dev/console", Mode: cpiotest.CharDev, Major: 1, Data: ""},
			cpiotest.Entry{Name: "etc", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "etc/passwd", Mode: cpiotest.File, Data: "vcap:x:0:0::/:/init\n"})
		path := filepath.Join(t.TempDir(), "droplet.tgz")
		sum := dt.Tgz(t, path, entries...)
		dir := t.TempDir()
		cache, err := imagecache.New(filepath.Join(dir, "work"), imagestore.Store{Dir: filepath.Join(dir, "images")}, cell.initPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		img, err := cache.Image(context.Background(), imagecache.Request{URL: dropletServe(t, path), ChecksumAlgorithm: "sha256",
			ChecksumValue: sum, MaxBytes: 256 << 20}, func(m string) { t.Log(m) })
		if err != nil {
			t.Fatalf("prepare the droplet: %v", err)
		}
		r := cell.run(t, engine.RunSpec{Image: img, MemoryMB: 128})
		cell.nothingEscaped(t, r)
		if !strings.Contains(r.console, `unik-init: the image's manifest asks to run the app as user "root" uid 0 gid 0; ignored`) {
			t.Errorf("the console does not say the manifest's identity was ignored:\n%s", tail(r.console, 3000))
		}
		if !strings.Contains(r.stdout, `passwd="root:x:0:0:`) {
			t.Errorf("/etc/passwd is not the cell's:\n%s", r.stdout)
		}
	})

	t.Run("a raw hostile payload through the engine alone", func(t *testing.T) {
		// Not sanitized on import: the engine's initrd must hold by itself.
		m, err := json.Marshal(rootManifest)
		if err != nil {
			t.Fatal(err)
		}
		payload := cpiotest.Archive(
			cpiotest.Entry{Name: ".", Mode: 0o040777, UID: 2000},
			cpiotest.Entry{Name: "init", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "init/x", Mode: cpiotest.File, Data: "keeps /init a directory"},
			cpiotest.Entry{Name: "sbin", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "sbin/init", Mode: cpiotest.Exec, Data: string(evil)},
			cpiotest.Entry{Name: "home", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "home/vcap", Mode: cpiotest.Dir},
			cpiotest.Entry{Name: "home/vcap/app", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "home/vcap/app/probe", Mode: 0o104755, Data: string(probe)},
			cpiotest.Entry{Name: "unik", Mode: 0o040777, UID: 2000}, cpiotest.Entry{Name: "unik/manifest.json", Mode: cpiotest.File, Data: string(m)},
			cpiotest.Entry{Name: "unik/config.json", Mode: cpiotest.File, Data: `{"instance_id":"tenant","env":["EVIL=1"]}`},
			cpiotest.Entry{Name: "dev", Mode: cpiotest.Symlink, Data: "/home/vcap/app"})
		img := dropletStore(t, payload, rootManifest)
		r := cell.run(t, engine.RunSpec{Image: img, MemoryMB: 128})
		cell.nothingEscaped(t, r)
	})

	t.Run("a payload with hard links is refused by the engine", func(t *testing.T) {
		payload := cpiotest.Archive(cpiotest.Entry{Name: "home", Mode: cpiotest.Dir},
			cpiotest.Entry{Name: "unik", Mode: cpiotest.Dir}, cpiotest.Entry{Name: "home/c", Mode: cpiotest.File, NLink: 2, Ino: 5},
			cpiotest.Entry{Name: "unik/config.json", Mode: cpiotest.File, NLink: 2, Ino: 5})
		img := dropletStore(t, payload, rootManifest)
		_, err := cell.engine.Run(context.Background(), engine.RunSpec{Image: img, MemoryMB: 128})
		if !errors.Is(err, image.ErrUnsafePayload) {
			t.Errorf("Run: %v, want ErrUnsafePayload", err)
		}
		if list, err := cell.engine.List(); err != nil || len(list) != 0 {
			t.Errorf("instances left after the refusal: %v %v", list, err)
		}
	})
}

// dropletStore puts a payload into an image store as it is, as if it had been imported.
func dropletStore(t *testing.T, payload []byte, m image.Manifest) imagestore.Image {
	t.Helper()
	store := imagestore.Store{Dir: t.TempDir()}
	tmp, err := store.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	img, err := store.Put("hostile", tmp.Name(), image.Result{Manifest: m, Digest: image.DigestPrefix + hex.EncodeToString(sum[:]), Size: int64(len(payload))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(store.Dir) })
	return img
}
