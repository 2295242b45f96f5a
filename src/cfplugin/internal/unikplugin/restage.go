package unikplugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccv3"
)

// stager is the part of the Cloud Controller a restage uses.
type stager interface {
	LatestPackage(ctx context.Context, appGUID string) (ccv3.Package, error)
	CreateBuild(ctx context.Context, packageGUID string) (ccv3.Build, error)
	GetBuild(ctx context.Context, buildGUID string) (ccv3.Build, error)
	SetCurrentDroplet(ctx context.Context, appGUID, dropletGUID string) error
	Restart(ctx context.Context, appGUID string) error
}

// firstPoll is the first wait between build polls; waits double up to Env.PollInterval.
const firstPoll = 250 * time.Millisecond

// restage stages the app's latest package with its (new) lifecycle, makes the
// droplet current and restarts the app: POST /v3/builds, poll the build until
// STAGED, PATCH the current_droplet relationship, POST actions/restart.
func restage(ctx context.Context, cc stager, app ccv3.App, env Env) error {
	fmt.Fprintf(env.Stdout, "\nRestaging app %s...\n", app.Name)
	pkg, err := cc.LatestPackage(ctx, app.GUID)
	if errors.Is(err, ccv3.ErrNoPackage) {
		return fmt.Errorf("restage app %s: it has no ready package; push it first (cf %s %s)", app.Name, CmdPush, app.Name)
	}
	if err != nil {
		return fmt.Errorf("restage app %s: find latest package: %w", app.Name, err)
	}
	build, err := cc.CreateBuild(ctx, pkg.GUID)
	if err != nil {
		return fmt.Errorf("restage app %s: create build: %w", app.Name, err)
	}
	fmt.Fprintf(env.Stdout, "Staging package %s (build %s)...\n", pkg.GUID, build.GUID)
	build, err = waitStaged(ctx, cc, build, env)
	if err != nil {
		return fmt.Errorf("restage app %s: %w", app.Name, err)
	}
	if err := cc.SetCurrentDroplet(ctx, app.GUID, build.DropletGUID()); err != nil {
		return fmt.Errorf("restage app %s: set droplet %s: %w", app.Name, build.DropletGUID(), err)
	}
	if err := cc.Restart(ctx, app.GUID); err != nil {
		return fmt.Errorf("restage app %s: restart: %w", app.Name, err)
	}
	fmt.Fprintf(env.Stdout, "App %s restarted with droplet %s.\nOK\n\nTIP: Use 'cf app %s' to watch the instances start.\n",
		app.Name, build.DropletGUID(), app.Name)
	return nil
}

// waitStaged polls the build until it is STAGED, FAILED or the staging timeout passes.
func waitStaged(ctx context.Context, cc stager, b ccv3.Build, env Env) (ccv3.Build, error) {
	ctx, cancel := context.WithTimeout(ctx, env.StagingTimeout)
	defer cancel()
	wait := min(firstPoll, env.PollInterval)
	for {
		switch b.State {
		case ccv3.BuildStaged:
			if b.DropletGUID() == "" {
				return b, fmt.Errorf("build %s is STAGED but names no droplet", b.GUID)
			}
			return b, nil
		case ccv3.BuildFailed:
			return b, fmt.Errorf("staging failed (build %s): %s", b.GUID, b.Error)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return b, fmt.Errorf("build %s still %s after %s: %w", b.GUID, b.State, env.StagingTimeout, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, env.PollInterval)
		next, err := cc.GetBuild(ctx, b.GUID)
		if err != nil {
			return b, fmt.Errorf("poll build %s: %w", b.GUID, err)
		}
		b = next
	}
}
