package integration_test

import (
	"fmt"

	loggregator_v2 "code.cloudfoundry.org/go-loggregator/v9/rpc/loggregator_v2"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/devenv/push"
)

var _ = Describe("Sidecars", func() {
	BeforeEach(ensureCellsRunning)

	It("runs the app and two sidecars in one VM, each process's output under its own log source", func() {
		app := push.App{Name: "sidecars", Instances: 1, Sidecars: []push.Sidecar{
			{Name: "one", Command: "PORT=9001 ./hello-go"}, {Name: "two", Command: "PORT=9002 ./hello-go"}}}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(runningCount(pg)).Should(Equal(1))
		l := running(pg)[0]
		Expect(body(endpoint(l))).To(ContainSubstring("hello from unik"))
		Expect(vmOf(l).PID).NotTo(BeZero(), "one VM")
		guid := actualsGUID(pg)
		logs := func() []string {
			var out []string
			for _, e := range diego.Ingress.Envelopes(func(e *loggregator_v2.Envelope) bool { return e.SourceId == guid && e.GetLog() != nil }) {
				out = append(out, fmt.Sprintf("%s %s %s", e.Tags["source_type"], e.GetLog().Type, e.GetLog().Payload))
			}
			return out
		}
		Eventually(logs).Should(ContainElements(
			"APP/PROC/WEB OUT hello-go: listening on :8080",
			"APP/PROC/WEB/SIDECAR/ONE OUT hello-go: listening on :9001",
			"APP/PROC/WEB/SIDECAR/TWO OUT hello-go: listening on :9002",
			"APP/PROC/WEB/SIDECAR/TWO ERR hello-go: stderr is separate"))
	})

	It("crashes the instance when a sidecar exits, with the sidecar's log source in the reason", func() {
		app := push.App{Name: "sidecar-exits", Instances: 1, Sidecars: []push.Sidecar{{Name: "once", Command: "./hello-go once"}}}
		pg := desire(app, helloStaged, helloStagedURL)
		Eventually(func() int32 {
			ls := actuals(pg)
			if len(ls) == 0 {
				return 0
			}
			return ls[0].CrashCount
		}).Should(BeNumerically(">=", 1))
		Expect(actuals(pg)[0].CrashReason).To(Equal("APP/PROC/WEB/SIDECAR/ONCE: Exited with status 0"))
	})
})
