// Package credhub does for a unik instance what the buildpack launcher does in a Diego
// container before the app starts: when VCAP_PLATFORM_OPTIONS names a CredHub ("credhub-uri")
// and VCAP_SERVICES holds "credhub-ref" credentials, it asks CredHub's interpolate API for
// VCAP_SERVICES with the references resolved, over mutual TLS with the instance's identity
// credentials, trusting the cell's trusted certificates. The cell does it on the host, before
// boot, with the credentials it issued for the instance, so the guest receives the resolved
// VCAP_SERVICES in its config segment like any other variable.
package credhub

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// PlatformOptions is VCAP_PLATFORM_OPTIONS.
type PlatformOptions struct {
	CredhubURI string `json:"credhub-uri"`
}

// ParsePlatformOptions reads VCAP_PLATFORM_OPTIONS ("" is none).
func ParsePlatformOptions(s string) (PlatformOptions, error) {
	var o PlatformOptions
	if s == "" {
		return o, nil
	}
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return o, fmt.Errorf("Invalid platform options: %w", err)
	}
	return o, nil
}

// Client calls one CredHub.
type Client struct {
	URI        string
	HTTP       *http.Client
	Attempts   int           // default 3, as the launcher's -credhubConnectAttempts
	RetryDelay time.Duration // default 1s
}

// NewClient builds a client authenticating with certPEM/keyPEM and trusting roots (nil: the
// host's roots).
func NewClient(uri string, certPEM, keyPEM []byte, roots *x509.CertPool) (*Client, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("Unable to set up credhub client: %w", err)
	}
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots,
		MinVersion: tls.VersionTLS12}}
	return &Client{URI: strings.TrimRight(uri, "/"), HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// Interpolate returns vcapServices with its credhub-ref credentials resolved; without any
// reference it is returned as is and CredHub is not called.
func (c *Client) Interpolate(ctx context.Context, vcapServices string) (string, error) {
	if !strings.Contains(vcapServices, `"credhub-ref"`) {
		return vcapServices, nil
	}
	if !json.Valid([]byte(vcapServices)) {
		return "", errors.New("Unable to interpolate credhub references: VCAP_SERVICES is not JSON")
	}
	attempts, delay := c.Attempts, c.RetryDelay
	if attempts <= 0 {
		attempts = 3
	}
	if delay <= 0 {
		delay = time.Second
	}
	var err error
	for attempt := 1; attempt <= attempts; attempt++ {
		var out string
		if out, err = c.interpolate(ctx, vcapServices); err == nil {
			return out, nil
		}
		if attempt < attempts {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(delay):
			}
		}
	}
	return "", fmt.Errorf("Unable to interpolate credhub references: %w", err)
}

func (c *Client) interpolate(ctx context.Context, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URI+"/api/v1/interpolate", bytes.NewReader([]byte(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return "", fmt.Errorf("credhub: %s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return "", fmt.Errorf("credhub: HTTP %d", resp.StatusCode)
	}
	if !json.Valid(b) {
		return "", errors.New("credhub: the answer is not JSON")
	}
	return string(b), nil
}
