package ccstandin

import "net/http"

func (s *Server) routeOrgs(mux *http.ServeMux) {
	mux.HandleFunc("GET /v3/organizations", func(w http.ResponseWriter, r *http.Request) {
		var out []any
		if matches(listFilter(r, "names"), s.Org.Name) && matches(listFilter(r, "guids"), s.Org.GUID) {
			out = append(out, s.orgJSON(r))
		}
		writeJSON(w, http.StatusOK, page(r, out))
	})
	mux.HandleFunc("GET /v3/organizations/{guid}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("guid") != s.Org.GUID {
			notFound(w, "Organization")
			return
		}
		writeJSON(w, http.StatusOK, s.orgJSON(r))
	})
	mux.HandleFunc("GET /v3/spaces", func(w http.ResponseWriter, r *http.Request) {
		var out []any
		if matches(listFilter(r, "names"), s.Space.Name) && matches(listFilter(r, "guids"), s.Space.GUID) &&
			matches(listFilter(r, "organization_guids"), s.Org.GUID) {
			out = append(out, s.spaceJSON(r))
		}
		writeJSON(w, http.StatusOK, page(r, out))
	})
	mux.HandleFunc("GET /v3/spaces/{guid}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("guid") != s.Space.GUID {
			notFound(w, "Space")
			return
		}
		writeJSON(w, http.StatusOK, s.spaceJSON(r))
	})
}

func meta() map[string]any {
	return map[string]any{"labels": map[string]any{}, "annotations": map[string]any{}}
}

func rel(guid string) map[string]any { return map[string]any{"data": map[string]any{"guid": guid}} }

func (s *Server) orgJSON(r *http.Request) map[string]any {
	return map[string]any{
		"guid": s.Org.GUID, "name": s.Org.Name, "suspended": false,
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
		"relationships": map[string]any{"quota": rel("quota-guid-1")}, "metadata": meta(),
		"links": map[string]any{"self": link(s.base(r) + "/v3/organizations/" + s.Org.GUID)},
	}
}

func (s *Server) spaceJSON(r *http.Request) map[string]any {
	return map[string]any{
		"guid": s.Space.GUID, "name": s.Space.Name,
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
		"relationships": map[string]any{"organization": rel(s.Org.GUID), "quota": map[string]any{"data": nil}},
		"metadata":      meta(),
		"links":         map[string]any{"self": link(s.base(r) + "/v3/spaces/" + s.Space.GUID)},
	}
}
