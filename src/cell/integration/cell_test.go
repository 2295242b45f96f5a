package integration_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/go-loggregator/v9/rpc/loggregator_v2"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/cell"
	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/network"
)

var _ = Describe("Logs and metrics", func() {
	BeforeEach(ensureCellsRunning)

	It("sends app stdout/stderr to the loggregator ingress as OUT/ERR with source type APP/PROC/WEB and the instance index, lifecycle as CELL, and container metrics", func() {
		app := push.App{Name: "logs", Instances: 2}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(2))
		guid := actualsGUID(pg)
		logs := func(src, typ string) []string {
			var out []string
			for _, e := range diego.Ingress.Envelopes(func(e *loggregator_v2.Envelope) bool { return e.SourceId == guid && e.GetLog() != nil }) {
				if e.Tags["source_type"] == src && e.GetLog().Type.String() == typ {
					out = append(out, e.InstanceId+" "+string(e.GetLog().Payload))
				}
			}
			return out
		}
		Eventually(func() []string { return logs("APP/PROC/WEB", "OUT") }).Should(ContainElements(
			"0 hello-go: listening on :8080", "1 hello-go: listening on :8080"))
		Eventually(func() []string { return logs("APP/PROC/WEB", "ERR") }).Should(ContainElements(
			"0 hello-go: stderr is separate", "1 hello-go: stderr is separate"))
		for _, l := range running(pg) {
			Eventually(func() []string { return logs("CELL", "OUT") }).Should(ContainElements(
				fmt.Sprintf("%d Cell %s creating container for instance %s", l.Index, l.CellId, l.InstanceGuid),
				fmt.Sprintf("%d Cell %s successfully created container for instance %s", l.Index, l.CellId, l.InstanceGuid),
				fmt.Sprintf("%d Container became healthy", l.Index)))
		}
		gauges := func() map[string]bool {
			names := map[string]bool{}
			for _, e := range diego.Ingress.Envelopes(func(e *loggregator_v2.Envelope) bool { return e.SourceId == guid && e.GetGauge() != nil }) {
				for name, v := range e.GetGauge().Metrics {
					if name == "memory" && v.Value <= 0 {
						continue // a VM always uses memory
					}
					names[e.InstanceId+"/"+name] = true
				}
			}
			return names
		}
		Eventually(gauges, 30*time.Second).Should(SatisfyAll(
			HaveKey("0/memory"), HaveKey("0/cpu"), HaveKey("0/disk"), HaveKey("0/memory_quota"),
			HaveKey("1/memory"), HaveKey("0/container_age"), HaveKey("0/absolute_usage")))
	})
})

func actualsGUID(pg string) string {
	d, err := diego.BBSClient.DesiredLRPByProcessGuid(logger, "", pg)
	Expect(err).NotTo(HaveOccurred())
	return d.LogGuid
}

