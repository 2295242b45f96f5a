package integration_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/cell/identity"
	"github.com/unik-cf/unik/src/devenv/credhubstandin"
	"github.com/unik-cf/unik/src/devenv/push"
)

// guestFile reads a file inside the instance through hello-go's /file.
func guestFile(base, path string) string { return body(base + "/file?path=" + url.QueryEscape(path)) }

func leafOf(certPEM string) *x509.Certificate {
	block, _ := pem.Decode([]byte(certPEM))
	Expect(block).NotTo(BeNil(), "a PEM certificate")
	c, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return c
}

var _ = Describe("The app's world", func() {
	BeforeEach(ensureCellsRunning)

	It("gives the app its identity credentials (rotated in place), the cell's trusted certificates and its service binding files", func() {
		binding := `{"db":[{"name":"db","credentials":{"uri":"postgres://u:p@db:5432/x"}}]}`
		app := push.App{Name: "world", Instances: 1, VolumeMountedFiles: map[string]string{"vcap_services": binding}}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		l := running(pg)[0]
		base := endpoint(l)

		Expect(guestFile(base, "/etc/cf-service-bindings/vcap_services")).To(Equal(binding))

		Expect(body(base + "/env?name=CF_SYSTEM_CERT_PATH")).To(ContainSubstring("/etc/cf-system-certificates"))
		ca, err := os.ReadFile(diego.Certs.CA())
		Expect(err).NotTo(HaveOccurred())
		Expect(guestFile(base, "/etc/cf-system-certificates/local-diego-ca.crt")).To(Equal(string(ca)))

		certPath := strings.TrimSpace(body(base + "/env?name=CF_INSTANCE_CERT"))
		keyPath := strings.TrimSpace(body(base + "/env?name=CF_INSTANCE_KEY"))
		Expect(certPath).To(Equal("/etc/cf-instance-credentials/instance.crt"))
		Expect(guestFile(base, keyPath)).To(ContainSubstring("PRIVATE KEY"))
		leaf := leafOf(guestFile(base, certPath))
		roots := x509.NewCertPool()
		Expect(roots.AppendCertsFromPEM(ca)).To(BeTrue())
		_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: l.InstanceGuid, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		Expect(err).NotTo(HaveOccurred(), "the certificate chains to the cell's identity CA with the instance guid as SAN")
		Expect(leaf.IPAddresses).To(HaveLen(1))
		Expect(leaf.IPAddresses[0].String()).To(Equal(l.InstanceAddress))
		Expect(leaf.Subject.OrganizationalUnit).To(ContainElement("app:" + actualsGUID(pg)))

		serial := func() (string, error) { // a slow answer on a busy machine is retried, not fatal
			_, b, err := get(base + "/file?path=" + url.QueryEscape(certPath))
			if err != nil {
				return "", err
			}
			block, _ := pem.Decode([]byte(b))
			if block == nil {
				return "", fmt.Errorf("no certificate in %q", b)
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return "", err
			}
			return c.SerialNumber.String(), nil
		}
		Eventually(serial, 60*time.Second, time.Second).ShouldNot(Equal(leaf.SerialNumber.String()),
			"rotated before it expires (validity 20s)")
		Expect(running(pg)[0].InstanceGuid).To(Equal(l.InstanceGuid), "without restarting the app")
	})

	It("interpolates CredHub references in VCAP_SERVICES before the app starts, over mTLS with the instance's identity, and sets DATABASE_URL", func() {
		ca, err := identity.LoadCA(diego.Certs.CA(), diego.Certs.CAKey(), time.Hour)
		Expect(err).NotTo(HaveOccurred())
		server, err := ca.Issue(identity.Instance{GUID: "localhost", IP: netip.MustParseAddr("127.0.0.1")}, time.Now())
		Expect(err).NotTo(HaveOccurred())
		caPEM, err := os.ReadFile(diego.Certs.CA())
		Expect(err).NotTo(HaveOccurred())
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(caPEM)
		ch, err := credhubstandin.Start(server.CertPEM, server.KeyPEM, roots)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(ch.Close)
		guid := push.GUIDFor("credhub-app")
		Expect(ch.Set("/c/p/db/credentials", map[string]string{"uri": "postgres://app:s3cret@db.example:5432/app"}, guid)).To(Succeed())
		app := push.App{Name: "credhub-app", GUID: guid, Instances: 1, Env: map[string]string{
			"VCAP_PLATFORM_OPTIONS": `{"credhub-uri":"` + ch.URL + `"}`,
			"VCAP_SERVICES":         `{"postgres":[{"name":"db","credentials":{"credhub-ref":"/c/p/db/credentials"}}]}`,
		}}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		base := endpoint(running(pg)[0])
		Expect(body(base + "/env?name=VCAP_SERVICES")).To(ContainSubstring("postgres://app:s3cret@db.example:5432/app"))
		Expect(body(base + "/env?name=DATABASE_URL")).To(ContainSubstring("postgres://app:s3cret@db.example:5432/app"))
		code, _, err := get(base + "/env?name=VCAP_PLATFORM_OPTIONS")
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(404), "the launcher's platform options never reach the app")
		Expect(ch.Calls()).To(BeNumerically(">=", 1))
	})
})
