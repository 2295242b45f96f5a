package unikplugin

import (
	"context"
	"fmt"
)

var disableFlags = flagSet{
	bools:   []string{"restage"},
	values:  []string{"stack"},
	aliases: map[string]string{"s": "stack"},
}

func runDisable(ctx context.Context, conn Connection, argv []string, env Env) error {
	p, err := disableFlags.parse(CmdDisable, argv)
	if err != nil {
		return err
	}
	name, err := p.oneApp(CmdDisable)
	if err != nil {
		return err
	}
	stack := DefaultStack
	if s, ok := p.values["stack"]; ok {
		stack = s
	}
	if err := validateTargetStack(stack); err != nil {
		return &UsageError{CmdDisable, err.Error()}
	}
	t, cc, app, err := lookupApp(ctx, conn, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Disabling UniK for app %s in org %s / space %s as %s...\n", name, t.OrgName, t.SpaceName, t.User)
	want, err := DisableLifecycle(app.Lifecycle, stack)
	if err != nil {
		return fmt.Errorf("disable UniK for app %s: %w", name, err)
	}
	if err := applyLifecycle(ctx, cc, app, want, env); err != nil {
		return err
	}
	if p.bools["restage"] {
		return restage(ctx, cc, app, env)
	}
	fmt.Fprintf(env.Stdout, "\nTIP: Use 'cf restage %s' to stage the app for stack %s.\n", name, stack)
	return nil
}
