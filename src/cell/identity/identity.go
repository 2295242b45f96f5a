// Package identity issues Diego's instance identity credentials: per instance, a private key
// and a certificate signed by the cell's instance identity CA, with the instance guid as
// common name and DNS SAN, the instance's address as IP SAN, and the organizational units
// Cloud Controller gives (certificate_properties: organization:..., space:..., app:...). Apps
// find them at CF_INSTANCE_CERT and CF_INSTANCE_KEY, and use them for mTLS (container-to-
// container, CredHub). The cell rotates them before they expire, without restarting the app.
package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"time"
)

// Guest paths and environment, as a Diego container has them.
const (
	Dir      = "/etc/cf-instance-credentials"
	CertPath = Dir + "/instance.crt"
	KeyPath  = Dir + "/instance.key"
	CertEnv  = "CF_INSTANCE_CERT"
	KeyEnv   = "CF_INSTANCE_KEY"
)

// DefaultValidity is Diego's instance_identity_validity_period default.
const DefaultValidity = 24 * time.Hour

// CA signs instance credentials.
type CA struct {
	cert     *x509.Certificate
	certPEM  []byte // the CA's chain, appended to every instance certificate
	key      any
	Validity time.Duration
}

// LoadCA reads the CA's certificate (PEM, possibly a chain: the first is the signer) and key.
func LoadCA(certPath, keyPath string, validity time.Duration) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("instance identity CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("instance identity CA key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("instance identity CA: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("instance identity CA: %w", err)
	}
	if !leaf.IsCA {
		return nil, errors.New("instance identity CA: the certificate is not a CA")
	}
	if validity <= 0 {
		validity = DefaultValidity
	}
	return &CA{cert: leaf, certPEM: certPEM, key: pair.PrivateKey, Validity: validity}, nil
}

// Instance names what a certificate is for.
type Instance struct {
	GUID string     // the instance guid: common name and DNS SAN
	IP   netip.Addr // the instance's address: IP SAN
	OUs  []string   // organizational units (certificate_properties)
}

// Credentials are one instance's certificate chain and key, PEM.
type Credentials struct {
	CertPEM  []byte
	KeyPEM   []byte
	NotAfter time.Time
}

// Issue makes a new key and a certificate for inst, valid from now for the CA's validity.
func (ca *CA) Issue(inst Instance, now time.Time) (Credentials, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Credentials{}, fmt.Errorf("instance identity: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return Credentials{}, fmt.Errorf("instance identity: %w", err)
	}
	notAfter := now.Add(ca.Validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter // never outlive the signer
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: inst.GUID, OrganizationalUnit: inst.OUs},
		DNSNames:     []string{inst.GUID},
		NotBefore:    now.Add(-time.Minute), // a guest clock a little behind still accepts it
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if inst.IP.IsValid() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, inst.IP.AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return Credentials{}, fmt.Errorf("instance identity: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Credentials{}, fmt.Errorf("instance identity: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return Credentials{
		CertPEM:  append(certPEM, ca.certPEM...),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		NotAfter: notAfter,
	}, nil
}

// RotateAt is when credentials issued at issued, valid until notAfter, are replaced: once
// three quarters of their life has passed, so a rotation that fails has time to be retried.
func RotateAt(issued, notAfter time.Time) time.Time {
	return issued.Add(notAfter.Sub(issued) * 3 / 4)
}
