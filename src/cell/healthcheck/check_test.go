package healthcheck_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/cell/healthcheck"
)

func target(addr string) healthcheck.Target {
	return func(uint16) (string, error) { return addr, nil }
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	c := healthcheck.Check{Kind: healthcheck.TCP, Port: 8080}
	if err := c.Probe(context.Background(), target(addr)); err != nil {
		t.Fatalf("listening: %v", err)
	}
	l.Close()
	err = c.Probe(context.Background(), target(addr))
	if err == nil || err.Error() != "Failed to make TCP connection to port 8080: connection refused" {
		t.Fatalf("closed: %v", err)
	}
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ok := healthcheck.Check{Kind: healthcheck.HTTP, Port: 8080, Path: "/health"}
	if err := ok.Probe(context.Background(), target(addr)); err != nil {
		t.Fatal(err)
	}
	bad := healthcheck.Check{Kind: healthcheck.HTTP, Port: 8080, Path: "nope"}
	err := bad.Probe(context.Background(), target(addr))
	if err == nil || err.Error() != "Failed to make HTTP request to '/nope' on port 8080: received status code 404" {
		t.Fatalf("404: %v", err)
	}
}

func TestMessages(t *testing.T) {
	_, port, _ := net.SplitHostPort("127.0.0.1:8080")
	p, _ := strconv.Atoi(port)
	last := healthcheck.Check{Kind: healthcheck.TCP, Port: uint16(p)}.Probe(context.Background(), target("127.0.0.1:1"))
	got := healthcheck.StartupFailure(time.Minute, last)
	if got != "Instance never healthy after 1m0s: Failed to make TCP connection to port 8080: connection refused" {
		t.Errorf("startup failure: %q", got)
	}
}
