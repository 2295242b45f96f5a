// Package probe builds the egress-probe app (src/cmd/egress-probe), which opens connections
// from inside its VM when asked, and asks a running one over HTTP. The egress and DNS tests
// (src/hostile) and scripts/bench-egress use it.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// BuildApp builds the probe from the checkout at repo into dir (created if missing), as an
// app directory the image builder takes: the static binary and a Procfile.
func BuildApp(ctx context.Context, repo, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("probe app: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, "egress-probe"), "./src/cmd/egress-probe")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build egress-probe: %w\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: ./egress-probe\n"), 0o644); err != nil {
		return fmt.Errorf("probe app: %w", err)
	}
	return nil
}

// Client asks the probe at URL (http://host:port/).
type Client struct {
	URL  string
	HTTP *http.Client // default: a client without keep-alives
}

// DialResult is what the probe reports of its attempts; Micros times the successful ones.
type DialResult struct {
	OK     bool    `json:"ok"`
	Reply  string  `json:"reply"`
	Error  string  `json:"error"`
	Micros []int64 `json:"micros"`
}

// Dial has the probe connect n times ("tcp") or send n datagrams ("udp") to addr, each
// attempt bounded by timeout, and stop at the first failure.
func (c Client) Dial(ctx context.Context, network string, addr netip.AddrPort, timeout time.Duration, n int) (DialResult, error) {
	q := url.Values{"net": {network}, "addr": {addr.String()},
		"timeout_ms": {strconv.FormatInt(timeout.Milliseconds(), 10)}, "n": {strconv.Itoa(n)}}
	var res DialResult
	err := c.get(ctx, "dial?"+q.Encode(), &res)
	return res, err
}

// Resolve has the probe look name up with the guest's resolver.
func (c Client) Resolve(ctx context.Context, name string) ([]string, error) {
	var res struct {
		Addrs []string `json:"addrs"`
		Error string   `json:"error"`
	}
	if err := c.get(ctx, "resolve?"+url.Values{"name": {name}}.Encode(), &res); err != nil {
		return nil, err
	}
	if res.Error != "" {
		return res.Addrs, errors.New(res.Error)
	}
	return res.Addrs, nil
}

func (c Client) get(ctx context.Context, path string, v any) error {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("probe %s: %w", path, err)
	}
	return nil
}
