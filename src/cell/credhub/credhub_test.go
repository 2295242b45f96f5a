package credhub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/cell/credhub"
	"github.com/unik-cf/unik/src/cell/identity"
	"github.com/unik-cf/unik/src/devenv/credhubstandin"
)

func newCA(t *testing.T) (*identity.CA, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	ca, err := identity.LoadCA(cp, kp, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return ca, pool
}

const vcap = `{"db":[{"name":"db","credentials":{"credhub-ref":"/c/db"}}],"plain":[{"name":"p","credentials":{"k":"v"}}]}`

func TestInterpolateOverMutualTLS(t *testing.T) {
	ca, pool := newCA(t)
	server, err := ca.Issue(identity.Instance{GUID: "localhost", IP: netip.MustParseAddr("127.0.0.1")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := credhubstandin.Start(server.CertPEM, server.KeyPEM, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Set("/c/db", map[string]string{"uri": "postgres://u:secret@db:5432/x"}, "app-1"); err != nil {
		t.Fatal(err)
	}
	client := func(app string, roots *x509.CertPool) *credhub.Client {
		creds, err := ca.Issue(identity.Instance{GUID: "ig", OUs: []string{"app:" + app}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c, err := credhub.NewClient(s.URL, creds.CertPEM, creds.KeyPEM, roots)
		if err != nil {
			t.Fatal(err)
		}
		c.Attempts, c.RetryDelay = 2, time.Millisecond
		return c
	}
	ctx := context.Background()
	got, err := client("app-1", pool).Interpolate(ctx, vcap)
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string][]struct {
		Credentials map[string]string `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(got), &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed["db"][0].Credentials["uri"] != "postgres://u:secret@db:5432/x" || parsed["plain"][0].Credentials["k"] != "v" {
		t.Fatalf("interpolated: %s", got)
	}

	calls := s.Calls()
	if out, err := client("app-1", pool).Interpolate(ctx, `{"plain":[{"credentials":{"k":"v"}}]}`); err != nil || !strings.Contains(out, `"k":"v"`) {
		t.Fatalf("without references: %q, %v", out, err)
	}
	if s.Calls() != calls {
		t.Fatal("CredHub was called for VCAP_SERVICES without references")
	}

	if _, err := client("app-2", pool).Interpolate(ctx, vcap); err == nil || !strings.Contains(err.Error(), "sufficient authorization") {
		t.Fatalf("another app's reference: %v", err)
	}
	if _, err := client("app-1", x509.NewCertPool()).Interpolate(ctx, vcap); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted CredHub: %v", err)
	}
	stranger, strangerPool := newCA(t)
	_ = strangerPool
	creds, _ := stranger.Issue(identity.Instance{GUID: "ig", OUs: []string{"app:app-1"}}, time.Now())
	c, _ := credhub.NewClient(s.URL, creds.CertPEM, creds.KeyPEM, pool)
	c.Attempts, c.RetryDelay = 1, time.Millisecond
	if _, err := c.Interpolate(ctx, vcap); err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}
}

func TestPlatformOptions(t *testing.T) {
	if o, err := credhub.ParsePlatformOptions(`{"credhub-uri":"https://credhub.service.cf.internal:8844"}`); err != nil || o.CredhubURI == "" {
		t.Fatalf("%+v %v", o, err)
	}
	if _, err := credhub.ParsePlatformOptions(`{`); err == nil || !strings.Contains(err.Error(), "Invalid platform options") {
		t.Fatalf("bad options: %v", err)
	}
}
