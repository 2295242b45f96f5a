package integration

import (
	"testing"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccstandin"
)

func TestDisableUnikRestoresStackAndDropsUnikBuildpack(t *testing.T) {
	s := newSession(t)
	web := s.cc.AddApp(ccstandin.AppSpec{Name: "web", Stack: "unik", Buildpacks: []string{"go_buildpack", "unik_buildpack"}})
	solo := s.cc.AddApp(ccstandin.AppSpec{Name: "solo", Stack: "unik", Buildpacks: []string{"unik_buildpack"}})

	r := s.mustCF("disable-unik", "web")
	assertRequests(t, s.cc.Take(),
		want{"GET", listWeb, ""},
		want{"PATCH", "/v3/apps/" + web,
			`{"lifecycle":{"type":"buildpack","data":{"stack":"cflinuxfs4","buildpacks":["go_buildpack"]}}}`},
	)
	assertContains(t, "stdout", r.stdout, "Disabling UniK for app web", "Stack:      cflinuxfs4", "cf restage web")

	// No buildpack left: null, which the Cloud Controller reads as auto-detect.
	s.mustCF("disable-unik", "solo", "--stack", "cflinuxfs4")
	assertRequests(t, s.cc.Take(),
		want{"GET", "/v3/apps?names=solo&space_guids=space-guid-1", ""},
		want{"PATCH", "/v3/apps/" + solo, `{"lifecycle":{"type":"buildpack","data":{"stack":"cflinuxfs4","buildpacks":null}}}`},
	)
	if a := findApp(t, s.cc, "solo"); a.Stack != "cflinuxfs4" || len(a.Buildpacks) != 0 {
		t.Errorf("solo after disable: stack %q buildpacks %v", a.Stack, a.Buildpacks)
	}
}

func TestDisableUnikRefusesUnikStack(t *testing.T) {
	s := newSession(t)
	s.cc.AddApp(ccstandin.AppSpec{Name: "web", Stack: "unik", Buildpacks: []string{"unik_buildpack"}})
	r := s.cf("disable-unik", "web", "--stack", "unik")
	if r.exitCode == 0 {
		t.Fatalf("want a non-zero exit:\n%s", r)
	}
	assertContains(t, "stderr", r.stderr, "Incorrect Usage", "--stack unik would keep the app on UniK", "cf disable-unik APP_NAME")
	if got := s.cc.Take(); len(got) != 0 {
		t.Errorf("a usage error reached the Cloud Controller:\n%s", dump(got))
	}
}
