package recipe_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/ecrhelper"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/rep"

	"github.com/unik-cf/unik/src/cell/healthcheck"
	"github.com/unik-cf/unik/src/cell/recipe"
	"github.com/unik-cf/unik/src/devenv/push"
)

// runInfo converts a CC-like LRP as the rep does.
func runInfo(t *testing.T, lrp *models.DesiredLRP) executor.RunInfo {
	t.Helper()
	key := models.NewActualLRPKey(lrp.ProcessGuid, 1, lrp.Domain)
	ik := models.NewActualLRPInstanceKey("instance-guid", "cell-1")
	req, err := rep.RunRequestConversionHelper{ECRHelper: ecrhelper.NewECRHelper()}.NewRunRequestFromDesiredLRP(
		"instance-guid", lrp, &key, &ik, rep.StackPathMap{"unik": "unik"}, rep.LayeringModeSingleLayer)
	if err != nil {
		t.Fatal(err)
	}
	return req.RunInfo
}

func ccLRP() *models.DesiredLRP {
	return push.DesiredLRP(push.App{Name: "app", GUID: "app-guid", Version: "v1", Instances: 2, StartCommand: "./hello-go",
		SSH: true, InvocationTimeout: 2 * time.Second}, "http://cc/droplet", "abc123")
}

