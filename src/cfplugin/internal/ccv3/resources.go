package ccv3

// Lifecycle types the Cloud Controller knows.
const (
	LifecycleBuildpack = "buildpack"
	LifecycleDocker    = "docker"
	LifecycleCNB       = "cnb"
)

// Build states the Cloud Controller reports.
const (
	BuildStaging = "STAGING"
	BuildStaged  = "STAGED"
	BuildFailed  = "FAILED"
)

// Lifecycle is an app's lifecycle object. A nil Buildpacks list encodes as
// JSON null, which the Cloud Controller reads as "auto-detect".
type Lifecycle struct {
	Type string        `json:"type"`
	Data LifecycleData `json:"data"`
}

// LifecycleData is the data half of a buildpack lifecycle.
type LifecycleData struct {
	Buildpacks []string `json:"buildpacks"`
	Stack      string   `json:"stack,omitempty"`
}

// App is the part of a v3 app resource the plugin uses.
type App struct {
	GUID      string    `json:"guid"`
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Lifecycle Lifecycle `json:"lifecycle"`
}

// DropletBuildpack is one buildpack recorded in a staged droplet.
type DropletBuildpack struct {
	Name          string `json:"name"`
	BuildpackName string `json:"buildpack_name"`
}

// Droplet is the part of a v3 droplet resource the plugin uses.
type Droplet struct {
	GUID       string             `json:"guid"`
	State      string             `json:"state"`
	Stack      string             `json:"stack"`
	Buildpacks []DropletBuildpack `json:"buildpacks"`
}

// Package is the part of a v3 package resource the plugin uses.
type Package struct {
	GUID      string `json:"guid"`
	Type      string `json:"type"`
	State     string `json:"state"`
	CreatedAt string `json:"created_at"`
}

// Build is the part of a v3 build resource the plugin uses.
type Build struct {
	GUID    string `json:"guid"`
	State   string `json:"state"`
	Error   string `json:"error"`
	Droplet *struct {
		GUID string `json:"guid"`
	} `json:"droplet"`
}

// DropletGUID returns the staged droplet's GUID, or "" before staging ends.
func (b Build) DropletGUID() string {
	if b.Droplet == nil {
		return ""
	}
	return b.Droplet.GUID
}

type list[T any] struct {
	Resources []T `json:"resources"`
}
