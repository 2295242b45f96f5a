package localdiego

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs are one CA and one leaf (server and client auth) that every component uses.
type Certs struct{ Dir string }

func (c Certs) CA() string   { return filepath.Join(c.Dir, "ca.crt") }
func (c Certs) Cert() string { return filepath.Join(c.Dir, "server.crt") }
func (c Certs) Key() string  { return filepath.Join(c.Dir, "server.key") }

// CAKey is the CA's private key: local Diego's cells also use the CA as their instance
// identity CA.
func (c Certs) CAKey() string { return filepath.Join(c.Dir, "ca.key") }

// Trusted is a directory holding the CA's certificate: the cells' trusted certificates.
func (c Certs) Trusted() string { return filepath.Join(c.Dir, "trusted") }

// DNS names and addresses the leaf is valid for.
var certNames = []string{"localhost", "bbs.service.cf.internal", "locket.service.cf.internal",
	"*.cell.service.cf.internal", "metron", "cloud-controller-ng.service.cf.internal"}

// MakeCerts writes a fresh CA and leaf into dir.
func MakeCerts(dir string) (Certs, error) {
	c := Certs{Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unik local diego CA"},
		NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return c, fmt.Errorf("ca: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour), DNSNames: certNames,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return c, fmt.Errorf("leaf: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return c, err
	}
	files := map[string][]byte{
		c.CA():   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		c.Cert(): pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		c.Key():  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return c, err
		}
	}
	caKeyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return c, err
	}
	if err := os.WriteFile(c.CAKey(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: caKeyDER}), 0o600); err != nil {
		return c, err
	}
	if err := os.MkdirAll(c.Trusted(), 0o755); err != nil {
		return c, err
	}
	if err := os.WriteFile(filepath.Join(c.Trusted(), "local-diego-ca.crt"), files[c.CA()], 0o644); err != nil {
		return c, err
	}
	return c, nil
}
