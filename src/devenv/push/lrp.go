package push

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// App describes an app as Cloud Controller knows it.
type App struct {
	Name         string
	GUID         string // default: random
	Version      string // the process version; default: random
	Instances    int
	MemoryMB     int    // default 128
	DiskMB       int    // default 256
	StartCommand string // the launcher's start command ("" = the droplet's)
	Ports        []uint32
	// HealthCheck is "port" (default), "http" (with HealthCheckEndpoint), "process" or "none".
	HealthCheck         string
	HealthCheckEndpoint string
	HealthCheckTimeout  time.Duration // start timeout; default 60s
	// InvocationTimeout is a single probe's timeout ("health_check_invocation_timeout").
	InvocationTimeout time.Duration
	// ReadinessEndpoint, when set, adds CC's http readiness check on the first port
	// (readiness_health_check_type: http), probed every ReadinessInterval once ready (CC's
	// readiness_health_check_interval; default 5s).
	ReadinessEndpoint string
	ReadinessInterval time.Duration
	// Sidecars run beside the web process (CC's sidecars: extra launcher runs in the
	// codependent action, log source APP/PROC/WEB/SIDECAR/<NAME>).
	Sidecars []Sidecar
	// VolumeMountedFiles are CC's file-based service bindings (path relative to
	// /etc/cf-service-bindings -> content).
	VolumeMountedFiles map[string]string
	Env                map[string]string // the app's own variables
	Routes             []string          // hostnames
	RootFS             string            // default preloaded:unik
	PlacementTags      []string
	SSH                bool // CC's default enables SSH: a diego-sshd Run and port 2222
	// SSHKeys are diego-sshd's keys when SSH is on; nil: generated for the LRP.
	SSHKeys    *SSHKeys
	Org, Space string
}

// Sidecar is one of an app's sidecars.
type Sidecar struct{ Name, Command string }

func randomGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (a App) withDefaults() App {
	if a.GUID == "" {
		a.GUID = randomGUID()
	}
	if a.Version == "" {
		a.Version = randomGUID()
	}
	if a.MemoryMB == 0 {
		a.MemoryMB = 128
	}
	if a.DiskMB == 0 {
		a.DiskMB = 256
	}
	if len(a.Ports) == 0 {
		a.Ports = []uint32{8080}
	}
	if a.HealthCheck == "" {
		a.HealthCheck = "port"
	}
	if a.HealthCheckTimeout == 0 {
		a.HealthCheckTimeout = 60 * time.Second
	}
	if a.RootFS == "" {
		a.RootFS = "preloaded:unik"
	}
	if a.Org == "" {
		a.Org = "local"
	}
	if a.Space == "" {
		a.Space = "dev"
	}
	return a
}

// ProcessGuid is CC's: <app guid>-<process version>.
func (a App) ProcessGuid() string { return a.GUID + "-" + a.Version }

