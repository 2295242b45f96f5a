// Package credhubstandin is a TEST-ONLY STAND-IN FOR CREDHUB, which cannot be built here. It
// serves the one call an app's start-up makes, CredHub's interpolate API (POST
// /api/v1/interpolate, the body VCAP_SERVICES, the answer VCAP_SERVICES with every
// {"credhub-ref": NAME} credentials object replaced by the stored value), over TLS that
// requires a client certificate chaining to the instance identity CA, and authorizes each
// reference for the apps it was granted to, read from the certificate's "app:<guid>"
// organizational unit, as CredHub's mTLS permissions do. The cell's credhub package is tested
// against it through a real TLS client.
package credhubstandin

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Server is a running stand-in.
type Server struct {
	URL string
	srv *http.Server

	mu     sync.Mutex
	values map[string]json.RawMessage // credential name -> value
	grants map[string]map[string]bool // credential name -> app guids
	calls  int
}

// Start serves on 127.0.0.1 with the server certificate pair, trusting clientCAs for clients.
func Start(certPEM, keyPEM []byte, clientCAs *x509.CertPool) (*Server, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("credhub stand-in: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("credhub stand-in: %w", err)
	}
	s := &Server{URL: "https://" + l.Addr().String(), values: map[string]json.RawMessage{}, grants: map[string]map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/interpolate", s.interpolate)
	s.srv = &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: clientCAs,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}}
	go func() { _ = s.srv.Serve(tls.NewListener(l, s.srv.TLSConfig)) }()
	return s, nil
}

// Close stops serving.
func (s *Server) Close() error { return s.srv.Close() }

// Set stores a credential readable by the given apps.
func (s *Server) Set(name string, value any, appGUIDs ...string) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[name] = b
	s.grants[name] = map[string]bool{}
	for _, g := range appGUIDs {
		s.grants[name][g] = true
	}
	return nil
}

// Calls counts interpolate requests.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Server) interpolate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	app := ""
	for _, ou := range r.TLS.PeerCertificates[0].Subject.OrganizationalUnit {
		if g, ok := strings.CutPrefix(ou, "app:"); ok {
			app = g
		}
	}
	var services map[string][]map[string]json.RawMessage
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(b, &services); err != nil {
		writeError(w, http.StatusBadRequest, "The request body is not valid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, instances := range services {
		for _, inst := range instances {
			var ref struct {
				Name string `json:"credhub-ref"`
			}
			if json.Unmarshal(inst["credentials"], &ref) != nil || ref.Name == "" {
				continue
			}
			v, ok := s.values[ref.Name]
			if !ok || !s.grants[ref.Name][app] {
				writeError(w, http.StatusForbidden, "The request could not be completed because the credential does not exist or you do not have sufficient authorization.")
				return
			}
			inst["credentials"] = v
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(services)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
