package integration_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"code.cloudfoundry.org/bbs/models"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/guestinit"
)

// sshArgs are OpenSSH client options (extra before the destination) for reaching an
// instance's ssh port with key; a remote command goes after them.
func sshArgs(key string, l *models.ActualLRP, extra ...string) []string {
	var port uint32
	for _, p := range l.Ports {
		if p.ContainerPort == 2222 {
			port = p.HostPort
		}
	}
	Expect(port).NotTo(BeZero(), "the instance maps its ssh port")
	args := []string{"-i", key, "-p", strconv.Itoa(int(port)), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"}
	return append(append(args, extra...), "vcap@"+l.Address)
}

func writeKey(dir, name, pem string) string {
	p := filepath.Join(dir, name)
	Expect(os.WriteFile(p, []byte(pem), 0o600)).To(Succeed())
	return p
}

func freeLocalPort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var _ = Describe("cf ssh on a shell-less instance", func() {
	BeforeEach(ensureCellsRunning)

	It("forwards a local port to the app with OpenSSH and the LRP's key, refuses a session with the reason and a wrong key", func() {
		keys, err := push.NewSSHKeys()
		Expect(err).NotTo(HaveOccurred())
		other, err := push.NewSSHKeys()
		Expect(err).NotTo(HaveOccurred())
		pg := desire(push.App{Name: "ssh", Instances: 1, SSH: true, SSHKeys: &keys}, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		l := running(pg)[0]
		dir := GinkgoT().TempDir()
		key := writeKey(dir, "id_rsa", keys.ClientKeyPEM)

		local := freeLocalPort()
		fwd := exec.Command("ssh", sshArgs(key, l, "-N", "-o", "ExitOnForwardFailure=yes",
			"-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:8080", local))...)
		var fwdErr bytes.Buffer
		fwd.Stderr = &fwdErr
		Expect(fwd.Start()).To(Succeed())
		DeferCleanup(func() { _ = fwd.Process.Kill(); _ = fwd.Wait() })
		Eventually(func() (string, error) {
			_, b, err := get(fmt.Sprintf("http://127.0.0.1:%d/", local))
			return b, err
		}, 60*time.Second).Should(ContainSubstring("hello from unik"), "ssh -L reaches the app (ssh said: %s)", &fwdErr)

		var stderr bytes.Buffer
		session := exec.Command("ssh", append(sshArgs(key, l), "cat", "/etc/passwd")...)
		session.Stderr = &stderr
		err = session.Run()
		var exit *exec.ExitError
		Expect(err).To(BeAssignableToTypeOf(exit))
		Expect(err.(*exec.ExitError).ExitCode()).To(Equal(1), "ssh said: %s", stderr.String())
		Expect(stderr.String()).To(ContainSubstring("no shell"))
		Expect(guestinit.NoShellMessage).To(ContainSubstring("no shell"))

		wrong := writeKey(dir, "other", other.ClientKeyPEM)
		stderr.Reset()
		refused := exec.Command("ssh", sshArgs(wrong, l, "-N")...)
		refused.Stderr = &stderr
		err = refused.Run()
		Expect(err).To(HaveOccurred())
		Expect(err.(*exec.ExitError).ExitCode()).To(Equal(255))
		Expect(stderr.String()).To(ContainSubstring("Permission denied"))
	})
})
