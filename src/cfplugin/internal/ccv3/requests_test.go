package ccv3

import (
	"encoding/json"
	"testing"
)

func TestRequestsArePureAndExact(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		method   string
		path     string
		wantBody string
	}{
		{"find app", FindAppRequest("my app", "space-1"), "GET", "/v3/apps?names=my+app&space_guids=space-1", ""},
		{"enable", UpdateLifecycleRequest("app-1", Lifecycle{Type: "buildpack", Data: LifecycleData{Stack: "unik", Buildpacks: []string{"go_buildpack", "unik_buildpack"}}}),
			"PATCH", "/v3/apps/app-1", `{"lifecycle":{"type":"buildpack","data":{"buildpacks":["go_buildpack","unik_buildpack"],"stack":"unik"}}}`},
		{"auto-detect is null", UpdateLifecycleRequest("app-1", Lifecycle{Type: "buildpack", Data: LifecycleData{Stack: "cflinuxfs4"}}),
			"PATCH", "/v3/apps/app-1", `{"lifecycle":{"type":"buildpack","data":{"buildpacks":null,"stack":"cflinuxfs4"}}}`},
		{"current droplet", CurrentDropletRequest("app-1"), "GET", "/v3/apps/app-1/droplets/current", ""},
		{"latest package", LatestPackageRequest("app-1"), "GET", "/v3/apps/app-1/packages?order_by=-created_at&per_page=1&states=READY", ""},
		{"create build", CreateBuildRequest("pkg-1"), "POST", "/v3/builds", `{"package":{"guid":"pkg-1"}}`},
		{"get build", GetBuildRequest("b-1"), "GET", "/v3/builds/b-1", ""},
		{"set droplet", SetCurrentDropletRequest("app-1", "d-1"), "PATCH", "/v3/apps/app-1/relationships/current_droplet", `{"data":{"guid":"d-1"}}`},
		{"restart", RestartRequest("app-1"), "POST", "/v3/apps/app-1/actions/restart", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Method != tt.method || tt.req.Path != tt.path {
				t.Errorf("got %s %s, want %s %s", tt.req.Method, tt.req.Path, tt.method, tt.path)
			}
			if tt.wantBody == "" {
				if tt.req.Body != nil {
					t.Errorf("body %#v, want none", tt.req.Body)
				}
				return
			}
			b, err := json.Marshal(tt.req.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantBody {
				t.Errorf("body\n %s\nwant\n %s", b, tt.wantBody)
			}
		})
	}
}
