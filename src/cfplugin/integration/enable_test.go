package integration

import (
	"slices"
	"testing"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccstandin"
	"github.com/unik-cf/unik/src/cfplugin/internal/unikplugin"
)

const listWeb = "/v3/apps?names=web&space_guids=space-guid-1"

func TestEnableUnikPatchesLifecycleAndIsIdempotent(t *testing.T) {
	s := newSession(t)
	guid := s.cc.AddApp(ccstandin.AppSpec{Name: "web", Buildpacks: []string{"go_buildpack"}, Package: true})

	r := s.mustCF("enable-unik", "web")
	assertRequests(t, s.cc.Take(),
		want{"GET", listWeb, ""},
		want{"PATCH", "/v3/apps/" + guid,
			`{"lifecycle":{"type":"buildpack","data":{"stack":"unik","buildpacks":["go_buildpack","unik_buildpack"]}}}`},
	)
	assertContains(t, "stdout", r.stdout, "Enabling UniK for app web in org unik-org / space dev as dev-user",
		"Buildpacks: go_buildpack, unik_buildpack", "OK", "cf restage web")

	// A second run finds the app on UniK already and changes nothing.
	r = s.mustCF("enable-unik", "web")
	assertRequests(t, s.cc.Take(), want{"GET", listWeb, ""})
	assertContains(t, "stdout", r.stdout, "already has stack unik")
}

func TestEnableUnikRestageStagesSetsDropletAndRestarts(t *testing.T) {
	s := newSession(t)
	// An auto-detected app: no buildpacks of its own, a droplet staged with nodejs.
	guid := s.cc.AddApp(ccstandin.AppSpec{Name: "web", Droplet: true, DropletBuildpacks: []string{"nodejs_buildpack"}})
	pkg := s.cc.PackageGUIDs(guid)[0]

	r := s.mustCF("enable-unik", "web", "--restage")

	build := s.cc.BuildGUIDs(guid)[0]
	app := findApp(t, s.cc, "web")
	assertRequests(t, s.cc.Take(),
		want{"GET", listWeb, ""},
		want{"GET", "/v3/apps/" + guid + "/droplets/current", ""},
		want{"PATCH", "/v3/apps/" + guid,
			`{"lifecycle":{"type":"buildpack","data":{"stack":"unik","buildpacks":["nodejs_buildpack","unik_buildpack"]}}}`},
		want{"GET", "/v3/apps/" + guid + "/packages?order_by=-created_at&per_page=1&states=READY", ""},
		want{"POST", "/v3/builds", `{"package":{"guid":"` + pkg + `"}}`},
		want{"GET", "/v3/builds/" + build, ""},
		want{"PATCH", "/v3/apps/" + guid + "/relationships/current_droplet", `{"data":{"guid":"` + app.DropletGUID + `"}}`},
		want{"POST", "/v3/apps/" + guid + "/actions/restart", ""},
	)
	stack, bps, _ := s.cc.DropletOf(app.DropletGUID)
	if stack != unikplugin.UnikStack || !slices.Equal(bps, []string{"nodejs_buildpack", "unik_buildpack"}) || app.State != "STARTED" {
		t.Errorf("after restage: droplet stack %q buildpacks %v, app %s; want unik, [nodejs_buildpack unik_buildpack], STARTED", stack, bps, app.State)
	}
	assertContains(t, "stdout", r.stdout, "Restaging app web", "App web restarted with droplet "+app.DropletGUID)
}

func TestEnableUnikUnknownAppFails(t *testing.T) {
	s := newSession(t)
	r := s.cf("enable-unik", "nosuch")
	if r.exitCode == 0 {
		t.Fatalf("want a non-zero exit:\n%s", r)
	}
	assertContains(t, "stderr", r.stderr, "App 'nosuch' not found in space 'dev' of org 'unik-org'.")
	assertContains(t, "stdout", r.stdout, "FAILED")
	assertRequests(t, s.cc.Take(), want{"GET", "/v3/apps?names=nosuch&space_guids=space-guid-1", ""})
}

func TestEnableUnikPassesCloudControllerErrorThrough(t *testing.T) {
	s := newSession(t)
	guid := s.cc.AddApp(ccstandin.AppSpec{Name: "web", Buildpacks: []string{"go_buildpack"}})
	s.cc.Fail("PATCH", "/v3/apps/"+guid, 422,
		ccstandin.APIError{Code: 390001, Title: "CF-StackNotFound", Detail: "Stack 'unik' does not exist"})

	r := s.cf("enable-unik", "web")
	if r.exitCode == 0 {
		t.Fatalf("want a non-zero exit:\n%s", r)
	}
	assertContains(t, "stderr", r.stderr, "PATCH /v3/apps/"+guid, "HTTP 422", "CF-StackNotFound (code 390001): Stack 'unik' does not exist")
	if a := findApp(t, s.cc, "web"); a.Stack != "cflinuxfs4" {
		t.Errorf("app stack is %q after a refused PATCH", a.Stack)
	}
}

func TestEnableUnikNotLoggedInFails(t *testing.T) {
	s := newSession(t)
	s.mustCF("logout")
	s.cc.Take()
	r := s.cf("enable-unik", "web")
	if r.exitCode == 0 {
		t.Fatalf("want a non-zero exit:\n%s", r)
	}
	assertContains(t, "stderr", r.stderr, "Not logged in. Use 'cf login'")
	if got := s.cc.Take(); len(got) != 0 {
		t.Errorf("the plugin reached the Cloud Controller while logged out:\n%s", dump(got))
	}
}