var _ = Describe("Cell failures", Ordered, func() {
	BeforeEach(ensureCellsRunning)

	It("adopts its VMs after the cell process is killed and restarted, and removes what no record owns", func() {
		pg := desire(push.App{Name: "adopt", Instances: 1}, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		before := running(pg)[0]
		vm := vmOf(before)
		c := cellOf(before.CellId)
		c.Kill()

		// An orphan: a VM that no container record owns (as if the cell died inside Run).
		net, eng, err := cell.VM(c.Config)
		Expect(err).NotTo(HaveOccurred())
		imgs, err := imagestore.Store{Dir: filepath.Join(c.Config.VM.StateDir, "images")}.List()
		Expect(err).NotTo(HaveOccurred())
		Expect(imgs).NotTo(BeEmpty())
		orphan, err := eng.Run(context.Background(), engine.RunSpec{Image: imgs[0], MemoryMB: 64})
		Expect(err).NotTo(HaveOccurred())
		// Half-built, as a cell killed inside engine.Run leaves them: an attachment (tap, DNAT
		// rule, leases) with no instance, and an instance directory with no record.
		half, err := net.Attach(context.Background(), "0badc0ffee00", []network.PortRequest{{GuestPort: 8080}})
		Expect(err).NotTo(HaveOccurred())
		Expect(links(half.Tap)).To(HaveLen(1))
		bare := filepath.Join(c.Config.VM.StateDir, "engine", "instances", "0badc0ffee01")
		Expect(os.MkdirAll(bare, 0o700)).To(Succeed())

		Expect(c.Start(ctxTimeout(time.Minute))).To(Succeed())
		Eventually(func() []string {
			var ids []string
			for _, v := range cellVMs(c) {
				ids = append(ids, v.ID)
			}
			return ids
		}).Should(Equal([]string{vm.ID}), "the instance's VM is adopted, the orphan removed")
		atts, err := net.Attachments()
		Expect(err).NotTo(HaveOccurred())
		Expect(atts).To(HaveLen(1))
		Expect(atts[0].ID).To(Equal(vm.ID))
		for _, gone := range []string{orphan.ID, "0badc0ffee00", "0badc0ffee01"} {
			_, err = os.Stat(filepath.Join(c.Config.VM.StateDir, "engine", "instances", gone))
			Expect(os.IsNotExist(err)).To(BeTrue(), gone)
		}
		Expect(links(half.Tap)).To(BeEmpty(), "the half-built instance's tap is removed")
		Expect(links(network.TapName(orphan.ID))).To(BeEmpty(), "the orphan's tap is removed")
		Consistently(func() string {
			ls := running(pg)
			if len(ls) != 1 {
				return "not running"
			}
			return ls[0].InstanceGuid
		}, 5*time.Second).Should(Equal(before.InstanceGuid), "the instance kept running through the restart")
		Expect(vmOf(running(pg)[0]).PID).To(Equal(vm.PID))
		Expect(body(endpoint(running(pg)[0]))).To(ContainSubstring("hello from unik"))
	})

	It("marks a killed cell's instances SUSPECT and starts them on the other cell; the restarted cell drops its stale VMs", func() {
		pg := desire(push.App{Name: "suspect", Instances: 2}, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(2))
		victim := cellOf(running(pg)[0].CellId)
		survivor := otherCell(victim.ID)
		victim.Kill()
		Eventually(func() bool {
			for _, l := range actuals(pg) {
				if l.Presence == models.ActualLRP_Suspect && l.CellId == victim.ID {
					return true
				}
			}
			return false
		}, 60*time.Second).Should(BeTrue(), "the BBS marks the lost cell's instances suspect")
		Eventually(func() []string {
			var cells []string
			for _, l := range running(pg) {
				if l.Presence == models.ActualLRP_Ordinary {
					cells = append(cells, l.CellId)
				}
			}
			return cells
		}, 90*time.Second).Should(Equal([]string{survivor.ID, survivor.ID}))
		for _, l := range running(pg) {
			if l.Presence == models.ActualLRP_Ordinary {
				Expect(body(endpoint(l))).To(ContainSubstring("hello from unik"))
			}
		}
		Expect(victim.Start(ctxTimeout(time.Minute))).To(Succeed())
		Eventually(func() int { return len(cellVMs(victim)) }, 60*time.Second).Should(BeZero(),
			"the restarted cell stops the instances that now run elsewhere")
		Eventually(func() int { return len(actuals(pg)) }).Should(Equal(2))
		Expect(runningCount(pg)()).To(Equal(2))
	})

	It("evacuates: instances move to the other cell with no failed request against the reported endpoints, then the cell exits", func() {
		pg := desire(push.App{Name: "evacuate", Instances: 3}, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(3))
		byCell := map[string]int{}
		for _, l := range running(pg) {
			byCell[l.CellId]++
		}
		victim := diego.Cells[0]
		if byCell[victim.ID] == 0 {
			victim = diego.Cells[1]
		}
		Expect(byCell[victim.ID]).To(BeNumerically(">", 0))
		survivor := otherCell(victim.ID)

		var requests, failures atomic.Int64
		var failed sync.Map
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer GinkgoRecover()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, l := range running(pg) {
					code, _, err := get(endpoint(l))
					requests.Add(1)
					if err == nil && code == 200 {
						continue
					}
					// A failure counts if the BBS still reports this instance at this endpoint.
					for _, now := range running(pg) {
						if now.InstanceGuid == l.InstanceGuid && endpoint(now) == endpoint(l) {
							failures.Add(1)
							failed.Store(endpoint(l), fmt.Sprintf("%s: %d %v (instance %s index %d on %s, %s, victim %s)",
								time.Now().Format("15:04:05.000"), code, err, now.InstanceGuid, now.Index, now.CellId, now.Presence, victim.ID))
						}
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		Expect(victim.Evacuate()).To(Succeed())
		Eventually(victim.Running, 3*time.Minute).Should(BeFalse(), "the cell exits once evacuated")
		Eventually(func() []string {
			var cells []string
			for _, l := range running(pg) {
				cells = append(cells, l.CellId)
			}
			return cells
		}, 90*time.Second).Should(Equal([]string{survivor.ID, survivor.ID, survivor.ID}))
		time.Sleep(time.Second)
		close(stop)
		<-done
		Expect(requests.Load()).To(BeNumerically(">", 20))
		Expect(failures.Load()).To(BeZero(), func() string {
			var s string
			failed.Range(func(k, v any) bool { s += fmt.Sprintf("%v: %v\n", k, v); return true })
			return s
		})
		Expect(cellVMs(victim)).To(BeEmpty())
	})
})
