package ccstandin

import (
	"net/http"
	"sort"
)

func (s *Server) routeApps(mux *http.ServeMux) {
	mux.HandleFunc("GET /v3/apps", s.listApps)
	mux.HandleFunc("POST /v3/apps", s.createApp)
	mux.HandleFunc("GET /v3/apps/{guid}", s.withApp(func(w http.ResponseWriter, r *http.Request, a *app) {
		writeJSON(w, http.StatusOK, s.appJSON(r, a))
	}))
	mux.HandleFunc("PATCH /v3/apps/{guid}", s.withApp(s.updateApp))
	mux.HandleFunc("GET /v3/apps/{guid}/droplets/current", s.withApp(func(w http.ResponseWriter, r *http.Request, a *app) {
		d, ok := s.droplets[a.DropletGUID]
		if !ok {
			notFound(w, "Droplet")
			return
		}
		writeJSON(w, http.StatusOK, s.dropletJSON(r, d))
	}))
	mux.HandleFunc("PATCH /v3/apps/{guid}/relationships/current_droplet", s.withApp(s.setDroplet))
	mux.HandleFunc("GET /v3/apps/{guid}/packages", s.withApp(s.listAppPackages))
	mux.HandleFunc("POST /v3/apps/{guid}/actions/{action}", s.withApp(s.appAction))
	mux.HandleFunc("GET /v3/apps/{guid}/processes", s.withApp(func(w http.ResponseWriter, r *http.Request, a *app) {
		writeJSON(w, http.StatusOK, page(r, []any{s.processJSON(r, a)}))
	}))
	mux.HandleFunc("GET /v3/processes/{guid}", s.withApp(func(w http.ResponseWriter, r *http.Request, a *app) {
		writeJSON(w, http.StatusOK, s.processJSON(r, a)) // the web process shares the app's GUID, as in CC
	}))
	mux.HandleFunc("GET /v3/processes/{guid}/stats", s.withApp(s.processStats))
	mux.HandleFunc("GET /v3/processes/{guid}/sidecars", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, page(r, nil))
	})
	mux.HandleFunc("GET /v3/apps/{guid}/routes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, page(r, nil))
	})
	mux.HandleFunc("GET /v3/deployments", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, page(r, nil)) // no rolling deployments here
	})
	mux.HandleFunc("GET /v3/routes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, page(r, nil)) // the stand-in maps no routes
	})
	mux.HandleFunc("GET /v3/apps/{guid}/processes/{type}", s.withApp(func(w http.ResponseWriter, r *http.Request, a *app) {
		writeJSON(w, http.StatusOK, s.processJSON(r, a))
	}))
}

