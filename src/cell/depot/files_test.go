package depot_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/lager/v3/lagertest"

	"github.com/unik-cf/unik/src/cell/depot"
	"github.com/unik-cf/unik/src/cell/identity"
	"github.com/unik-cf/unik/src/guestinit"
)

func testIdentityCA(t *testing.T, validity time.Duration) *identity.CA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "identity CA"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	ca, err := identity.LoadCA(cp, kp, validity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func fileAt(files []guestinit.File, path string) *guestinit.File {
	for i := range files {
		if files[i].Path == path {
			return &files[i]
		}
	}
	return nil
}

// TestInstanceFiles: trusted certificates, volume-mounted service binding files and identity
// credentials reach the guest at boot with Diego's paths and environment, and the credentials
// are pushed again, renewed, before they expire.
func TestInstanceFiles(t *testing.T) {
	eng := newFakeEngine()
	logger := lagertest.NewTestLogger("t")
	d, err := depot.New(logger, depot.Config{CellID: "cell-1", RecordDir: t.TempDir(), ExternalIP: "10.0.0.9",
		Capacity: executor.NewExecutorResources(1024, 4096, 10), WatchInterval: 5 * time.Millisecond, StartupInterval: 5 * time.Millisecond,
		Identity: testIdentityCA(t, 2*time.Second), TrustedCerts: []depot.TrustedCert{{Name: "trusted-ca-1.crt", PEM: []byte("CERT")}}},
		eng, &fakeImages{}, nullSender{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Cleanup(logger) })
	es, _ := d.SubscribeToEvents(logger)
	defer es.Close()
	if f := d.AllocateContainers(logger, "", []executor.AllocationRequest{executor.NewAllocationRequest("g1",
		&executor.Resource{MemoryMB: 128, DiskMB: 100}, false, executor.Tags{"lifecycle": "lrp"})}); len(f) != 0 {
		t.Fatal(f)
	}
	nextEvent(t, es)
	if err := d.SetVolumeMountedFiles("g1", []*models.File{{Path: "/etc/../../etc/shadow", Content: "x"}}); err == nil {
		t.Fatal("a volume-mounted file outside /etc/cf-service-bindings was accepted")
	}
	if err := d.SetVolumeMountedFiles("g1", []*models.File{{Path: "vcap_services", Content: `{"db":[]}`}}); err != nil {
		t.Fatal(err)
	}
	req := runRequest(t, "g1", 0)
	req.RunInfo.TrustedSystemCertificatesPath = "/etc/cf-system-certificates"
	req.RunInfo.CertificateProperties = executor.CertificateProperties{OrganizationalUnit: []string{"app:a"}}
	if err := d.RunContainer(logger, "", &req); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, es) // running
	vms, _ := eng.List()
	eng.mu.Lock()
	files, env := eng.files[vms[0].ID], strings.Join(eng.envs[vms[0].ID], "\n")
	eng.mu.Unlock()
	if f := fileAt(files, "/etc/cf-system-certificates/trusted-ca-1.crt"); f == nil || string(f.Data) != "CERT" || f.Owner != "root" {
		t.Errorf("trusted cert: %+v", f)
	}
	if f := fileAt(files, "/etc/cf-service-bindings/vcap_services"); f == nil || string(f.Data) != `{"db":[]}` || f.Mode != 0o400 || f.Owner == "root" {
		t.Errorf("binding file: %+v", f)
	}
	cert, key := fileAt(files, identity.CertPath), fileAt(files, identity.KeyPath)
	if cert == nil || key == nil || !strings.Contains(string(key.Data), "PRIVATE KEY") {
		t.Fatalf("identity files: %+v %+v", cert, key)
	}
	block, _ := pem.Decode(cert.Data)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil || leaf.Subject.CommonName != "g1" || leaf.IPAddresses[0].String() != "10.0.2.15" || leaf.Subject.OrganizationalUnit[0] != "app:a" {
		t.Fatalf("identity certificate %v %v: %v", leaf.Subject, leaf.IPAddresses, err)
	}
	for _, want := range []string{"CF_INSTANCE_CERT=" + identity.CertPath, "CF_INSTANCE_KEY=" + identity.KeyPath,
		"CF_SYSTEM_CERT_PATH=/etc/cf-system-certificates"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s", want)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		eng.mu.Lock()
		pushed := eng.pushed[vms[0].ID]
		eng.mu.Unlock()
		if len(pushed) > 0 {
			if k := fileAt(pushed[0], identity.KeyPath); k == nil || string(k.Data) == string(key.Data) {
				t.Fatalf("rotation pushed %+v: a new key is expected", pushed[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the credentials were not rotated before they expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
