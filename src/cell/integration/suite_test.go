package integration_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/devenv/localdiego"
	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/internal/repotest"
	"github.com/unik-cf/unik/src/kernel"
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RunSpecs(t, "unik cell integration")
}

const netPrefix = "ukic" // bridges and nftables tables of the suite's cells: ukic1, ukic2 (not "ukt": the network tests own that prefix)

var (
	diego   *localdiego.Diego
	logger  lager.Logger
	repo    string
	workDir string
	drops   *push.Server
	// droplets of the test apps
	helloStaged, helloPlain, exitCode          push.Droplet
	helloStagedURL, helloPlainURL, exitCodeURL string
)

var _ = BeforeSuite(func() {
	var err error
	repo, err = repotest.Root()
	Expect(err).NotTo(HaveOccurred())
	Expect(os.Geteuid()).To(Equal(0), "the unik cell integration suite must run as root (taps, a bridge and nftables per cell)")
	_, err = localdiego.PostgresBinDir()
	Expect(err).NotTo(HaveOccurred(), "PostgreSQL is required (Debian: apt-get install postgresql)")
	_, err = kernel.Find(kernel.DefaultCacheDir(), "")
	Expect(err).NotTo(HaveOccurred(), "the guest kernel is missing: run scripts/setup")
	_, err = os.Stat(filepath.Join(repo, "bin", "unik-init"))
	Expect(err).NotTo(HaveOccurred(), "bin/unik-init is missing: run scripts/setup")
	_, err = os.Stat(filepath.Join(repo, "bin", "unik-shim"))
	Expect(err).NotTo(HaveOccurred(), "bin/unik-shim is missing (the cells jail their VMs with it): run scripts/setup")
	removeStaleNetwork()

	workDir, err = os.MkdirTemp("", "unik-cell-it-")
	Expect(err).NotTo(HaveOccurred())
	Expect(os.Chmod(workDir, 0o755)).To(Succeed()) // PostgreSQL runs as the postgres user
	DeferCleanup(func() {
		checkNothingLeft()
		if failed || os.Getenv("UNIK_KEEP_TEST_DIR") != "" {
			fmt.Fprintf(GinkgoWriter, "keeping %s for its logs (a spec failed)\n", workDir)
			return
		}
		os.RemoveAll(workDir)
	})
	logger = lager.NewLogger("it")
	logf, err := os.Create(filepath.Join(workDir, "test.log"))
	Expect(err).NotTo(HaveOccurred())
	logger.RegisterSink(lager.NewWriterSink(logf, lager.INFO))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := localdiego.Build(ctx, repo, localdiego.DefaultDiegoBinDir, filepath.Join(workDir, "bin"))
	Expect(err).NotTo(HaveOccurred())
	buildDroplets(ctx)

	diego, err = localdiego.Start(ctx, localdiego.Options{Dir: filepath.Join(workDir, "diego"), Bin: bin, Repo: repo, Cells: 2,
		NetPrefix: netPrefix, SubnetBase: 30, PortBase: 45000, ConvergeInterval: 2 * time.Second,
		PollingInterval: 3 * time.Second, LockTTL: 5 * time.Second, CellMemoryMB: 2048, IdentityValidity: 20 * time.Second, Logger: logger})
	if err != nil && diego != nil {
		diego.Stop()
	}
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		Expect(diego.Stop()).To(Succeed())
	})
})

// failed keeps the work directory (component logs) for inspection.
var failed bool

var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() {
		failed = true
	}
	if r.Failed() && diego != nil {
		AddReportEntry("logs", "component logs are in "+filepath.Join(workDir, "diego"))
	}
})

// buildDroplets compiles the example apps and packs them: hello-go staged (unik image in
// the droplet) and plain (the cell builds it), exit-code plain.
func buildDroplets(ctx context.Context) {
	apps := filepath.Join(workDir, "apps")
	for _, name := range []string{"hello-go", "exit-code"} {
		dir := filepath.Join(apps, name)
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, name), "./examples/"+name)
		cmd.Dir, cmd.Env = repo, append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: ./"+name+"\n"), 0o644)).To(Succeed())
	}
	dropDir := filepath.Join(workDir, "droplets")
	Expect(os.MkdirAll(dropDir, 0o755)).To(Succeed())
	init := filepath.Join(repo, "bin", "unik-init")
	var err error
	helloStaged, err = push.MakeDroplet(ctx, filepath.Join(apps, "hello-go"), filepath.Join(dropDir, "hello-staged.tgz"), "./hello-go", init, true)
	Expect(err).NotTo(HaveOccurred())
	helloPlain, err = push.MakeDroplet(ctx, filepath.Join(apps, "hello-go"), filepath.Join(dropDir, "hello-plain.tgz"), "./hello-go", init, false)
	Expect(err).NotTo(HaveOccurred())
	exitCode, err = push.MakeDroplet(ctx, filepath.Join(apps, "exit-code"), filepath.Join(dropDir, "exit-code.tgz"), "./exit-code", init, false)
	Expect(err).NotTo(HaveOccurred())
	drops, err = push.Serve("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(drops.Close)
	helloStagedURL = drops.Add("hello-staged.tgz", helloStaged.Path)
	helloPlainURL = drops.Add("hello-plain.tgz", helloPlain.Path)
	exitCodeURL = drops.Add("exit-code.tgz", exitCode.Path)
}
