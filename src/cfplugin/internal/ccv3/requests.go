package ccv3

import (
	"net/url"
)

// Request is one Cloud Controller call before it is sent: method, path with
// query, and the JSON body (nil for none). Building it is pure.
type Request struct {
	Method string
	Path   string
	Body   any
}

// FindAppRequest lists the app called name in one space.
func FindAppRequest(name, spaceGUID string) Request {
	q := url.Values{}
	q.Set("names", name)
	q.Set("space_guids", spaceGUID)
	return Request{Method: "GET", Path: "/v3/apps?" + q.Encode()}
}

// UpdateLifecycleBody is the body of PATCH /v3/apps/:guid that sets the lifecycle.
type UpdateLifecycleBody struct {
	Lifecycle Lifecycle `json:"lifecycle"`
}

// UpdateLifecycleRequest sets an app's lifecycle (stack and buildpacks).
func UpdateLifecycleRequest(appGUID string, l Lifecycle) Request {
	return Request{Method: "PATCH", Path: "/v3/apps/" + appGUID, Body: UpdateLifecycleBody{Lifecycle: l}}
}

// CurrentDropletRequest reads the app's current droplet.
func CurrentDropletRequest(appGUID string) Request {
	return Request{Method: "GET", Path: "/v3/apps/" + appGUID + "/droplets/current"}
}

// LatestPackageRequest lists the app's newest READY package.
func LatestPackageRequest(appGUID string) Request {
	q := url.Values{}
	q.Set("states", "READY")
	q.Set("order_by", "-created_at")
	q.Set("per_page", "1")
	return Request{Method: "GET", Path: "/v3/apps/" + appGUID + "/packages?" + q.Encode()}
}

type guidRef struct {
	GUID string `json:"guid"`
}

// CreateBuildBody is the body of POST /v3/builds.
type CreateBuildBody struct {
	Package guidRef `json:"package"`
}

// CreateBuildRequest stages a package with the app's lifecycle.
func CreateBuildRequest(packageGUID string) Request {
	return Request{Method: "POST", Path: "/v3/builds", Body: CreateBuildBody{Package: guidRef{GUID: packageGUID}}}
}

// GetBuildRequest reads a build.
func GetBuildRequest(buildGUID string) Request {
	return Request{Method: "GET", Path: "/v3/builds/" + buildGUID}
}

// SetDropletBody is the body of PATCH /v3/apps/:guid/relationships/current_droplet.
type SetDropletBody struct {
	Data guidRef `json:"data"`
}

// SetCurrentDropletRequest makes a droplet the app's current one.
func SetCurrentDropletRequest(appGUID, dropletGUID string) Request {
	return Request{
		Method: "PATCH",
		Path:   "/v3/apps/" + appGUID + "/relationships/current_droplet",
		Body:   SetDropletBody{Data: guidRef{GUID: dropletGUID}},
	}
}

// RestartRequest restarts the app (stop, then start with the current droplet).
func RestartRequest(appGUID string) Request {
	return Request{Method: "POST", Path: "/v3/apps/" + appGUID + "/actions/restart"}
}
