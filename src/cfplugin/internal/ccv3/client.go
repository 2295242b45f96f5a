package ccv3

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Config says where the Cloud Controller is and how to authenticate.
type Config struct {
	// APIEndpoint is the Cloud Controller's base URL, e.g. https://api.example.com.
	APIEndpoint string
	// Token returns the Authorization header value ("bearer ..."); it is
	// called for every request so a refreshed token is picked up.
	Token func() (string, error)
	// SkipTLSVerify mirrors `cf api --skip-ssl-validation`.
	SkipTLSVerify bool
	// Timeout bounds one HTTP request; zero means 60s.
	Timeout time.Duration
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.APIEndpoint == "":
		return errors.New("ccv3 config: APIEndpoint is empty")
	case !strings.HasPrefix(c.APIEndpoint, "http://") && !strings.HasPrefix(c.APIEndpoint, "https://"):
		return fmt.Errorf("ccv3 config: APIEndpoint %q is not an http(s) URL", c.APIEndpoint)
	case c.Token == nil:
		return errors.New("ccv3 config: Token is nil")
	}
	return nil
}

// Client calls the Cloud Controller v3 API.
type Client struct {
	base  string
	token func() (string, error)
	http  *http.Client
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.SkipTLSVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user chose --skip-ssl-validation
	}
	return &Client{
		base:  strings.TrimRight(cfg.APIEndpoint, "/"),
		token: cfg.Token,
		http:  &http.Client{Transport: tr, Timeout: timeout},
	}, nil
}

// Do sends r and decodes a 2xx JSON answer into out (which may be nil).
// A non-2xx answer comes back as *Error.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	var body io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", r.Method, r.Path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.base+r.Path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	tok, err := c.token()
	if err != nil {
		return fmt.Errorf("get access token: %w", err)
	}
	req.Header.Set("Authorization", tok)
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", r.Method, r.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseError(r.Method, r.Path, resp.StatusCode, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", r.Method, r.Path, err)
	}
	return nil
}