// withApp looks up {guid} under the lock and answers 404 for an unknown app.
func (s *Server) withApp(h func(http.ResponseWriter, *http.Request, *app)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		a, ok := s.apps[r.PathValue("guid")]
		if !ok {
			notFound(w, "App")
			return
		}
		h(w, r, a)
	}
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, spaces, guids := listFilter(r, "names"), listFilter(r, "space_guids"), listFilter(r, "guids")
	var sel []*app
	for _, a := range s.apps {
		if matches(names, a.Name) && matches(spaces, a.SpaceGUID) && matches(guids, a.GUID) {
			sel = append(sel, a)
		}
	}
	sort.Slice(sel, func(i, j int) bool { return sel[i].Name < sel[j].Name })
	out := make([]any, 0, len(sel))
	for _, a := range sel {
		out = append(out, s.appJSON(r, a))
	}
	writeJSON(w, http.StatusOK, page(r, out))
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name          string `json:"name"`
		Relationships struct {
			Space struct {
				Data struct {
					GUID string `json:"guid"`
				} `json:"data"`
			} `json:"space"`
		} `json:"relationships"`
		Lifecycle *lifecycleBody `json:"lifecycle"`
	}
	if err := decodeJSON(r, &body); err != nil {
		unprocessable(w, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if body.Relationships.Space.Data.GUID != s.Space.GUID {
		unprocessable(w, "Invalid space. Ensure that the space exists and you have access to it.")
		return
	}
	if s.appByName(body.Name) != nil {
		writeError(w, http.StatusUnprocessableEntity, APIError{Code: 10016, Title: "CF-UniquenessError",
			Detail: "App with the name '" + body.Name + "' already exists."})
		return
	}
	a := s.newApp(body.Name)
	if detail := applyLifecycle(a, body.Lifecycle); detail != "" {
		delete(s.apps, a.GUID)
		unprocessable(w, detail)
		return
	}
	writeJSON(w, http.StatusCreated, s.appJSON(r, a))
}

func (s *Server) updateApp(w http.ResponseWriter, r *http.Request, a *app) {
	var body struct {
		Name      *string        `json:"name"`
		Lifecycle *lifecycleBody `json:"lifecycle"`
	}
	if err := decodeJSON(r, &body); err != nil {
		unprocessable(w, err.Error())
		return
	}
	if detail := applyLifecycle(a, body.Lifecycle); detail != "" {
		unprocessable(w, detail)
		return
	}
	if body.Name != nil {
		a.Name = *body.Name
	}
	a.UpdatedAt = s.stamp()
	writeJSON(w, http.StatusOK, s.appJSON(r, a))
}

func (s *Server) setDroplet(w http.ResponseWriter, r *http.Request, a *app) {
	var body struct {
		Data struct {
			GUID string `json:"guid"`
		} `json:"data"`
	}
	if err := decodeJSON(r, &body); err != nil {
		unprocessable(w, err.Error())
		return
	}
	d, ok := s.droplets[body.Data.GUID]
	if !ok || d.AppGUID != a.GUID || d.State != "STAGED" {
		unprocessable(w, "Unable to assign current droplet. Ensure the droplet exists and belongs to this app.")
		return
	}
	a.DropletGUID = d.GUID
	writeJSON(w, http.StatusOK, map[string]any{
		"data":  map[string]any{"guid": d.GUID},
		"links": map[string]any{"self": link(s.base(r) + "/v3/apps/" + a.GUID + "/relationships/current_droplet")},
	})
}

func (s *Server) appAction(w http.ResponseWriter, r *http.Request, a *app) {
	switch r.PathValue("action") {
	case "start", "restart":
		if a.DropletGUID == "" {
			unprocessable(w, "Assign a droplet before starting this app.")
			return
		}
		a.State = "STARTED"
	case "stop":
		a.State = "STOPPED"
	default:
		notFound(w, "Action")
		return
	}
	a.UpdatedAt = s.stamp()
	writeJSON(w, http.StatusOK, s.appJSON(r, a))
}

func (s *Server) processJSON(r *http.Request, a *app) map[string]any {
	instances := 0
	if a.State == "STARTED" {
		instances = 1
	}
	return map[string]any{
		"guid": a.GUID, "type": "web", "command": nil, "instances": instances,
		"memory_in_mb": 1024, "disk_in_mb": 1024, "log_rate_limit_in_bytes_per_second": -1,
		"health_check":  map[string]any{"type": "port", "data": map[string]any{"timeout": nil, "invocation_timeout": nil}},
		"relationships": map[string]any{"app": rel(a.GUID), "revision": nil},
		"metadata":      meta(), "created_at": a.CreatedAt, "updated_at": a.UpdatedAt,
		"links": map[string]any{"self": link(s.base(r) + "/v3/processes/" + a.GUID)},
	}
}

// processStats reports one RUNNING instance for a started app, none otherwise.
func (s *Server) processStats(w http.ResponseWriter, r *http.Request, a *app) {
	var out []any
	if a.State == "STARTED" {
		out = append(out, map[string]any{
			"type": "web", "index": 0, "state": "RUNNING", "uptime": 1, "host": "10.0.0.1",
			"instance_ports": []any{}, "usage": map[string]any{"time": s.now.Format("2006-01-02T15:04:05Z"),
				"cpu": 0.01, "mem": 1 << 20, "disk": 1 << 20, "log_rate": 0},
			"mem_quota": 1 << 30, "disk_quota": 1 << 30, "log_rate_limit": -1, "fds_quota": 16384,
			"isolation_segment": nil, "details": nil, "routable": true,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": out})
}
