package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kind of check.
type Kind string

const (
	TCP  Kind = "tcp"
	HTTP Kind = "http"
)

// DefaultTimeout of one probe when the check gives none (Diego's healthcheck default).
const DefaultTimeout = time.Second

// Check is one probe of one port.
type Check struct {
	Kind    Kind
	Port    uint16        // the instance's (guest) port
	Path    string        // HTTP only; default "/"
	Timeout time.Duration // of one probe; 0 = DefaultTimeout
	// Interval between probes once healthy (liveness) or ready (readiness): the check's
	// interval_ms; 0 = the cell's default.
	Interval time.Duration
}

// String names the check for logs.
func (c Check) String() string {
	if c.Kind == HTTP {
		return fmt.Sprintf("http %s on port %d", c.path(), c.Port)
	}
	return fmt.Sprintf("tcp port %d", c.Port)
}

func (c Check) path() string {
	if c.Path == "" {
		return "/"
	}
	if !strings.HasPrefix(c.Path, "/") {
		return "/" + c.Path
	}
	return c.Path
}

func (c Check) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// Target says where a guest port is reachable from the host.
type Target func(guestPort uint16) (string, error) // "ip:port"

// Probe runs the check once.
func (c Check) Probe(ctx context.Context, target Target) error {
	addr, err := target(c.Port)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	if c.Kind == HTTP {
		return c.probeHTTP(ctx, addr)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("Failed to make TCP connection to port %d: %s", c.Port, reason(err, c.timeout()))
	}
	conn.Close()
	return nil
}

func (c Check) probeHTTP(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+c.path(), nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("Failed to make HTTP request to '%s' on port %d: %s", c.path(), c.Port, reason(err, c.timeout()))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("Failed to make HTTP request to '%s' on port %d: received status code %d", c.path(), c.Port, resp.StatusCode)
	}
	return nil
}

func reason(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout when making TCP connection after " + strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64) + "s"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ProbeAll runs every check once, in order, and returns the first failure.
func ProbeAll(ctx context.Context, checks []Check, target Target) error {
	for _, c := range checks {
		if err := c.Probe(ctx, target); err != nil {
			return err
		}
	}
	return nil
}

// StartupFailure is the crash reason of an instance not healthy within its start timeout.
func StartupFailure(timeout time.Duration, last error) string {
	msg := "no check succeeded"
	if last != nil {
		msg = last.Error()
	}
	return fmt.Sprintf("Instance never healthy after %s: %s", timeout, msg)
}

// LivenessFailure is the crash reason of an instance that stopped answering its checks.
func LivenessFailure(err error) string {
	return fmt.Sprintf("Instance became unhealthy: %s", err)
}

// Every is the interval of a set of checks probed together: the shortest a check asks for,
// or def when none asks.
func Every(checks []Check, def time.Duration) time.Duration {
	every := time.Duration(0)
	for _, c := range checks {
		if c.Interval > 0 && (every == 0 || c.Interval < every) {
			every = c.Interval
		}
	}
	if every == 0 {
		return def
	}
	return every
}
