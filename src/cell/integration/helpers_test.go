package integration_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/cell"
	"github.com/unik-cf/unik/src/devenv/localdiego"
	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/network"
)

// desire desires app with droplet d at url and returns its process guid; the LRP is removed
// when the spec ends.
func desire(app push.App, d push.Droplet, url string) string {
	lrp := push.DesiredLRP(app, url, d.SHA256)
	Expect(diego.BBSClient.DesireLRP(logger, "", lrp)).To(Succeed())
	DeferCleanup(func() {
		_ = diego.BBSClient.RemoveDesiredLRP(logger, "", lrp.ProcessGuid)
		Eventually(func() []*models.ActualLRP { return actuals(lrp.ProcessGuid) }, 60*time.Second).Should(BeEmpty())
		Eventually(cellContainers, 60*time.Second).Should(BeZero(), "every cell deletes its instances")
	})
	return lrp.ProcessGuid
}

func actuals(pg string) []*models.ActualLRP {
	lrps, err := diego.BBSClient.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: pg})
	Expect(err).NotTo(HaveOccurred())
	sort.Slice(lrps, func(i, j int) bool { return lrps[i].Index < lrps[j].Index })
	return lrps
}

func running(pg string) []*models.ActualLRP {
	var out []*models.ActualLRP
	for _, l := range actuals(pg) {
		if l.State == models.ActualLRPStateRunning {
			out = append(out, l)
		}
	}
	return out
}

func runningCount(pg string) func() int { return func() int { return len(running(pg)) } }

// endpoint is where an instance answers, as the routing tier would reach it.
func endpoint(l *models.ActualLRP) string {
	return fmt.Sprintf("http://%s:%d", l.Address, l.Ports[0].HostPort)
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

func get(url string) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func body(url string) string {
	code, b, err := get(url)
	Expect(err).NotTo(HaveOccurred())
	Expect(code).To(Equal(http.StatusOK))
	return b
}

// cellVMs lists the engine instances of cell c.
func cellVMs(c *localdiego.Cell) []engine.Info {
	_, eng, err := cell.VM(c.Config)
	Expect(err).NotTo(HaveOccurred())
	vms, err := eng.List()
	Expect(err).NotTo(HaveOccurred())
	return vms
}

// cellContainers counts the container records (and VMs) left on every cell.
func cellContainers() int {
	n := 0
	for _, c := range diego.Cells {
		recs, _ := filepath.Glob(filepath.Join(c.Config.VM.StateDir, "containers", "*.json"))
		n += len(recs) + len(cellVMs(c))
	}
	return n
}

func cellOf(id string) *localdiego.Cell {
	for _, c := range diego.Cells {
		if c.ID == id {
			return c
		}
	}
	Fail("no cell " + id)
	return nil
}

func otherCell(id string) *localdiego.Cell {
	for _, c := range diego.Cells {
		if c.ID != id {
			return c
		}
	}
	return nil
}

// vmOf finds the VM of an instance on its cell.
func vmOf(l *models.ActualLRP) engine.Info {
	for _, v := range cellVMs(cellOf(l.CellId)) {
		if v.Tags["container-guid"] == l.InstanceGuid {
			return v
		}
	}
	Fail("no VM for instance " + l.InstanceGuid)
	return engine.Info{}
}

func ensureCellsRunning() {
	for _, c := range diego.Cells {
		if !c.Running() {
			Expect(c.Start(ctxTimeout(time.Minute))).To(Succeed())
		}
	}
}

func links(prefix string) []string {
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 {
			name := strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
			if strings.HasPrefix(name, prefix) {
				names = append(names, name)
			}
		}
	}
	return names
}

func tables(prefix string) []string {
	out, _ := exec.Command("nft", "list", "tables").Output()
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.HasPrefix(f[2], prefix) {
			names = append(names, f[2])
		}
	}
	return names
}

// removeStaleNetwork deletes what an earlier, killed run of the suite left.
func removeStaleNetwork() {
	// the host-wide lease stores of the suite's bridges: an attachment a killed run left there
	// would keep the next run's cells from tearing their bridges down
	stores, _ := filepath.Glob(filepath.Join(network.DefaultRunDir, netPrefix+"*"))
	for _, s := range stores {
		_ = os.RemoveAll(s)
	}
	for _, l := range links(netPrefix) {
		_ = exec.Command("ip", "link", "del", l).Run()
	}
	for _, t := range tables(netPrefix) {
		for _, family := range []string{"ip", "bridge"} { // the network's DNAT table and its guard
			_ = exec.Command("nft", "delete", "table", family, t).Run()
		}
	}
}

// checkNothingLeft fails when a VM, bridge, table or process of the suite survived.
func checkNothingLeft() {
	Expect(links(netPrefix)).To(BeEmpty(), "bridges left behind")
	Expect(tables(netPrefix)).To(BeEmpty(), "nftables tables left behind")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), workDir) {
			Fail(fmt.Sprintf("process left behind: %s", strings.ReplaceAll(string(b), "\x00", " ")))
		}
	}
}
