package push

import (
	"encoding/json"
	"fmt"
	"strings"

	"code.cloudfoundry.org/bbs/models"
)

// TaskDomain is the domain Cloud Controller desires tasks in.
const TaskDomain = "cf-tasks"

// Task is a one-off task of an app (`cf run-task APP --command CMD --name NAME`).
type Task struct {
	Name     string
	GUID     string // default: random
	Command  string
	MemoryMB int // default the app's
	DiskMB   int // default the app's
	// CompletionCallbackURL is where the BBS reports the task's end (CC's internal API).
	CompletionCallbackURL string
	// ImageLayers: the droplet comes as an exclusive image layer (CC with declarative asset
	// downloads) instead of a Download at the head of the action.
	ImageLayers bool
	// ResultFile names a file whose content the task reports on completion.
	ResultFile string
}

// TaskDefinition builds the task Cloud Controller would desire for app's droplet at
// dropletURL: a serial download of the droplet then the launcher's Run of the command (or the
// droplet as an image layer and the Run alone), log source APP/TASK/<name>.
func TaskDefinition(a App, t Task, dropletURL, dropletSHA256 string) *models.TaskDefinition {
	a = a.withDefaults()
	if t.MemoryMB == 0 {
		t.MemoryMB = a.MemoryMB
	}
	if t.DiskMB == 0 {
		t.DiskMB = a.DiskMB
	}
	orgGUID, spaceGUID := "org-"+a.Org, "space-"+a.Space
	vcap, _ := json.Marshal(map[string]any{
		"application_id": a.GUID, "application_name": a.Name, "application_uris": []string{}, "application_version": a.Version,
		"cf_api": "https://api.local", "limits": map[string]int{"fds": 16384, "mem": t.MemoryMB, "disk": t.DiskMB},
		"name": a.Name, "organization_id": orgGUID, "organization_name": a.Org, "space_id": spaceGUID,
		"space_name": a.Space, "uris": []string{}, "users": nil, "version": a.Version,
	})
	env := []*models.EnvironmentVariable{
		{Name: "VCAP_APPLICATION", Value: string(vcap)},
		{Name: "MEMORY_LIMIT", Value: fmt.Sprintf("%dm", t.MemoryMB)},
		{Name: "VCAP_SERVICES", Value: "{}"},
	}
	for k, v := range a.Env {
		env = append(env, &models.EnvironmentVariable{Name: k, Value: v})
	}
	limits := &models.ResourceLimits{}
	limits.SetNofile(16384)
	run := &models.RunAction{User: "vcap", Path: "/tmp/lifecycle/launcher", Args: []string{"app", t.Command, ""},
		Env: env, LogSource: "APP/TASK/" + t.Name, ResourceLimits: limits}
	def := &models.TaskDefinition{
		RootFs: a.RootFS, EnvironmentVariables: []*models.EnvironmentVariable{{Name: "LANG", Value: "en_US.UTF-8"}},
		CachedDependencies: []*models.CachedDependency{{From: "http://file-server.service.cf.internal:8080/v1/static/buildpack_app_lifecycle/buildpack_app_lifecycle.tgz",
			To: "/tmp/lifecycle", CacheKey: "buildpack-unik-lifecycle"}},
		MemoryMb: int32(t.MemoryMB), DiskMb: int32(t.DiskMB), CpuWeight: cpuWeight(t.MemoryMB),
		LogGuid: a.GUID, LogSource: "CELL", MetricsGuid: "", CompletionCallbackUrl: t.CompletionCallbackURL,
		EgressRules: []*models.SecurityGroupRule{}, LegacyDownloadUser: "vcap", MaxPids: 1024,
		TrustedSystemCertificatesPath: "/etc/cf-system-certificates",
		Network: &models.Network{Properties: map[string]string{"policy_group_id": a.GUID, "app_id": a.GUID,
			"space_id": spaceGUID, "org_id": orgGUID, "container_workload": "task"}},
		CertificateProperties: &models.CertificateProperties{OrganizationalUnit: []string{
			"organization:" + orgGUID, "space:" + spaceGUID, "app:" + a.GUID}},
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: a.GUID}, "app_id": {Static: a.GUID},
			"app_name": {Static: a.Name}, "space_id": {Static: spaceGUID}, "organization_id": {Static: orgGUID}},
		PlacementTags: a.PlacementTags, ResultFile: t.ResultFile,
	}
	download := &models.DownloadAction{From: dropletURL, To: ".", CacheKey: "", User: "vcap",
		ChecksumAlgorithm: "sha256", ChecksumValue: dropletSHA256}
	if t.ImageLayers {
		def.ImageLayers = []*models.ImageLayer{{Name: "droplet", Url: dropletURL, DestinationPath: "/home/vcap",
			LayerType: models.LayerTypeExclusive, MediaType: models.MediaTypeTgz,
			DigestAlgorithm: models.DigestAlgorithmSha256, DigestValue: strings.ToLower(dropletSHA256)}}
		def.Action = models.WrapAction(run)
	} else {
		def.Action = models.WrapAction(models.Serial(download, run))
	}
	return def
}
