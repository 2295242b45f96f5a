package cli

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
)

func cmdBuild(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	name := fs.String("name", "", "image name")
	start := fs.String("start-command", "", "start command (default: the Procfile's web line)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("build: want one app directory, got %d arguments", len(pos))
	}
	if *name == "" {
		return usagef("build: --name is required")
	}
	if err := imagestore.ValidName(*name); err != nil {
		return err
	}
	store := c.store()
	tmp, err := store.TempFile()
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer os.Remove(tmp.Name())
	c.progress("building image %s from %s", *name, pos[0])
	res, err := image.Build(ctx, image.BuildOptions{AppDir: pos[0], StartCommand: *start, InitPath: c.s.initPath}, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("build %s: %w", *name, err)
	}
	img, err := store.Put(*name, tmp.Name(), res)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.env.Stdout, "%s %s %s\n", img.Name, img.Digest, humanSize(img.Size))
	return nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
