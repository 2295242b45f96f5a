package push

import (
	"net"
	"net/http"
	"path/filepath"
	"sync"
)

// Server serves droplets over HTTP, as Cloud Controller's droplet download does.
type Server struct {
	URL string
	srv *http.Server

	mu    sync.Mutex
	files map[string]string // name -> path
	dir   string            // ServeDir: names not added are looked up here
}

// Serve listens on addr ("127.0.0.1:0" for any port).
func Serve(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), files: map[string]string{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Add makes the droplet at path downloadable and returns its URL.
func (s *Server) Add(name, path string) string {
	s.mu.Lock()
	s.files[name] = path
	s.mu.Unlock()
	return s.URL + "/droplets/" + name
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	name := filepath.Base(r.URL.Path)
	s.mu.Lock()
	p, ok := s.files[name]
	s.mu.Unlock()
	if !ok && s.dir != "" && name != "." && name != "/" {
		p, ok = filepath.Join(s.dir, name), true
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeFile(w, r, p)
}

// Close stops serving.
func (s *Server) Close() error { return s.srv.Close() }

// ServeDir serves every file of dir under /droplets/.
func ServeDir(addr, dir string) (*Server, error) {
	s, err := Serve(addr)
	if err != nil {
		return nil, err
	}
	s.dir = dir
	return s, nil
}
