package unikplugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccv3"
)

var enableFlags = flagSet{bools: []string{"restage"}}

func runEnable(ctx context.Context, conn Connection, argv []string, env Env) error {
	p, err := enableFlags.parse(CmdEnable, argv)
	if err != nil {
		return err
	}
	name, err := p.oneApp(CmdEnable)
	if err != nil {
		return err
	}
	t, cc, app, err := lookupApp(ctx, conn, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Enabling UniK for app %s in org %s / space %s as %s...\n", name, t.OrgName, t.SpaceName, t.User)

	var detected []string
	if len(supplyBuildpacks(app.Lifecycle.Data.Buildpacks)) == 0 && app.Lifecycle.Type == ccv3.LifecycleBuildpack {
		d, ok, err := cc.CurrentDroplet(ctx, app.GUID)
		if err != nil {
			return fmt.Errorf("read current droplet of app %s: %w", name, err)
		}
		if ok {
			detected = detectedBuildpacks(d)
		}
	}
	want, err := EnableLifecycle(app.Lifecycle, detected)
	if err != nil {
		return fmt.Errorf("enable UniK for app %s: %w", name, err)
	}
	if err := applyLifecycle(ctx, cc, app, want, env); err != nil {
		return err
	}
	if p.bools["restage"] {
		return restage(ctx, cc, app, env)
	}
	fmt.Fprintf(env.Stdout, "\nTIP: Use 'cf restage %s' to stage the app for UniK and run it on unik cells.\n", name)
	return nil
}

// lookupApp resolves the target, builds the client and finds the app by name.
func lookupApp(ctx context.Context, conn Connection, name string) (Target, *ccv3.Client, ccv3.App, error) {
	t, err := resolveTarget(conn)
	if err != nil {
		return Target{}, nil, ccv3.App{}, err
	}
	cc, err := newClient(conn, t)
	if err != nil {
		return Target{}, nil, ccv3.App{}, err
	}
	app, ok, err := cc.FindApp(ctx, name, t.SpaceGUID)
	if err != nil {
		return Target{}, nil, ccv3.App{}, fmt.Errorf("find app %s: %w", name, err)
	}
	if !ok {
		return Target{}, nil, ccv3.App{}, appNotFound(name, t)
	}
	return t, cc, app, nil
}

// applyLifecycle PATCHes the app unless it already has want.
func applyLifecycle(ctx context.Context, cc *ccv3.Client, app ccv3.App, want ccv3.Lifecycle, env Env) error {
	if SameLifecycle(app.Lifecycle, want) {
		fmt.Fprintf(env.Stdout, "App %s already has stack %s and buildpacks %s; nothing to change.\n",
			app.Name, want.Data.Stack, describeBuildpacks(want.Data.Buildpacks))
		return nil
	}
	if _, err := cc.UpdateLifecycle(ctx, app.GUID, want); err != nil {
		return fmt.Errorf("update app %s: %w", app.Name, err)
	}
	fmt.Fprintf(env.Stdout, "Stack:      %s\nBuildpacks: %s\nOK\n", want.Data.Stack, describeBuildpacks(want.Data.Buildpacks))
	return nil
}

func describeBuildpacks(bps []string) string {
	if len(bps) == 0 {
		return "(auto-detect)"
	}
	return strings.Join(bps, ", ")
}