// DesiredLRP builds the LRP Cloud Controller would desire for a web process of a buildpack
// app whose droplet is at dropletURL.
func DesiredLRP(a App, dropletURL, dropletSHA256 string) *models.DesiredLRP {
	a = a.withDefaults()
	orgGUID, spaceGUID := "org-"+a.Org, "space-"+a.Space
	uris := a.Routes
	if uris == nil {
		uris = []string{}
	}
	vcap, _ := json.Marshal(map[string]any{
		"application_id": a.GUID, "application_name": a.Name, "application_uris": uris, "application_version": a.Version,
		"cf_api": "https://api.local", "limits": map[string]int{"fds": 16384, "mem": a.MemoryMB, "disk": a.DiskMB},
		"name": a.Name, "organization_id": orgGUID, "organization_name": a.Org, "process_id": a.GUID, "process_type": "web",
		"space_id": spaceGUID, "space_name": a.Space, "uris": uris, "users": nil, "version": a.Version,
	})
	env := []*models.EnvironmentVariable{
		{Name: "PORT", Value: strconv.Itoa(int(a.Ports[0]))},
		{Name: "VCAP_APPLICATION", Value: string(vcap)},
		{Name: "MEMORY_LIMIT", Value: fmt.Sprintf("%dm", a.MemoryMB)},
		{Name: "VCAP_SERVICES", Value: "{}"},
	}
	for k, v := range a.Env {
		env = append(env, &models.EnvironmentVariable{Name: k, Value: v})
	}
	limits := &models.ResourceLimits{}
	limits.SetNofile(16384)
	actions := []*models.Action{models.WrapAction(&models.RunAction{
		User: "vcap", Path: "/tmp/lifecycle/launcher", Args: []string{"app", a.StartCommand, "{}"}, Env: env,
		LogSource: "APP/PROC/WEB", ResourceLimits: limits,
	})}
	for _, sc := range a.Sidecars {
		actions = append(actions, models.WrapAction(&models.RunAction{User: "vcap", Path: "/tmp/lifecycle/launcher",
			Args: []string{"app", sc.Command, ""}, Env: env, LogSource: "APP/PROC/WEB/SIDECAR/" + strings.ToUpper(sc.Name),
			ResourceLimits: limits}))
	}
	ports := append([]uint32(nil), a.Ports...)
	if a.SSH {
		args := []string{"-address=0.0.0.0:2222"}
		keys := a.SSHKeys
		if keys == nil {
			if k, err := NewSSHKeys(); err == nil { // crypto/rand cannot fail on Linux
				keys = &k
			}
		}
		if keys != nil {
			args = append(args, "-hostKey="+keys.HostKeyPEM, "-authorizedKey="+keys.AuthorizedKey)
		}
		actions = append(actions, models.WrapAction(&models.RunAction{User: "vcap", Path: "/tmp/lifecycle/diego-sshd",
			Args: append(args, "-inheritDaemonEnv", "-logLevel=fatal"), Env: env, LogSource: "SSHD", ResourceLimits: limits}))
		ports = append(ports, 2222)
	}
	lrp := &models.DesiredLRP{
		ProcessGuid: a.ProcessGuid(), Domain: "cf-apps", RootFs: a.RootFS, Instances: int32(a.Instances),
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "LANG", Value: "en_US.UTF-8"}},
		CachedDependencies: []*models.CachedDependency{{From: "http://file-server.service.cf.internal:8080/v1/static/buildpack_app_lifecycle/buildpack_app_lifecycle.tgz",
			To: "/tmp/lifecycle", CacheKey: "buildpack-unik-lifecycle"}},
		Setup: models.WrapAction(models.Serial(&models.DownloadAction{From: dropletURL, To: ".", CacheKey: "droplets-" + a.ProcessGuid(),
			User: "vcap", ChecksumAlgorithm: "sha256", ChecksumValue: dropletSHA256})),
		Action:         models.WrapAction(models.Codependent(unwrap(actions)...)),
		StartTimeoutMs: a.HealthCheckTimeout.Milliseconds(), DiskMb: int32(a.DiskMB), MemoryMb: int32(a.MemoryMB),
		CpuWeight: cpuWeight(a.MemoryMB), Ports: ports, LogSource: "CELL", LogGuid: a.GUID, MetricsGuid: a.GUID,
		Annotation: strconv.FormatFloat(float64(time.Now().UnixNano())/1e9, 'f', 6, 64), EgressRules: []*models.SecurityGroupRule{},
		LegacyDownloadUser: "vcap", TrustedSystemCertificatesPath: "/etc/cf-system-certificates",
		Network: &models.Network{Properties: map[string]string{"policy_group_id": a.GUID, "app_id": a.GUID,
			"space_id": spaceGUID, "org_id": orgGUID, "ports": joinPorts(a.Ports), "container_workload": "app"}},
		PlacementTags: a.PlacementTags, MaxPids: 1024,
		CertificateProperties: &models.CertificateProperties{OrganizationalUnit: []string{
			"organization:" + orgGUID, "space:" + spaceGUID, "app:" + a.GUID}},
		MetricTags: map[string]*models.MetricTagValue{
			"source_id": {Static: a.GUID}, "process_id": {Static: a.GUID}, "process_type": {Static: "web"},
			"process_instance_id": {Dynamic: models.MetricTagDynamicValueInstanceGuid},
			"instance_id":         {Dynamic: models.MetricTagDynamicValueIndex},
			"organization_id":     {Static: orgGUID}, "space_id": {Static: spaceGUID}, "app_id": {Static: a.GUID},
			"organization_name": {Static: a.Org}, "space_name": {Static: a.Space}, "app_name": {Static: a.Name},
		},
		Routes: routes(a),
	}
	if mon, def := healthChecks(a); mon != nil {
		lrp.Monitor, lrp.CheckDefinition = mon, def
	}
	for p, content := range a.VolumeMountedFiles {
		lrp.VolumeMountedFiles = append(lrp.VolumeMountedFiles, &models.File{Path: p, Content: content})
	}
	if a.ReadinessEndpoint != "" {
		if lrp.CheckDefinition == nil {
			lrp.CheckDefinition = &models.CheckDefinition{LogSource: "HEALTH"}
		}
		interval := a.ReadinessInterval
		if interval == 0 {
			interval = 5 * time.Second
		}
		lrp.CheckDefinition.ReadinessChecks = []*models.Check{{HttpCheck: &models.HTTPCheck{Port: a.Ports[0],
			Path: a.ReadinessEndpoint, RequestTimeoutMs: uint64(a.InvocationTimeout.Milliseconds()),
			IntervalMs: uint64(interval.Milliseconds())}}}
	}
	return lrp
}

