package integration_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/devenv/push"
)

var _ = Describe("Readiness", func() {
	BeforeEach(ensureCellsRunning)

	It("keeps a RUNNING instance unroutable while its readiness check fails, routable once it passes, and again unroutable when it fails", func() {
		app := push.App{Name: "readiness", Instances: 1, Env: map[string]string{"START_UNREADY": "1"},
			ReadinessEndpoint: "/ready", ReadinessInterval: time.Second}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		l := running(pg)[0]
		routable := func() bool {
			ls := running(pg)
			return len(ls) == 1 && ls[0].GetRoutable()
		}
		Expect(routable()).To(BeFalse(), "RUNNING, but its readiness check fails")
		Consistently(routable, 3*time.Second).Should(BeFalse())

		Expect(body(endpoint(l) + "/ready/on")).To(ContainSubstring("ready: true"))
		Eventually(routable, 30*time.Second).Should(BeTrue(), "the readiness check passes: routable in the BBS")

		Expect(body(endpoint(l) + "/ready/off")).To(ContainSubstring("ready: false"))
		Eventually(routable, 30*time.Second).Should(BeFalse(), "it fails again: no longer routable")
		Expect(running(pg)[0].InstanceGuid).To(Equal(l.InstanceGuid), "readiness never restarts the instance")
	})
})
