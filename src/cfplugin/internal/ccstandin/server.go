package ccstandin

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// APIError is one v3 error object.
type APIError struct {
	Code   int    `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

type fault struct {
	method, path string
	status       int
	errs         []APIError
}

// Server is the Cloud Controller (and UAA) stand-in. Create it with Start.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []Request
	faults   []fault
	seq      int
	now      time.Time

	// Org, Space and the user the stand-in knows from the start.
	Org, Space named
	User       User

	apps     map[string]*app
	packages map[string]*pkg
	builds   map[string]*build
	droplets map[string]*droplet
	jobs     map[string]string // guid -> state
}

type named struct{ GUID, Name string }

// User is the one UAA user the stand-in accepts.
type User struct {
	Name, Password, GUID string
}

// Start starts a TLS stand-in (self-signed: use `cf api URL --skip-ssl-validation`)
// with one org and one space.
func Start() *Server {
	s := &Server{
		now:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Org:      named{GUID: "org-guid-1", Name: "unik-org"},
		Space:    named{GUID: "space-guid-1", Name: "dev"},
		User:     User{Name: "dev-user", Password: "dev-password", GUID: "user-guid-1"},
		apps:     map[string]*app{},
		packages: map[string]*pkg{},
		builds:   map[string]*build{},
		droplets: map[string]*droplet{},
		jobs:     map[string]string{},
	}
	s.srv = httptest.NewTLSServer(s.handler())
	return s
}

// URL is the API endpoint, e.g. https://127.0.0.1:40123.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Fail makes every later METHOD path request (path without query) answer
// status with the given v3 errors, before any other handling.
func (s *Server) Fail(method, path string, status int, errs ...APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, path: path, status: status, errs: errs})
}

// ClearFaults removes every Fail.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	s.routeRoot(mux)
	s.routeOrgs(mux)
	s.routeApps(mux)
	s.routeBits(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, APIError{Code: 10000, Title: "CF-NotFound",
			Detail: fmt.Sprintf("Unknown request (the stand-in does not serve %s %s)", r.Method, r.URL.Path)})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if f, ok := s.faultFor(r); ok {
			writeError(w, f.status, f.errs...)
			return
		}
		if needsToken(r.URL.Path) && !s.validToken(r.Header.Get("Authorization")) {
			writeError(w, http.StatusUnauthorized, APIError{Code: 1000, Title: "CF-InvalidAuthToken", Detail: "Invalid Auth Token"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) faultFor(r *http.Request) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.method == r.Method && f.path == r.URL.Path {
			return f, true
		}
	}
	return fault{}, false
}

// needsToken is true for the Cloud Controller's authenticated API.
func needsToken(path string) bool {
	return strings.HasPrefix(path, "/v3/") && path != "/v3/info"
}

// newGUID returns a readable, unique GUID-like id ("app-3-1f2e...").
func (s *Server) newGUID(kind string) string {
	s.seq++
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%x", kind, s.seq, b)
}

// stamp is a deterministic, increasing timestamp.
func (s *Server) stamp() string {
	s.now = s.now.Add(time.Second)
	return s.now.Format(time.RFC3339)
}

func (s *Server) base(r *http.Request) string { return "https://" + r.Host }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, errs ...APIError) {
	if len(errs) == 0 {
		errs = []APIError{{Code: 10001, Title: "CF-ServerError", Detail: http.StatusText(status)}}
	}
	writeJSON(w, status, map[string]any{"errors": errs})
}

func notFound(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotFound, APIError{Code: 10010, Title: "CF-ResourceNotFound", Detail: what + " not found"})
}

func unprocessable(w http.ResponseWriter, detail string) {
	writeError(w, http.StatusUnprocessableEntity, APIError{Code: 10008, Title: "CF-UnprocessableEntity", Detail: detail})
}

func link(href string) map[string]any { return map[string]any{"href": href} }

// page wraps resources in a one-page v3 list.
func page(r *http.Request, resources []any) map[string]any {
	if resources == nil {
		resources = []any{}
	}
	self := link("https://" + r.Host + r.URL.RequestURI())
	return map[string]any{
		"pagination": map[string]any{
			"total_results": len(resources), "total_pages": 1,
			"first": self, "last": self, "next": nil, "previous": nil,
		},
		"resources": resources,
	}
}

func decodeJSON(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fmt.Errorf("Request invalid due to parse error: %v", err)
	}
	return nil
}

// listFilter reads a comma-separated v3 list filter ("names=a,b").
func listFilter(r *http.Request, key string) []string {
	v := r.URL.Query().Get(key)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func matches(filter []string, v string) bool {
	if filter == nil {
		return true
	}
	for _, f := range filter {
		if f == v {
			return true
		}
	}
	return false
}
