package ccv3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConfigValidateNamesTheField(t *testing.T) {
	tok := func() (string, error) { return "bearer x", nil }
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Token: tok}, "APIEndpoint is empty"},
		{Config{APIEndpoint: "api.example.com", Token: tok}, "not an http(s) URL"},
		{Config{APIEndpoint: "https://api.example.com"}, "Token is nil"},
	} {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestClientSendsTokenAndBodyAndDecodes(t *testing.T) {
	var gotAuth, gotType, gotBody string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		io.WriteString(w, `{"guid":"app-1","name":"web","state":"STOPPED","lifecycle":{"type":"buildpack","data":{"buildpacks":["unik_buildpack"],"stack":"unik"}}}`)
	}))
	defer srv.Close()
	c, err := New(Config{APIEndpoint: srv.URL + "/", Token: func() (string, error) { return "bearer tok", nil }, SkipTLSVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	app, err := c.UpdateLifecycle(context.Background(), "app-1", Lifecycle{Type: "buildpack", Data: LifecycleData{Stack: "unik", Buildpacks: []string{"unik_buildpack"}}})
	if err != nil {
		t.Fatal(err)
	}
	if gotAuth != "bearer tok" || gotType != "application/json" {
		t.Errorf("Authorization %q Content-Type %q", gotAuth, gotType)
	}
	if want := `{"lifecycle":{"type":"buildpack","data":{"buildpacks":["unik_buildpack"],"stack":"unik"}}}`; gotBody != want {
		t.Errorf("body %s, want %s", gotBody, want)
	}
	if app.Lifecycle.Data.Stack != "unik" || app.Name != "web" {
		t.Errorf("decoded %+v", app)
	}
}

func TestClientPassesCloudControllerErrorsThrough(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(422)
		io.WriteString(w, `{"errors":[{"code":10008,"title":"CF-UnprocessableEntity","detail":"Stack 'unik' does not exist"}]}`)
	}))
	defer srv.Close()
	c, _ := New(Config{APIEndpoint: srv.URL, Token: func() (string, error) { return "bearer tok", nil }})
	_, err := c.UpdateLifecycle(context.Background(), "app-1", Lifecycle{})
	var ccErr *Error
	if !errors.As(err, &ccErr) || ccErr.Status != 422 || ccErr.Errors[0].Code != 10008 {
		t.Fatalf("err = %#v", err)
	}
	want := "Cloud Controller PATCH /v3/apps/app-1: HTTP 422: CF-UnprocessableEntity (code 10008): Stack 'unik' does not exist"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestErrorWithoutV3ErrorObjectsKeepsTheBody(t *testing.T) {
	err := parseError("GET", "/v3/apps", 502, []byte("<html>bad gateway</html>"))
	if got := err.Error(); got != "Cloud Controller GET /v3/apps: HTTP 502: <html>bad gateway</html>" {
		t.Errorf("got %q", got)
	}
}

func TestCurrentDropletNotFoundIsNoDroplet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		io.WriteString(w, `{"errors":[{"code":10010,"title":"CF-ResourceNotFound","detail":"Droplet not found"}]}`)
	}))
	defer srv.Close()
	c, _ := New(Config{APIEndpoint: srv.URL, Token: func() (string, error) { return "bearer tok", nil }})
	_, ok, err := c.CurrentDroplet(context.Background(), "app-1")
	if ok || err != nil {
		t.Errorf("ok=%v err=%v, want no droplet and no error", ok, err)
	}
}
