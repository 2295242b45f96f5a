package integration_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"
	loggregator_v2 "code.cloudfoundry.org/go-loggregator/v9/rpc/loggregator_v2"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/unik-cf/unik/src/devenv/push"
)

// callbacks receives the BBS's task completion callbacks, as Cloud Controller's internal API
// would.
type callbacks struct {
	*httptest.Server
	mu   sync.Mutex
	got  map[string]models.TaskCallbackResponse
	body map[string]string
}

func newCallbacks() *callbacks {
	cb := &callbacks{got: map[string]models.TaskCallbackResponse{}, body: map[string]string{}}
	cb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var resp models.TaskCallbackResponse
		if err := json.Unmarshal(b, &resp); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		cb.mu.Lock()
		cb.got[resp.TaskGuid], cb.body[resp.TaskGuid] = resp, string(b)
		cb.mu.Unlock()
	}))
	DeferCleanup(cb.Close)
	return cb
}

func (cb *callbacks) result(guid string) func() *models.TaskCallbackResponse {
	return func() *models.TaskCallbackResponse {
		cb.mu.Lock()
		defer cb.mu.Unlock()
		if r, ok := cb.got[guid]; ok {
			return &r
		}
		return nil
	}
}

// desireTask desires t of app as Cloud Controller would; the task is deleted when the spec ends.
func desireTask(app push.App, t push.Task, d push.Droplet, url string) string {
	if t.GUID == "" {
		t.GUID = "task-" + strings.ReplaceAll(t.Name, " ", "-") + "-" + randomSuffix()
	}
	def := push.TaskDefinition(app, t, url, d.SHA256)
	Expect(diego.BBSClient.DesireTask(logger, "", t.GUID, push.TaskDomain, def)).To(Succeed())
	DeferCleanup(func() {
		_ = diego.BBSClient.CancelTask(logger, "", t.GUID)
		Eventually(cellContainers, 60*time.Second).Should(BeZero(), "every cell deletes its task containers")
	})
	return t.GUID
}

func randomSuffix() string { return strings.Split(push.GUIDFor(time.Now().String()), "-")[0] }

func taskState(guid string) string {
	t, err := diego.BBSClient.TaskByGuid(logger, "", guid)
	if err != nil {
		return "error: " + err.Error()
	}
	return t.State.String()
}

var _ = Describe("Tasks on unik cells", func() {
	BeforeEach(ensureCellsRunning)

	It("runs a task that exits 0 as a one-off VM: completed, not failed, callback sent, output as APP/TASK/<name>", func() {
		cb := newCallbacks()
		app := push.App{Name: "task-ok", GUID: push.GUIDFor("task-ok-app"), Env: map[string]string{"EXIT_CODE": "0"}}
		guid := desireTask(app, push.Task{Name: "migrate", Command: "./exit-code", CompletionCallbackURL: cb.URL}, exitCode, exitCodeURL)
		Eventually(cb.result(guid), 90*time.Second).ShouldNot(BeNil(), "the BBS calls back CC's completion URL")
		r := cb.result(guid)()
		Expect(r.Failed).To(BeFalse(), "failure reason %q", r.FailureReason)
		Expect(r.FailureReason).To(BeEmpty())
		logs := func() []string {
			var out []string
			for _, e := range diego.Ingress.Envelopes(func(e *loggregator_v2.Envelope) bool { return e.SourceId == app.GUID && e.GetLog() != nil }) {
				out = append(out, e.Tags["source_type"]+" "+e.GetLog().Type.String()+" "+string(e.GetLog().Payload))
			}
			return out
		}
		Eventually(logs).Should(ContainElements("APP/TASK/migrate OUT exit-code: stdout line", "APP/TASK/migrate ERR exit-code: stderr line"))
		Eventually(cellContainers).Should(BeZero(), "the task's VM is removed once it is reported")
	})

	It("fails a task that exits 3 with the exit status in its reason (droplet given as an image layer)", func() {
		app := push.App{Name: "task-fail", GUID: push.GUIDFor("task-fail-app")}
		guid := desireTask(app, push.Task{Name: "fail", Command: "./exit-code", ImageLayers: true}, exitCode, exitCodeURL)
		Eventually(func() string { return taskState(guid) }, 90*time.Second).Should(Equal("Completed"))
		t, err := diego.BBSClient.TaskByGuid(logger, "", guid)
		Expect(err).NotTo(HaveOccurred())
		Expect(t.Failed).To(BeTrue())
		Expect(t.FailureReason).To(Equal("APP/TASK/fail: Exited with status 3"))
		Eventually(cellContainers).Should(BeZero())
	})

	It("reports a task's result file on completion", func() {
		cb := newCallbacks()
		app := push.App{Name: "task-result", GUID: push.GUIDFor("task-result-app"), Env: map[string]string{"RESULT_FILE": "/tmp/result.json"}}
		guid := desireTask(app, push.Task{Name: "result", Command: "./hello-go once", ResultFile: "/tmp/result.json",
			CompletionCallbackURL: cb.URL}, helloStaged, helloStagedURL)
		Eventually(cb.result(guid), 90*time.Second).ShouldNot(BeNil())
		r := cb.result(guid)()
		Expect(r.Failed).To(BeFalse(), "failure reason %q", r.FailureReason)
		Expect(r.Result).To(Equal(`{"ran":"once"}`))
	})

	It("stops a cancelled task's VM", func() {
		app := push.App{Name: "task-cancel", GUID: push.GUIDFor("task-cancel-app")}
		guid := desireTask(app, push.Task{Name: "forever", Command: "./hello-go"}, helloStaged, helloStagedURL)
		Eventually(func() string { return taskState(guid) }, 90*time.Second).Should(Equal("Running"))
		var vms int
		Eventually(func() int {
			vms = 0
			for _, c := range diego.Cells {
				for _, v := range cellVMs(c) {
					if v.Tags["container-guid"] == guid {
						vms++
					}
				}
			}
			return vms
		}).Should(Equal(1), "the task runs as one VM")
		Expect(diego.BBSClient.CancelTask(logger, "", guid)).To(Succeed())
		Eventually(cellContainers).Should(BeZero(), "the cancelled task's VM is gone")
		t, err := diego.BBSClient.TaskByGuid(logger, "", guid)
		Expect(err).NotTo(HaveOccurred())
		Expect(t.State).To(Equal(models.Task_Completed))
		Expect(t.Failed).To(BeTrue())
		Expect(t.FailureReason).To(Equal("task was cancelled"))
	})
})
