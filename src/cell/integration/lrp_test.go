package integration_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/devenv/push"
)

var _ = Describe("LRPs on unik cells", func() {
	BeforeEach(ensureCellsRunning)

	It("runs a desired LRP: RUNNING in the BBS, answering HTTP on the address and host port it reports, with CF's instance environment", func() {
		app := push.App{Name: "hello", Instances: 1}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		l := running(pg)[0]
		Expect(l.Address).To(Equal("127.0.0.1"))
		Expect(l.InstanceAddress).To(HavePrefix("10.213.3"))
		Expect(l.Ports).To(HaveLen(1))
		Expect(l.Ports[0].ContainerPort).To(BeEquivalentTo(8080))
		Expect(body(endpoint(l))).To(ContainSubstring("hello from unik"))

		env := func(name string) string { return body(endpoint(l) + "/env?name=" + name) }
		Expect(env("CF_INSTANCE_IP")).To(Equal(l.Address))
		Expect(env("CF_INSTANCE_INTERNAL_IP")).To(Equal(l.InstanceAddress))
		Expect(env("CF_INSTANCE_PORT")).To(Equal(strconv.Itoa(int(l.Ports[0].HostPort))))
		Expect(env("CF_INSTANCE_ADDR")).To(Equal(fmt.Sprintf("%s:%d", l.Address, l.Ports[0].HostPort)))
		Expect(env("CF_INSTANCE_PORTS")).To(MatchJSON(fmt.Sprintf(`[{"external":%d,"internal":8080}]`, l.Ports[0].HostPort)))
		Expect(env("CF_INSTANCE_GUID")).To(Equal(l.InstanceGuid))
		Expect(env("INSTANCE_GUID")).To(Equal(l.InstanceGuid))
		Expect(env("CF_INSTANCE_INDEX")).To(Equal("0"))
		Expect(env("INSTANCE_INDEX")).To(Equal("0"))
		Expect(env("PORT")).To(Equal("8080"))
		Expect(env("LANG")).To(Equal("en_US.UTF-8"))
		var vcap map[string]any
		Expect(json.Unmarshal([]byte(env("VCAP_APPLICATION")), &vcap)).To(Succeed())
		Expect(vcap).To(HaveKeyWithValue("instance_id", l.InstanceGuid))
		Expect(vcap).To(HaveKeyWithValue("instance_index", BeEquivalentTo(0)))
		Expect(vcap).To(HaveKeyWithValue("application_name", "hello"))
	})

	It("reports lifecycle events in order: created (unclaimed), claimed, running, removed", func() {
		es, err := diego.BBSClient.SubscribeToInstanceEvents(logger)
		Expect(err).NotTo(HaveOccurred())
		defer es.Close()
		seen := make(chan string, 100)
		go func() {
			for {
				e, err := es.Next()
				if err != nil {
					close(seen)
					return
				}
				switch e := e.(type) {
				case *models.ActualLRPInstanceCreatedEvent:
					seen <- e.ActualLrp.ProcessGuid + " created " + e.ActualLrp.State
				case *models.ActualLRPInstanceChangedEvent:
					seen <- e.ProcessGuid + " changed " + e.After.State
				case *models.ActualLRPInstanceRemovedEvent:
					seen <- e.ActualLrp.ProcessGuid + " removed " + e.ActualLrp.State
				}
			}
		}()
		pg := desire(push.App{Name: "events", Instances: 1}, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		Expect(diego.BBSClient.RemoveDesiredLRP(logger, "", pg)).To(Succeed())
		var got []string
		Eventually(func() []string {
			for {
				select {
				case s, ok := <-seen:
					if ok && strings.HasPrefix(s, pg+" ") {
						got = append(got, strings.TrimPrefix(s, pg+" "))
					}
					continue
				default:
				}
				return got
			}
		}).Should(ContainElement(HavePrefix("removed")))
		Expect(got).To(Equal([]string{"created UNCLAIMED", "changed CLAIMED", "changed RUNNING", "removed RUNNING"}))
		_ = events.EventSource(nil)
	})

	It("scales 1 -> 3 -> 1 -> 0 -> 2, from a plain droplet the cell builds an image from", func() {
		pg := desire(push.App{Name: "scale", Instances: 1}, helloPlain, helloPlainURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		for _, n := range []int{3, 1, 0, 2} {
			update := &models.DesiredLRPUpdate{}
			update.SetInstances(int32(n))
			Expect(diego.BBSClient.UpdateDesiredLRP(logger, "", pg, update)).To(Succeed())
			Eventually(func() int { return len(actuals(pg)) }, 90*time.Second).Should(Equal(n))
			Eventually(runningCount(pg), 90*time.Second).Should(Equal(n))
			for _, l := range running(pg) {
				Expect(body(endpoint(l))).To(ContainSubstring("hello from unik"))
			}
		}
	})

	It("stops every instance when the LRP is deleted: no VM is left on any cell", func() {
		pg := desire(push.App{Name: "delete", Instances: 2}, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(2))
		eps := []string{}
		for _, l := range running(pg) {
			eps = append(eps, endpoint(l))
		}
		Expect(diego.BBSClient.RemoveDesiredLRP(logger, "", pg)).To(Succeed())
		Eventually(func() []*models.ActualLRP { return actuals(pg) }).Should(BeEmpty())
		Eventually(cellContainers).Should(BeZero())
		for _, ep := range eps {
			_, _, err := get(ep)
			Expect(err).To(HaveOccurred(), "nothing answers on %s any more", ep)
		}
	})

	It("restarts an app that exits at once twice, then marks it CRASHED with a backoff", func() {
		pg := desire(push.App{Name: "flapping", Instances: 1, HealthCheck: "process"}, exitCode, exitCodeURL)
		Eventually(func() string {
			ls := actuals(pg)
			if len(ls) == 0 {
				return ""
			}
			return fmt.Sprintf("%s %d", ls[0].State, ls[0].CrashCount)
		}, 90*time.Second).Should(Equal("CRASHED 3"))
		l := actuals(pg)[0]
		Expect(l.CrashReason).To(Equal("APP/PROC/WEB: Exited with status 3"))
		Consistently(func() string { return actuals(pg)[0].State }, 5*time.Second).Should(Equal(models.ActualLRPStateCrashed),
			"the third crash waits for the BBS's backoff (30s)")
	})

	It("reports a VM killed from outside as crashed, and restarts it", func() {
		pg := desire(push.App{Name: "killed-vm", Instances: 1}, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		before := running(pg)[0]
		vm := vmOf(before)
		Expect(vm.PID).NotTo(BeZero())
		Expect(syscall.Kill(vm.PID, syscall.SIGKILL)).To(Succeed())
		Eventually(func() int32 { return actuals(pg)[0].CrashCount }).Should(BeEquivalentTo(1))
		Expect(actuals(pg)[0].CrashReason).To(ContainSubstring("the VM ended without an exit status"))
		Eventually(runningCount(pg)).Should(Equal(1))
		after := running(pg)[0]
		Expect(after.InstanceGuid).NotTo(Equal(before.InstanceGuid))
		Expect(body(endpoint(after))).To(ContainSubstring("hello from unik"))
	})

	It("crashes an instance that is not healthy within its start timeout", func() {
		app := push.App{Name: "unhealthy", Instances: 1, HealthCheck: "http", HealthCheckEndpoint: "/nope",
			HealthCheckTimeout: 8 * time.Second}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(func() int32 {
			ls := actuals(pg)
			if len(ls) == 0 {
				return 0
			}
			return ls[0].CrashCount
		}, 60*time.Second).Should(BeNumerically(">=", 1))
		// The app answers 404 once up; on a loaded host the start timeout may pass before it listens.
		Expect(actuals(pg)[0].CrashReason).To(MatchRegexp(
			`^Instance never healthy after 8s: Failed to make HTTP request to '/nope' on port 8080: (received status code 404|connection refused)$|^Instance never healthy after 8s: no check succeeded$`), "on a loaded machine the VM may not even boot within the 8 s")
	})

	It("does not place an LRP with another rootfs on unik cells", func() {
		pg := desire(push.App{Name: "cflinuxfs4", Instances: 1, RootFS: "preloaded:cflinuxfs4"}, helloStaged, helloStagedURL)
		Eventually(func() string {
			ls := actuals(pg)
			if len(ls) == 0 {
				return ""
			}
			return ls[0].State + ": " + ls[0].PlacementError
		}).Should(Equal("UNCLAIMED: found no compatible cell"))
		Consistently(func() string { return actuals(pg)[0].CellId }, 3*time.Second).Should(BeEmpty())
	})
})
