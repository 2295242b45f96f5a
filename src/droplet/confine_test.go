package droplet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyAppFollowsNoLink: an extracted droplet's links are the tenant's; the image files
// must be the app directory's own regular files, never what a link points to.
func TestVerifyAppFollowsNoLink(t *testing.T) {
	for _, name := range []string{PayloadFile, ImageFile} {
		t.Run(name, func(t *testing.T) {
			appDir, _ := stage(t)
			l := Layout{AppDir: appDir}
			elsewhere := filepath.Join(t.TempDir(), name) // a good copy, outside the app directory
			inside := filepath.Join(l.Dir(), name)
			if err := os.Rename(inside, elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, inside); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyApp(appDir); !errors.Is(err, ErrCorrupt) {
				t.Errorf("VerifyApp with ./.unik/%s a link out of the app directory: %v, want ErrCorrupt", name, err)
			}
			if err := os.Remove(inside); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join("..", "..", filepath.Base(filepath.Dir(elsewhere)), name), inside); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyApp(appDir); !errors.Is(err, ErrCorrupt) {
				t.Errorf("VerifyApp with ./.unik/%s a relative link: %v, want ErrCorrupt", name, err)
			}
		})
	}
}
