package ccstandin

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
)

type pkg struct {
	GUID, AppGUID, State, CreatedAt string
}

type build struct {
	GUID, AppGUID, PackageGUID, State, DropletGUID, CreatedAt string
}

type droplet struct {
	GUID, AppGUID, State, Stack, CreatedAt string
	Buildpacks                             []string
}

func (s *Server) newPackage(appGUID string) *pkg {
	p := &pkg{GUID: s.newGUID("package"), AppGUID: appGUID, State: "AWAITING_UPLOAD", CreatedAt: s.stamp()}
	s.packages[p.GUID] = p
	return p
}

// newDroplet records a STAGED droplet staged with the app's current lifecycle.
func (s *Server) newDroplet(a *app) *droplet {
	d := &droplet{GUID: s.newGUID("droplet"), AppGUID: a.GUID, State: "STAGED", Stack: a.Stack,
		Buildpacks: slices.Clone(a.Buildpacks), CreatedAt: s.stamp()}
	s.droplets[d.GUID] = d
	return d
}

func (s *Server) routeBits(mux *http.ServeMux) {
	mux.HandleFunc("POST /v3/packages", s.locked(s.createPackage))
	mux.HandleFunc("GET /v3/packages/{guid}", s.locked(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.packages[r.PathValue("guid")]
		if !ok {
			notFound(w, "Package")
			return
		}
		writeJSON(w, http.StatusOK, s.packageJSON(r, p))
	}))
	mux.HandleFunc("POST /v3/packages/{guid}/upload", s.locked(s.uploadPackage))
	mux.HandleFunc("POST /v3/resource_matches", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, map[string]any{"resources": []any{}}) // nothing cached
	})
	mux.HandleFunc("POST /v3/builds", s.locked(s.createBuild))
	mux.HandleFunc("GET /v3/builds/{guid}", s.locked(s.getBuild))
	mux.HandleFunc("GET /v3/droplets/{guid}", s.locked(func(w http.ResponseWriter, r *http.Request) {
		d, ok := s.droplets[r.PathValue("guid")]
		if !ok {
			notFound(w, "Droplet")
			return
		}
		writeJSON(w, http.StatusOK, s.dropletJSON(r, d))
	}))
	mux.HandleFunc("POST /v3/spaces/{guid}/actions/apply_manifest", s.locked(s.applyManifest))
	mux.HandleFunc("GET /v3/jobs/{guid}", s.locked(s.getJob))
}

func (s *Server) locked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		h(w, r)
	}
}

func (s *Server) createPackage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type          string `json:"type"`
		Relationships struct {
			App struct {
				Data struct {
					GUID string `json:"guid"`
				} `json:"data"`
			} `json:"app"`
		} `json:"relationships"`
	}
	if err := decodeJSON(r, &body); err != nil {
		unprocessable(w, err.Error())
		return
	}
	if body.Type != "bits" {
		unprocessable(w, "Type must be bits (the stand-in has no "+body.Type+" packages)")
		return
	}
	if _, ok := s.apps[body.Relationships.App.Data.GUID]; !ok {
		unprocessable(w, "App is invalid. Ensure it exists and you have access to it.")
		return
	}
	writeJSON(w, http.StatusCreated, s.packageJSON(r, s.newPackage(body.Relationships.App.Data.GUID)))
}

func (s *Server) uploadPackage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.packages[r.PathValue("guid")]
	if !ok {
		notFound(w, "Package")
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		unprocessable(w, "Upload must be multipart: "+err.Error())
		return
	}
	p.State = "READY" // bits are dropped: nothing here stages them
	writeJSON(w, http.StatusOK, s.packageJSON(r, p))
}

func (s *Server) listAppPackages(w http.ResponseWriter, r *http.Request, a *app) {
	states := listFilter(r, "states")
	var sel []*pkg
	for _, p := range s.packages {
		if p.AppGUID == a.GUID && matches(states, p.State) {
			sel = append(sel, p)
		}
	}
	desc := r.URL.Query().Get("order_by") == "-created_at"
	sort.Slice(sel, func(i, j int) bool {
		if desc {
			return sel[i].CreatedAt > sel[j].CreatedAt
		}
		return sel[i].CreatedAt < sel[j].CreatedAt
	})
	if n, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && n >= 0 && n < len(sel) {
		sel = sel[:n]
	}
	out := make([]any, 0, len(sel))
	for _, p := range sel {
		out = append(out, s.packageJSON(r, p))
	}
	writeJSON(w, http.StatusOK, page(r, out))
}