func TestCloudControllerRecipe(t *testing.T) {
	s, err := recipe.FromRunInfo(runInfo(t, ccLRP()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Droplet.URL != "http://cc/droplet" || s.Droplet.ChecksumAlgorithm != "sha256" || s.Droplet.ChecksumValue != "abc123" {
		t.Errorf("droplet = %+v", s.Droplet)
	}
	if s.Droplet.StartCommand != "./hello-go" || s.LogSource != "APP/PROC/WEB" || s.StartTimeout != 60*time.Second {
		t.Errorf("start command %q, log source %q, timeout %s", s.Droplet.StartCommand, s.LogSource, s.StartTimeout)
	}
	want := []healthcheck.Check{{Kind: healthcheck.TCP, Port: 8080, Timeout: 2 * time.Second}}
	if len(s.Checks) != 1 || s.Checks[0] != want[0] {
		t.Errorf("checks = %+v, want %+v", s.Checks, want)
	}
	if len(s.Ports) != 2 || s.Ports[0] != 8080 || s.Ports[1] != 2222 {
		t.Errorf("ports = %v", s.Ports)
	}
	if len(s.Notes) != 0 || s.SSH == nil || s.SSH.Address != "0.0.0.0:2222" ||
		!strings.Contains(s.SSH.HostKey, "PRIVATE KEY") || !strings.HasPrefix(s.SSH.AuthorizedKey, "ssh-rsa ") {
		t.Errorf("notes %v, ssh %+v: diego-sshd's keys become the guest's ssh config", s.Notes, s.SSH)
	}
	// diego-sshd without keys: no SSH, and the app's log says why
	lrp := ccLRP()
	for _, a := range lrp.Action.CodependentAction.Actions {
		if r := a.RunAction; r != nil && r.Path == recipe.SSHD {
			r.Args = []string{"-address=0.0.0.0:2222"}
		}
	}
	noKeys, err := recipe.FromRunInfo(runInfo(t, lrp))
	if err != nil {
		t.Fatal(err)
	}
	if noKeys.SSH != nil || len(noKeys.Notes) != 1 || !strings.Contains(noKeys.Notes[0], "no host key") {
		t.Errorf("without keys: ssh %+v, notes %v", noKeys.SSH, noKeys.Notes)
	}
	env := map[string]string{}
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range map[string]string{"INSTANCE_GUID": "instance-guid", "INSTANCE_INDEX": "1", "CF_INSTANCE_GUID": "instance-guid",
		"CF_INSTANCE_INDEX": "1", "LANG": "en_US.UTF-8", "PORT": "8080", "HOME": "/home/vcap/app", "VCAP_SERVICES": "{}"} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	var vcap map[string]any
	if err := json.Unmarshal([]byte(env["VCAP_APPLICATION"]), &vcap); err != nil {
		t.Fatal(err)
	}
	if vcap["instance_id"] != "instance-guid" || vcap["instance_index"] != 1.0 || vcap["port"] != 8080.0 || vcap["host"] != "0.0.0.0" || vcap["name"] != "app" {
		t.Errorf("VCAP_APPLICATION = %v", vcap)
	}
}

func TestHTTPCheckFromMonitorAndDefinition(t *testing.T) {
	lrp := push.DesiredLRP(push.App{Name: "a", HealthCheck: "http", HealthCheckEndpoint: "/health"}, "http://x", "")
	want := healthcheck.Check{Kind: healthcheck.HTTP, Port: 8080, Path: "/health"}
	s, err := recipe.FromRunInfo(runInfo(t, lrp))
	if err != nil || len(s.Checks) != 1 || s.Checks[0] != want {
		t.Fatalf("definition: %+v %v", s.Checks, err)
	}
	lrp.CheckDefinition = nil // the monitor alone
	s, err = recipe.FromRunInfo(runInfo(t, lrp))
	if err != nil || len(s.Checks) != 1 || s.Checks[0] != want {
		t.Fatalf("monitor: %+v %v", s.Checks, err)
	}
	lrp = push.DesiredLRP(push.App{Name: "a", HealthCheck: "process"}, "http://x", "")
	if s, err = recipe.FromRunInfo(runInfo(t, lrp)); err != nil || len(s.Checks) != 0 {
		t.Fatalf("process: %+v %v", s.Checks, err)
	}
}

func TestUnsupported(t *testing.T) {
	cases := map[string]func(*models.DesiredLRP){
		"9 sidecars": func(l *models.DesiredLRP) {
			runs := []models.ActionInterface{&models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"app", "./a", ""}}}
			for i := 0; i < 9; i++ {
				runs = append(runs, &models.RunAction{Path: "/tmp/lifecycle/launcher", Args: []string{"app", "./sidecar", ""}})
			}
			l.Action = models.WrapAction(models.Codependent(runs...))
		},
		"no droplet": func(l *models.DesiredLRP) { l.Setup = nil },
		"a monitor that runs /bin/check": func(l *models.DesiredLRP) {
			l.CheckDefinition = nil
			l.Monitor = models.WrapAction(&models.RunAction{Path: "/bin/check"})
		},
		"a setup that runs": func(l *models.DesiredLRP) {
			l.Setup = models.WrapAction(models.Serial(l.Setup.SerialAction.Actions[0].DownloadAction, &models.RunAction{Path: "/bin/prep"}))
		},
		"a second download": func(l *models.DesiredLRP) {
			l.Setup = models.WrapAction(models.Serial(l.Setup.SerialAction.Actions[0].DownloadAction,
				&models.DownloadAction{From: "http://x/y", To: "/home/vcap/extra"}))
		},
	}
	for want, change := range cases {
		lrp := ccLRP()
		change(lrp)
		_, err := recipe.FromRunInfo(runInfo(t, lrp))
		if !errors.Is(err, recipe.ErrUnsupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func TestPlainRunStartCommand(t *testing.T) {
	lrp := ccLRP()
	lrp.Action = models.WrapAction(&models.RunAction{Path: "./server", Args: []string{"--name", "a b", "it's"}, LogSource: "APP"})
	s, err := recipe.FromRunInfo(runInfo(t, lrp))
	if err != nil {
		t.Fatal(err)
	}
	if want := `./server --name 'a b' 'it'\''s'`; s.Droplet.StartCommand != want {
		t.Errorf("start command %q, want %q", s.Droplet.StartCommand, want)
	}
	for _, kv := range s.Env {
		if strings.HasPrefix(kv, "HOME=") {
			t.Errorf("a plain Run gets no launcher environment: %s", kv)
		}
	}
}

func TestNetworkEnv(t *testing.T) {
	got := recipe.NetworkEnv("10.0.0.5", "10.213.10.2", []executor.PortMapping{{ContainerPort: 8080, HostPort: 40001}, {ContainerPort: 2222, HostPort: 40002}})
	want := []string{"CF_INSTANCE_IP=10.0.0.5", "CF_INSTANCE_INTERNAL_IP=10.213.10.2", "CF_INSTANCE_PORT=40001",
		"CF_INSTANCE_ADDR=10.0.0.5:40001", `CF_INSTANCE_PORTS=[{"external":40001,"internal":8080},{"external":40002,"internal":2222}]`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := recipe.NetworkEnv("a", "b", nil); got[2] != "CF_INSTANCE_PORT=" || got[4] != "CF_INSTANCE_PORTS=[]" {
		t.Errorf("no ports: %v", got)
	}
}

// TestSidecars: CC's sidecars (extra launcher runs in the codependent action) and the BBS's
// sidecars field become processes beside the app, each with its command and log source.
func TestSidecars(t *testing.T) {
	lrp := push.DesiredLRP(push.App{Name: "a", StartCommand: "./hello-go", Sidecars: []push.Sidecar{
		{Name: "metrics", Command: "./agent --port 9000"}, {Name: "proxy", Command: "./proxy"}}}, "http://x", "")
	lrp.Sidecars = []*models.Sidecar{{Action: models.WrapAction(&models.RunAction{Path: "/home/vcap/app/extra", Args: []string{"-v"},
		LogSource: "APP/PROC/WEB/SIDECAR/EXTRA", User: "vcap"}), MemoryMb: 16}}
	s, err := recipe.FromRunInfo(runInfo(t, lrp))
	if err != nil {
		t.Fatal(err)
	}
	want := []recipe.Sidecar{
		{Name: "metrics", StartCommand: "./agent --port 9000", LogSource: "APP/PROC/WEB/SIDECAR/METRICS"},
		{Name: "proxy", StartCommand: "./proxy", LogSource: "APP/PROC/WEB/SIDECAR/PROXY"},
		{Name: "extra", StartCommand: "/home/vcap/app/extra -v", LogSource: "APP/PROC/WEB/SIDECAR/EXTRA"},
	}
	if s.Droplet.StartCommand != "./hello-go" || len(s.Sidecars) != len(want) {
		t.Fatalf("app %q, sidecars %+v", s.Droplet.StartCommand, s.Sidecars)
	}
	for i := range want {
		if s.Sidecars[i] != want[i] {
			t.Errorf("sidecar %d = %+v, want %+v", i, s.Sidecars[i], want[i])
		}
	}
}
