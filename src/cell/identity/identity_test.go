package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func testCA(t *testing.T, isCA bool) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "instance identity CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour), IsCA: isCA,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

func TestIssueChainsToTheCAWithDiegosNames(t *testing.T) {
	certPath, keyPath, pool := testCA(t, true)
	ca, err := LoadCA(certPath, keyPath, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	inst := Instance{GUID: "ig-1", IP: netip.MustParseAddr("10.213.0.5"), OUs: []string{"organization:o", "space:s", "app:a"}}
	creds, err := ca.Issue(inst, now)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(creds.CertPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if chain, _ := pem.Decode(rest); chain == nil {
		t.Fatal("the certificate file carries the CA after the leaf")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "ig-1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	ous := slices.Sorted(slices.Values(leaf.Subject.OrganizationalUnit))
	if leaf.Subject.CommonName != "ig-1" || !slices.Equal(ous, slices.Sorted(slices.Values(inst.OUs))) ||
		len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(inst.IP.AsSlice()) {
		t.Fatalf("subject %v, IPs %v", leaf.Subject, leaf.IPAddresses)
	}
	if d := leaf.NotAfter.Sub(now); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("validity %s, want an hour", d)
	}
	if k, _ := pem.Decode(creds.KeyPEM); k == nil || k.Type != "PRIVATE KEY" {
		t.Fatal("key is not PEM PKCS#8")
	}
	again, _ := ca.Issue(inst, now)
	if string(again.KeyPEM) == string(creds.KeyPEM) {
		t.Fatal("every issue makes a new key")
	}
	if got := RotateAt(now, now.Add(time.Hour)); got != now.Add(45*time.Minute) {
		t.Fatalf("rotate at %s", got.Sub(now))
	}
}

func TestLoadCARefusesNonCA(t *testing.T) {
	certPath, keyPath, _ := testCA(t, false)
	if _, err := LoadCA(certPath, keyPath, 0); err == nil {
		t.Fatal("a leaf certificate was accepted as the instance identity CA")
	}
	if _, err := LoadCA(filepath.Join(t.TempDir(), "missing"), keyPath, 0); err == nil {
		t.Fatal("a missing CA was accepted")
	}
}