func (s *Server) createBuild(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Package struct {
			GUID string `json:"guid"`
		} `json:"package"`
	}
	if err := decodeJSON(r, &body); err != nil {
		unprocessable(w, err.Error())
		return
	}
	p, ok := s.packages[body.Package.GUID]
	if !ok || p.State != "READY" {
		unprocessable(w, "Unable to use package. Ensure that the package exists and you have access to it.")
		return
	}
	b := &build{GUID: s.newGUID("build"), AppGUID: p.AppGUID, PackageGUID: p.GUID, State: "STAGING", CreatedAt: s.stamp()}
	s.builds[b.GUID] = b
	writeJSON(w, http.StatusCreated, s.buildJSON(r, b))
}

// getBuild finishes staging on the first poll: the droplet records the
// stack and buildpacks the app's lifecycle had at that moment.
func (s *Server) getBuild(w http.ResponseWriter, r *http.Request) {
	b, ok := s.builds[r.PathValue("guid")]
	if !ok {
		notFound(w, "Build")
		return
	}
	if b.State == "STAGING" {
		d := s.newDroplet(s.apps[b.AppGUID])
		b.State, b.DropletGUID = "STAGED", d.GUID
	}
	writeJSON(w, http.StatusOK, s.buildJSON(r, b))
}

// DropletOf returns the stack and buildpacks a droplet was staged with.
func (s *Server) DropletOf(guid string) (stack string, buildpacks []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.droplets[guid]
	if !ok {
		return "", nil, false
	}
	return d.Stack, slices.Clone(d.Buildpacks), true
}

func (s *Server) packageJSON(r *http.Request, p *pkg) map[string]any {
	self := s.base(r) + "/v3/packages/" + p.GUID
	return map[string]any{
		"guid": p.GUID, "type": "bits", "state": p.State,
		"data":       map[string]any{"checksum": map[string]any{"type": "sha256", "value": nil}, "error": nil},
		"created_at": p.CreatedAt, "updated_at": p.CreatedAt,
		"relationships": map[string]any{"app": rel(p.AppGUID)}, "metadata": meta(),
		"links": map[string]any{
			"self":   link(self),
			"upload": map[string]any{"href": self + "/upload", "method": "POST"},
			"app":    link(s.base(r) + "/v3/apps/" + p.AppGUID),
		},
	}
}

func (s *Server) buildJSON(r *http.Request, b *build) map[string]any {
	var dropletRef any
	if b.DropletGUID != "" {
		dropletRef = map[string]any{"guid": b.DropletGUID}
	}
	return map[string]any{
		"guid": b.GUID, "state": b.State, "error": nil, "staging_memory_in_mb": 1024, "staging_disk_in_mb": 1024,
		"lifecycle": map[string]any{"type": "buildpack", "data": map[string]any{}},
		"package":   map[string]any{"guid": b.PackageGUID}, "droplet": dropletRef,
		"created_at": b.CreatedAt, "updated_at": b.CreatedAt,
		"relationships": map[string]any{"app": rel(b.AppGUID)}, "metadata": meta(),
		"created_by": map[string]any{"guid": s.User.GUID, "name": s.User.Name, "email": s.User.Name + "@example.com"},
		"links":      map[string]any{"self": link(s.base(r) + "/v3/builds/" + b.GUID)},
	}
}

func (s *Server) dropletJSON(r *http.Request, d *droplet) map[string]any {
	bps := make([]any, 0, len(d.Buildpacks))
	for _, bp := range d.Buildpacks {
		bps = append(bps, map[string]any{"name": bp, "buildpack_name": bp, "detect_output": nil, "version": "1.0.0"})
	}
	return map[string]any{
		"guid": d.GUID, "state": d.State, "error": nil, "lifecycle": map[string]any{"type": "buildpack", "data": map[string]any{}},
		"stack": d.Stack, "buildpacks": bps, "execution_metadata": "", "process_types": map[string]any{"web": "./app"},
		"checksum":   map[string]any{"type": "sha256", "value": "0000"},
		"created_at": d.CreatedAt, "updated_at": d.CreatedAt,
		"relationships": map[string]any{"app": rel(d.AppGUID)}, "metadata": meta(),
		"links": map[string]any{"self": link(s.base(r) + "/v3/droplets/" + d.GUID)},
	}
}

// PackageGUIDs lists the app's packages, oldest first.
func (s *Server) PackageGUIDs(appGUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []*pkg
	for _, p := range s.packages {
		if p.AppGUID == appGUID {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].CreatedAt < ps[j].CreatedAt })
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.GUID
	}
	return out
}

// BuildGUIDs lists the app's builds, oldest first.
func (s *Server) BuildGUIDs(appGUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var bs []*build
	for _, b := range s.builds {
		if b.AppGUID == appGUID {
			bs = append(bs, b)
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].CreatedAt < bs[j].CreatedAt })
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.GUID
	}
	return out
}
