package ccstandin

import (
	"net/http"

	"gopkg.in/yaml.v2"
)

// manifestApp is the part of an app manifest the stand-in applies.
type manifestApp struct {
	Name       string    `yaml:"name"`
	Stack      *string   `yaml:"stack"`
	Buildpacks *[]string `yaml:"buildpacks"`
	Docker     any       `yaml:"docker"`
	Lifecycle  string    `yaml:"lifecycle"`
}

// applyManifest is POST /v3/spaces/:guid/actions/apply_manifest: it creates
// missing apps and sets stack and buildpacks, then answers 202 with a job.
func (s *Server) applyManifest(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("guid") != s.Space.GUID {
		notFound(w, "Space")
		return
	}
	var m struct {
		Applications []manifestApp `yaml:"applications"`
	}
	if err := yaml.NewDecoder(r.Body).Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, APIError{Code: 1001, Title: "CF-MessageParseError", Detail: "Request invalid due to parse error: invalid request body"})
		return
	}
	for _, ma := range m.Applications {
		if ma.Docker != nil || (ma.Lifecycle != "" && ma.Lifecycle != "buildpack") {
			unprocessable(w, "For application '"+ma.Name+"': the stand-in serves buildpack apps only")
			return
		}
		a := s.appByName(ma.Name)
		if a == nil {
			a = s.newApp(ma.Name)
		}
		l := &lifecycleBody{}
		l.Data.Stack, l.Data.Buildpacks = ma.Stack, ma.Buildpacks
		if detail := applyLifecycle(a, l); detail != "" {
			unprocessable(w, "For application '"+ma.Name+"': "+detail)
			return
		}
		a.UpdatedAt = s.stamp()
	}
	job := s.newGUID("job")
	s.jobs[job] = "COMPLETE"
	w.Header().Set("Location", s.base(r)+"/v3/jobs/"+job)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	state, ok := s.jobs[r.PathValue("guid")]
	if !ok {
		notFound(w, "Job")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"guid": r.PathValue("guid"), "operation": "app_manifest.apply", "state": state,
		"errors": []any{}, "warnings": []any{}, "created_at": s.now.Format("2006-01-02T15:04:05Z"),
		"links": map[string]any{"self": link(s.base(r) + "/v3/jobs/" + r.PathValue("guid"))},
	})
}
