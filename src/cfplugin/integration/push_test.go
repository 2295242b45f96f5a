package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v2"
)

func TestUnikPushRunsRealPushWithUnikStack(t *testing.T) {
	s := newSession(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	r := s.mustCF("unik-push", "web", "-p", dir, "-b", "go_buildpack", "-m", "256M")
	assertContains(t, "stdout", r.stdout, "Running: cf push web -p "+dir+" -m 256M -s unik -b go_buildpack -b unik_buildpack")

	reqs := s.cc.Take()
	var manifest []byte
	for _, q := range reqs {
		if strings.HasPrefix(q.Path, "/v2/") {
			t.Errorf("cf push used the v2 API: %s", q)
		}
		if q.Method == "POST" && q.Path == "/v3/spaces/space-guid-1/actions/apply_manifest" {
			manifest = q.Body
		}
	}
	if manifest == nil {
		t.Fatalf("cf push applied no manifest; the stand-in saw:\n%s", dump(reqs))
	}
	var m struct {
		Applications []struct {
			Name       string   `yaml:"name"`
			Stack      string   `yaml:"stack"`
			Buildpacks []string `yaml:"buildpacks"`
			Memory     string   `yaml:"memory"`
		} `yaml:"applications"`
	}
	if err := yaml.Unmarshal(manifest, &m); err != nil {
		t.Fatalf("manifest %q: %v", manifest, err)
	}
	if len(m.Applications) != 1 {
		t.Fatalf("manifest has %d apps:\n%s", len(m.Applications), manifest)
	}
	got := m.Applications[0]
	if got.Name != "web" || got.Stack != "unik" || !slices.Equal(got.Buildpacks, []string{"go_buildpack", "unik_buildpack"}) || got.Memory != "256M" {
		t.Errorf("cf push sent manifest:\n%s\nwant app web, stack unik, buildpacks [go_buildpack unik_buildpack], memory 256M", manifest)
	}

	// The real push went on to stage and start: the droplet was staged for UniK.
	app := findApp(t, s.cc, "web")
	stack, bps, ok := s.cc.DropletOf(app.DropletGUID)
	if !ok || stack != "unik" || !slices.Equal(bps, []string{"go_buildpack", "unik_buildpack"}) || app.State != "STARTED" {
		t.Errorf("after push: app %+v, droplet stack %q buildpacks %v", app, stack, bps)
	}
}

func TestUnikPushRefusesDockerAndOtherStacks(t *testing.T) {
	s := newSession(t)
	for _, args := range [][]string{
		{"unik-push", "web", "-o", "nginx"},
		{"unik-push", "web", "--docker-image=nginx"},
		{"unik-push", "web", "-s", "cflinuxfs4"},
		{"unik-push", "web", "--stack", "cflinuxfs4"},
	} {
		r := s.cf(args...)
		if r.exitCode == 0 {
			t.Errorf("cf %v: want a non-zero exit:\n%s", args, r)
			continue
		}
		assertContains(t, "stderr", r.stderr, "is refused")
	}
	if got := s.cc.Take(); len(got) != 0 {
		t.Errorf("refused pushes reached the Cloud Controller:\n%s", dump(got))
	}
}
