package ccstandin

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// Request is one request the stand-in received.
type Request struct {
	Method      string
	Path        string // URL path without query
	Query       string // raw query
	ContentType string
	Body        []byte
}

// String is "METHOD /path?query".
func (r Request) String() string {
	if r.Query == "" {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + "?" + r.Query
}

// record stores the request and gives the handler its body back to read.
func (s *Server) record(r *http.Request) Request {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := Request{
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"),
		Body:        body,
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	return rec
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Take returns the requests received so far and forgets them.
func (s *Server) Take() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = nil
	return out
}

// Writes returns the requests that change state (anything but GET and HEAD)
// to paths under prefix.
func Writes(reqs []Request, prefix string) []Request {
	var out []Request
	for _, r := range reqs {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}
