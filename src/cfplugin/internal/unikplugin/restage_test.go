package unikplugin

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccv3"
)

// fakeStager is a hand-written stager: builds go through the given states.
type fakeStager struct {
	pkgErr    error
	states    []string // build states returned by create, then each poll
	buildErr  string
	calls     []string
	dropletTo string
}

func (f *fakeStager) LatestPackage(_ context.Context, app string) (ccv3.Package, error) {
	f.calls = append(f.calls, "latest-package "+app)
	return ccv3.Package{GUID: "pkg-1"}, f.pkgErr
}

func (f *fakeStager) build() ccv3.Build {
	st := f.states[0]
	if len(f.states) > 1 {
		f.states = f.states[1:]
	}
	b := ccv3.Build{GUID: "build-1", State: st, Error: f.buildErr}
	if st == ccv3.BuildStaged {
		b.Droplet = &struct {
			GUID string `json:"guid"`
		}{GUID: "droplet-1"}
	}
	return b
}

func (f *fakeStager) CreateBuild(_ context.Context, pkg string) (ccv3.Build, error) {
	f.calls = append(f.calls, "create-build "+pkg)
	return f.build(), nil
}

func (f *fakeStager) GetBuild(_ context.Context, b string) (ccv3.Build, error) {
	f.calls = append(f.calls, "get-build "+b)
	return f.build(), nil
}

func (f *fakeStager) SetCurrentDroplet(_ context.Context, app, d string) error {
	f.calls = append(f.calls, "set-droplet "+app+" "+d)
	return nil
}

func (f *fakeStager) Restart(_ context.Context, app string) error {
	f.calls = append(f.calls, "restart "+app)
	return nil
}

func testEnv() Env {
	return Env{Stdout: io.Discard, Stderr: io.Discard, PollInterval: time.Millisecond, StagingTimeout: time.Second}
}

var webApp = ccv3.App{GUID: "app-1", Name: "web"}

func TestRestagePollsUntilStagedThenSetsDropletAndRestarts(t *testing.T) {
	f := &fakeStager{states: []string{"STAGING", "STAGING", "STAGED"}}
	if err := restage(context.Background(), f, webApp, testEnv()); err != nil {
		t.Fatal(err)
	}
	want := []string{"latest-package app-1", "create-build pkg-1", "get-build build-1", "get-build build-1",
		"set-droplet app-1 droplet-1", "restart app-1"}
	if strings.Join(f.calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls\n %q\nwant\n %q", f.calls, want)
	}
}

func TestRestageFailedBuildStops(t *testing.T) {
	f := &fakeStager{states: []string{"STAGING", "FAILED"}, buildErr: "BuildpackCompileFailed"}
	err := restage(context.Background(), f, webApp, testEnv())
	if err == nil || !strings.Contains(err.Error(), "staging failed (build build-1): BuildpackCompileFailed") {
		t.Fatalf("err = %v", err)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "set-droplet") || strings.HasPrefix(c, "restart") {
			t.Errorf("failed staging went on to %s", c)
		}
	}
}

func TestRestageWithoutPackageSaysPushFirst(t *testing.T) {
	f := &fakeStager{pkgErr: ccv3.ErrNoPackage}
	err := restage(context.Background(), f, webApp, testEnv())
	if err == nil || !strings.Contains(err.Error(), "no ready package; push it first (cf unik-push web)") {
		t.Fatalf("err = %v", err)
	}
}

func TestRestageTimesOut(t *testing.T) {
	f := &fakeStager{states: []string{"STAGING"}}
	env := testEnv()
	env.StagingTimeout = 20 * time.Millisecond
	err := restage(context.Background(), f, webApp, env)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still STAGING") {
		t.Fatalf("err = %v", err)
	}
}
