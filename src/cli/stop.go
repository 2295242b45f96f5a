package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
)

func cmdStop(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("stop", flag.ContinueOnError)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("stop: want at least one instance id")
	}
	e, err := c.engine()
	if err != nil {
		return err
	}
	var errs []error
	for _, ref := range pos {
		id, err := e.Resolve(ref)
		if err == nil {
			err = e.Stop(ctx, id)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.env.Stdout, id)
	}
	return errors.Join(errs...)
}

func cmdRm(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	force := fs.Bool("f", false, "remove running instances too (kills them)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("rm: want at least one instance id")
	}
	e, err := c.engine()
	if err != nil {
		return err
	}
	var errs []error
	for _, ref := range pos {
		id, err := e.Resolve(ref)
		if err == nil {
			err = e.Remove(ctx, id, *force)
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
