package unikplugin

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	plugin_models "code.cloudfoundry.org/cli/v8/plugin/models"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccstandin"
)

// fakeConn is a hand-written Connection.
type fakeConn struct {
	api, token       string
	noAPI, loggedOut bool
	space            plugin_models.Space
}

func (c fakeConn) HasAPIEndpoint() (bool, error) { return !c.noAPI, nil }
func (c fakeConn) ApiEndpoint() (string, error)  { return c.api, nil }
func (c fakeConn) IsLoggedIn() (bool, error)     { return !c.loggedOut, nil }
func (c fakeConn) AccessToken() (string, error)  { return c.token, nil }
func (c fakeConn) IsSSLDisabled() (bool, error)  { return true, nil }
func (c fakeConn) Username() (string, error)     { return "dev-user", nil }
func (c fakeConn) GetCurrentOrg() (plugin_models.Organization, error) {
	return plugin_models.Organization{OrganizationFields: plugin_models.OrganizationFields{Guid: "org-guid-1", Name: "unik-org"}}, nil
}
func (c fakeConn) GetCurrentSpace() (plugin_models.Space, error) { return c.space, nil }

func connTo(cc *ccstandin.Server) fakeConn {
	return fakeConn{api: cc.URL(), token: cc.AccessToken(),
		space: plugin_models.Space{SpaceFields: plugin_models.SpaceFields{Guid: cc.Space.GUID, Name: cc.Space.Name}}}
}

func TestTargetErrors(t *testing.T) {
	space := plugin_models.Space{SpaceFields: plugin_models.SpaceFields{Guid: "s", Name: "dev"}}
	for _, tt := range []struct {
		conn fakeConn
		want error
	}{
		{fakeConn{noAPI: true, space: space}, ErrNoAPI},
		{fakeConn{loggedOut: true, space: space}, ErrNotLoggedIn},
		{fakeConn{}, ErrNoSpace},
	} {
		err := Run(context.Background(), tt.conn, []string{CmdEnable, "web"}, testEnv())
		if !errors.Is(err, tt.want) {
			t.Errorf("%+v: err = %v, want %v", tt.conn, err, tt.want)
		}
	}
}

func TestEnableRefusesDockerApp(t *testing.T) {
	cc := ccstandin.Start()
	defer cc.Close()
	cc.AddApp(ccstandin.AppSpec{Name: "img", Docker: true})
	err := Run(context.Background(), connTo(cc), []string{CmdEnable, "img"}, testEnv())
	if err == nil || !strings.Contains(err.Error(), "enable UniK for app img: the app uses the docker lifecycle") {
		t.Fatalf("err = %v", err)
	}
	if w := ccstandin.Writes(cc.Requests(), "/"); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

func TestDisableRestageGoesThroughTheStandIn(t *testing.T) {
	cc := ccstandin.Start()
	defer cc.Close()
	cc.AddApp(ccstandin.AppSpec{Name: "web", Stack: "unik", Buildpacks: []string{"go_buildpack", "unik_buildpack"}, Droplet: true})
	var out bytes.Buffer
	env := testEnv()
	env.Stdout = &out
	if err := Run(context.Background(), connTo(cc), []string{CmdDisable, "web", "--restage"}, env); err != nil {
		t.Fatal(err)
	}
	app, _ := cc.App("web")
	stack, bps, _ := cc.DropletOf(app.DropletGUID)
	if app.Stack != "cflinuxfs4" || stack != "cflinuxfs4" || !slices.Equal(bps, []string{"go_buildpack"}) {
		t.Errorf("app %+v droplet %s %v\n%s", app, stack, bps, out.String())
	}
}

// recordingRunner is a hand-written PushRunner.
type recordingRunner struct {
	args [][]string
	err  error
}

func (r *recordingRunner) RunCF(_ context.Context, args []string) error {
	r.args = append(r.args, args)
	return r.err
}

func TestUnikPushHandsTheRunnerTheCfPushArgs(t *testing.T) {
	run := &recordingRunner{}
	env := testEnv()
	env.Push = run
	if err := Run(context.Background(), fakeConn{}, []string{CmdPush, "web", "-b", "go_buildpack", "-f", "m.yml"}, env); err != nil {
		t.Fatal(err)
	}
	want := []string{"push", "web", "-f", "m.yml", "-s", "unik", "-b", "go_buildpack", "-b", "unik_buildpack"}
	if len(run.args) != 1 || !slices.Equal(run.args[0], want) {
		t.Errorf("runner got %q, want %q", run.args, want)
	}

	run.err = errors.New("cf push exited with status 1")
	if err := Run(context.Background(), fakeConn{}, []string{CmdPush, "web"}, env); err == nil || err.Error() != "cf push exited with status 1" {
		t.Errorf("err = %v", err)
	}
	if err := Run(context.Background(), fakeConn{}, []string{CmdPush, "web", "-o", "nginx"}, env); err == nil || len(run.args) != 2 {
		t.Errorf("docker push: err = %v, runner ran %d times", err, len(run.args))
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := Run(context.Background(), fakeConn{}, []string{"bogus"}, testEnv()); err == nil {
		t.Error("unknown command accepted")
	}
}
