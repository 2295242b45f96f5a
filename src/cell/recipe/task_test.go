package recipe_test

import (
	"errors"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/ecrhelper"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/rep"

	"github.com/unik-cf/unik/src/cell/recipe"
	"github.com/unik-cf/unik/src/devenv/push"
)

// taskRunInfo converts a CC-like task as the rep does.
func taskRunInfo(t *testing.T, def *models.TaskDefinition) executor.RunInfo {
	t.Helper()
	task := &models.Task{TaskGuid: "task-guid", Domain: push.TaskDomain, TaskDefinition: def}
	req, err := rep.RunRequestConversionHelper{ECRHelper: ecrhelper.NewECRHelper()}.NewRunRequestFromTask(
		task, rep.StackPathMap{"unik": "unik"}, rep.LayeringModeSingleLayer)
	if err != nil {
		t.Fatal(err)
	}
	return req.RunInfo
}

// TestCloudControllerTasks: both TaskDefinition shapes CC builds (the droplet downloaded at
// the head of the action, or given as an image layer) give the same droplet, command and
// log source, and a task has no ports and no health checks.
func TestCloudControllerTasks(t *testing.T) {
	app := push.App{Name: "app", GUID: "app-guid", Version: "v1", Env: map[string]string{"GREETING": "hi"}}
	for _, layers := range []bool{false, true} {
		def := push.TaskDefinition(app, push.Task{Name: "migrate", Command: "./hello-go -once 'a b'", ImageLayers: layers},
			"http://cc/droplet?sig=secret", "ABC123")
		s, err := recipe.FromRunInfo(taskRunInfo(t, def))
		if err != nil {
			t.Fatalf("image layers %v: %v", layers, err)
		}
		if s.Droplet.URL != "http://cc/droplet?sig=secret" || s.Droplet.ChecksumAlgorithm != "sha256" ||
			!strings.EqualFold(s.Droplet.ChecksumValue, "abc123") {
			t.Errorf("image layers %v: droplet %+v", layers, s.Droplet)
		}
		if s.Droplet.StartCommand != "./hello-go -once 'a b'" || s.LogSource != "APP/TASK/migrate" {
			t.Errorf("image layers %v: command %q, log source %q", layers, s.Droplet.StartCommand, s.LogSource)
		}
		if len(s.Ports) != 0 || len(s.Checks) != 0 {
			t.Errorf("image layers %v: ports %v, checks %v", layers, s.Ports, s.Checks)
		}
		if !contains(s.Env, "GREETING=hi") || !contains(s.Env, "LANG=en_US.UTF-8") {
			t.Errorf("image layers %v: env %v", layers, s.Env)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestTaskRefusals: what a task cannot ask of a unik instance is refused with the reason.
func TestTaskRefusals(t *testing.T) {
	app := push.App{Name: "app", GUID: "app-guid"}
	cases := map[string]func(d *models.TaskDefinition){
		"a download after the run": func(d *models.TaskDefinition) {
			d.Action = models.WrapAction(models.Serial(models.UnwrapAction(d.Action),
				&models.DownloadAction{From: "http://x/y", To: "/tmp/y", User: "vcap"}))
		},
		"a second droplet": func(d *models.TaskDefinition) {
			d.Action = models.WrapAction(models.Serial(&models.DownloadAction{From: "http://x/y", To: ".", User: "vcap"},
				models.UnwrapAction(d.Action)))
		},
		"no droplet": func(d *models.TaskDefinition) {
			d.Action = models.WrapAction(&models.RunAction{Path: "/bin/true", User: "vcap"})
		},
	}
	for name, mutate := range cases {
		def := push.TaskDefinition(app, push.Task{Name: "t", Command: "./x"}, "http://cc/droplet", "abc")
		mutate(def)
		if _, err := recipe.FromRunInfo(taskRunInfo(t, def)); !errors.Is(err, recipe.ErrUnsupported) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
