package ccv3

import (
	"context"
	"errors"
)

// ErrNoPackage is returned when an app has no READY package to stage.
var ErrNoPackage = errors.New("app has no ready package")

// FindApp returns the app called name in the space, and false when there is none.
func (c *Client) FindApp(ctx context.Context, name, spaceGUID string) (App, bool, error) {
	var apps list[App]
	if err := c.Do(ctx, FindAppRequest(name, spaceGUID), &apps); err != nil {
		return App{}, false, err
	}
	if len(apps.Resources) == 0 {
		return App{}, false, nil
	}
	return apps.Resources[0], true, nil
}

// UpdateLifecycle sets the app's lifecycle and returns the updated app.
func (c *Client) UpdateLifecycle(ctx context.Context, appGUID string, l Lifecycle) (App, error) {
	var app App
	err := c.Do(ctx, UpdateLifecycleRequest(appGUID, l), &app)
	return app, err
}

// CurrentDroplet returns the app's current droplet, and false when it has none.
func (c *Client) CurrentDroplet(ctx context.Context, appGUID string) (Droplet, bool, error) {
	var d Droplet
	err := c.Do(ctx, CurrentDropletRequest(appGUID), &d)
	var ccErr *Error
	if errors.As(err, &ccErr) && ccErr.NotFound() {
		return Droplet{}, false, nil
	}
	if err != nil {
		return Droplet{}, false, err
	}
	return d, true, nil
}

// LatestPackage returns the app's newest READY package, or ErrNoPackage.
func (c *Client) LatestPackage(ctx context.Context, appGUID string) (Package, error) {
	var pkgs list[Package]
	if err := c.Do(ctx, LatestPackageRequest(appGUID), &pkgs); err != nil {
		return Package{}, err
	}
	if len(pkgs.Resources) == 0 {
		return Package{}, ErrNoPackage
	}
	return pkgs.Resources[0], nil
}

// CreateBuild stages a package.
func (c *Client) CreateBuild(ctx context.Context, packageGUID string) (Build, error) {
	var b Build
	err := c.Do(ctx, CreateBuildRequest(packageGUID), &b)
	return b, err
}

// GetBuild reads a build.
func (c *Client) GetBuild(ctx context.Context, buildGUID string) (Build, error) {
	var b Build
	err := c.Do(ctx, GetBuildRequest(buildGUID), &b)
	return b, err
}

// SetCurrentDroplet makes the droplet the app's current one.
func (c *Client) SetCurrentDroplet(ctx context.Context, appGUID, dropletGUID string) error {
	return c.Do(ctx, SetCurrentDropletRequest(appGUID, dropletGUID), nil)
}

// Restart restarts the app.
func (c *Client) Restart(ctx context.Context, appGUID string) error {
	return c.Do(ctx, RestartRequest(appGUID), nil)
}