func unwrap(as []*models.Action) []models.ActionInterface {
	out := make([]models.ActionInterface, 0, len(as))
	for _, a := range as {
		out = append(out, models.UnwrapAction(a))
	}
	return out
}

func cpuWeight(memoryMB int) uint32 {
	w := memoryMB * 100 / 8192
	return uint32(min(max(w, 1), 100))
}

func joinPorts(ps []uint32) string {
	var s []string
	for _, p := range ps {
		s = append(s, strconv.Itoa(int(p)))
	}
	return strings.Join(s, ",")
}

// healthChecks builds CC's monitor (a Timeout of a Parallel of healthcheck Runs) and check
// definition; "process" and "none" have neither.
func healthChecks(a App) (*models.Action, *models.CheckDefinition) {
	if a.HealthCheck != "port" && a.HealthCheck != "http" {
		return nil, nil
	}
	var runs []models.ActionInterface
	def := &models.CheckDefinition{LogSource: "HEALTH"}
	ms := uint64(a.InvocationTimeout.Milliseconds())
	for i, p := range a.Ports {
		args := []string{fmt.Sprintf("-port=%d", p)}
		if a.HealthCheck == "http" && i == 0 {
			args = append(args, "-uri="+a.HealthCheckEndpoint)
			def.Checks = append(def.Checks, &models.Check{HttpCheck: &models.HTTPCheck{Port: p, Path: a.HealthCheckEndpoint, RequestTimeoutMs: ms}})
		} else {
			def.Checks = append(def.Checks, &models.Check{TcpCheck: &models.TCPCheck{Port: p, ConnectTimeoutMs: ms}})
		}
		if a.InvocationTimeout > 0 {
			args = append(args, fmt.Sprintf("-timeout=%ds", int(a.InvocationTimeout.Seconds())))
		}
		runs = append(runs, &models.RunAction{User: "vcap", Path: "/tmp/lifecycle/healthcheck", Args: args,
			LogSource: "HEALTH", SuppressLogOutput: true})
	}
	return models.WrapAction(models.Timeout(models.Parallel(runs...), 10*time.Minute)), def
}

func routes(a App) *models.Routes {
	type httpRoute struct {
		Hostnames []string `json:"hostnames"`
		Port      uint32   `json:"port"`
	}
	cf := []httpRoute{}
	for _, h := range a.Routes {
		cf = append(cf, httpRoute{Hostnames: []string{h}, Port: a.Ports[0]})
	}
	raw := func(v any) *json.RawMessage {
		b, _ := json.Marshal(v)
		m := json.RawMessage(b)
		return &m
	}
	return &models.Routes{"cf-router": raw(cf), "tcp-router": raw([]any{}), "internal-router": raw([]any{})}
}
