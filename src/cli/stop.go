package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/unik-cf/unik/src/engine"
)

func cmdStop(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("stop", flag.ContinueOnError)
	return eachInstance(ctx, c, fs, args, func(e *engine.Engine, id string) error { return e.Stop(ctx, id) })
}

func cmdRm(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	force := fs.Bool("f", false, "remove running instances too (kills them)")
	return eachInstance(ctx, c, fs, args, func(e *engine.Engine, id string) error { return e.Remove(ctx, id, *force) })
}

// eachInstance applies do to every instance named in args (ids or unique prefixes), prints
// the id of each one done, and reports every failure.
func eachInstance(ctx context.Context, c *cmdCtx, fs *flag.FlagSet, args []string, do func(*engine.Engine, string) error) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("%s: want at least one instance id", fs.Name())
	}
	e, err := c.engine()
	if err != nil {
		return err
	}
	var errs []error
	for _, ref := range pos {
		id, err := e.Resolve(ref)
		if err == nil {
			err = do(e, id)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.env.Stdout, id)
	}
	return errors.Join(errs...)
}

func cmdRmi(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("rmi", flag.ContinueOnError)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("rmi: want at least one image name")
	}
	var errs []error
	for _, name := range pos {
		if err := c.store().Remove(name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.env.Stdout, name)
	}
	return errors.Join(errs...)
}
