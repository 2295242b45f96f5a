package ccstandin

import (
	"net/http"
	"slices"
)

// Stacks and buildpacks the stand-in's foundation has (the UniK release adds
// the unik stack and unik_buildpack).
var (
	Stacks     = []string{"cflinuxfs4", "unik"}
	Buildpacks = []string{"go_buildpack", "nodejs_buildpack", "binary_buildpack", "staticfile_buildpack", "unik_buildpack"}
)

type app struct {
	GUID, Name, SpaceGUID, State string
	LifecycleType                string
	Stack                        string
	Buildpacks                   []string
	DropletGUID                  string
	CreatedAt, UpdatedAt         string
}

// AppSpec seeds an app.
type AppSpec struct {
	Name       string
	Stack      string   // "" means cflinuxfs4
	Buildpacks []string // nil means auto-detect
	Docker     bool
	// Package gives the app a READY bits package; Droplet also a current
	// droplet staged with DropletBuildpacks.
	Package, Droplet  bool
	DropletBuildpacks []string
}

// AppState is what the stand-in holds about an app.
type AppState struct {
	GUID, Name, State, LifecycleType, Stack, DropletGUID string
	Buildpacks                                           []string
}

// AddApp seeds an app in the stand-in's space and returns its GUID.
func (s *Server) AddApp(spec AppSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.newApp(spec.Name)
	if spec.Stack != "" {
		a.Stack = spec.Stack
	}
	a.Buildpacks = spec.Buildpacks
	if spec.Docker {
		a.LifecycleType, a.Stack, a.Buildpacks = "docker", "", nil
	}
	if spec.Package || spec.Droplet {
		p := s.newPackage(a.GUID)
		p.State = "READY"
	}
	if spec.Droplet {
		d := s.newDroplet(a)
		d.Buildpacks = spec.DropletBuildpacks
		a.DropletGUID, a.State = d.GUID, "STARTED"
	}
	return a.GUID
}

// App returns the stand-in's view of the app called name.
func (s *Server) App(name string) (AppState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appByName(name)
	if a == nil {
		return AppState{}, false
	}
	return AppState{GUID: a.GUID, Name: a.Name, State: a.State, LifecycleType: a.LifecycleType,
		Stack: a.Stack, DropletGUID: a.DropletGUID, Buildpacks: slices.Clone(a.Buildpacks)}, true
}

func (s *Server) newApp(name string) *app {
	t := s.stamp()
	a := &app{GUID: s.newGUID("app"), Name: name, SpaceGUID: s.Space.GUID, State: "STOPPED",
		LifecycleType: "buildpack", Stack: "cflinuxfs4", CreatedAt: t, UpdatedAt: t}
	s.apps[a.GUID] = a
	return a
}

func (s *Server) appByName(name string) *app {
	for _, a := range s.apps {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (s *Server) appJSON(r *http.Request, a *app) map[string]any {
	data := map[string]any{"buildpacks": a.Buildpacks, "stack": a.Stack}
	if a.LifecycleType == "docker" {
		data = map[string]any{}
	}
	if a.Buildpacks == nil && a.LifecycleType != "docker" {
		data["buildpacks"] = []string{}
	}
	self := s.base(r) + "/v3/apps/" + a.GUID
	return map[string]any{
		"guid": a.GUID, "name": a.Name, "state": a.State,
		"created_at": a.CreatedAt, "updated_at": a.UpdatedAt,
		"lifecycle":     map[string]any{"type": a.LifecycleType, "data": data},
		"relationships": map[string]any{"space": rel(a.SpaceGUID)},
		"metadata":      meta(),
		"links": map[string]any{
			"self": link(self), "space": link(s.base(r) + "/v3/spaces/" + a.SpaceGUID),
			"processes": link(self + "/processes"), "packages": link(self + "/packages"),
			"current_droplet": link(self + "/droplets/current"), "droplets": link(self + "/droplets"),
			"start": map[string]any{"href": self + "/actions/start", "method": "POST"},
			"stop":  map[string]any{"href": self + "/actions/stop", "method": "POST"},
		},
	}
}

// lifecycleBody is the lifecycle part of an app create or update.
type lifecycleBody struct {
	Type string `json:"type"`
	Data struct {
		Buildpacks *[]string `json:"buildpacks"`
		Stack      *string   `json:"stack"`
	} `json:"data"`
}

// applyLifecycle validates and applies a lifecycle like the Cloud Controller
// does; it returns the 422 detail when it refuses.
func applyLifecycle(a *app, l *lifecycleBody) string {
	if l == nil {
		return ""
	}
	if l.Type != "" && l.Type != "buildpack" {
		return "Lifecycle type must be one of buildpack (the stand-in has no " + l.Type + " support)"
	}
	if a.LifecycleType == "docker" {
		return "Lifecycle type cannot be changed"
	}
	if l.Data.Stack != nil {
		if !slices.Contains(Stacks, *l.Data.Stack) {
			return "Stack '" + *l.Data.Stack + "' does not exist"
		}
	}
	if l.Data.Buildpacks != nil {
		for _, bp := range *l.Data.Buildpacks {
			if !slices.Contains(Buildpacks, bp) {
				return "Buildpack \"" + bp + "\" must be an existing admin buildpack or a valid git URI"
			}
		}
	}
	if l.Data.Stack != nil {
		a.Stack = *l.Data.Stack
	}
	if l.Data.Buildpacks != nil {
		a.Buildpacks = slices.Clone(*l.Data.Buildpacks)
	} else if l.Type != "" {
		a.Buildpacks = nil // explicit null: auto-detect
	}
	return ""
}
