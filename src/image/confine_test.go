package image

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuilderStaysInTheAppDirectory: the app directory may be an extracted droplet, its links
// the tenant's. Chains of links that stay inside by their own names (q -> ., then p ->
// q/../q/../x) but lead out of it when followed must not make the builder read the host.
func TestBuilderStaysInTheAppDirectory(t *testing.T) {
	const secret = "host-secret-7f3a9c"
	cases := []struct {
		name  string
		files map[string]string // beyond a static program "hello" and the links q -> . and d/q -> .
		start string
	}{
		{"program through a chain", map[string]string{"d/prog": "->q/../q/../x"}, "./d/prog"},
		{"program through a chain of chains", map[string]string{"d/p1": "->q/../q", "d/prog": "->p1/../x"}, "./d/prog"},
		{"program directory through a chain", map[string]string{"d/bin": "->q/../q/..", "Procfile": "web: ./d/bin/x\n"}, ""},
		{"Procfile through a chain", map[string]string{"Procfile": "->q/../Procfile-outside"}, ""},
		{"Procfile through a link to the parent", map[string]string{"up": "->q/..", "Procfile": "->d/q/../up/Procfile-outside"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outer := t.TempDir()
			app := filepath.Join(outer, "app")
			sys := filepath.Join(outer, "sysroot")
			elf, err := os.ReadFile(staticELF)
			if err != nil {
				t.Fatal(err)
			}
			// what the chains reach: the guest's /home/vcap/x (the host's, in the system
			// root) and the app directory's parent on the host
			for _, p := range []string{filepath.Join(sys, "home", "vcap", "x"), filepath.Join(outer, "x")} {
				copyFile(t, staticELF, p, 0o755)
				if err := os.WriteFile(p, append(elf, secret...), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeFiles(t, outer, map[string]string{"Procfile-outside": "web: ./" + secret + "\n"})
			copyFile(t, staticELF, filepath.Join(app, "hello"), 0o755)
			files := map[string]string{"q": "->.", "d/q": "->."}
			for k, v := range c.files {
				files[k] = v
			}
			writeFiles(t, app, files)
			out, _, err := build(t, BuildOptions{AppDir: app, SysRoot: sys, StartCommand: c.start})
			t.Logf("Build: %v", err)
			if err == nil {
				t.Fatal("Build followed the app's links out of the app directory")
			}
			if bytes.Contains(out, []byte(secret)) || strings.Contains(err.Error(), secret) {
				t.Errorf("the host's file leaked into the image or the error: %v", err)
			}
			if c.start != "" && !errors.Is(err, ErrAppFile) {
				t.Errorf("error %v, want ErrAppFile", err)
			}
		})
	}
}

func TestBuilderFollowsLinksInsideTheAppDirectory(t *testing.T) {
	app := t.TempDir()
	copyFile(t, staticELF, filepath.Join(app, "hello"), 0o755)
	writeFiles(t, app, map[string]string{"q": "->.", "d/q": "->.", "d/prog": "->q/../q/hello", "abs": "->/home/vcap/app/d/prog",
		"Procfile": "->d/q/../Procfile.real", "Procfile.real": "web: ./abs\n"})
	payload, res := mustBuild(t, BuildOptions{AppDir: app})
	entries, _ := readArchive(t, payload)
	if res.Manifest.StartCommand != "./abs" || resolveIn(t, entries, res.Manifest.Program) != GuestAppDir+"/hello" {
		t.Errorf("manifest %+v", res.Manifest)
	}
}
