// Command local-diego runs a small Diego on this machine: PostgreSQL, locket, the BBS, a
// loggregator v2 ingress (app logs are printed and kept in <dir>/app.log), a droplet server,
// the test-only placement stand-in for the auctioneer, and N unik cells. It runs until
// interrupted, then removes everything it started. Use scripts/local-diego; push apps with
// scripts/unik-push.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/unik-cf/unik/src/devenv/localdiego"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "local-diego:", err)
		os.Exit(1)
	}
}

func run() error {
	cells := flag.Int("cells", 2, "number of unik cells")
	dir := flag.String("dir", "/var/tmp/unik-local-diego", "working directory (recreated)")
	repo := flag.String("repo", ".", "the UniK repository (for bin/unik-init and building the cell)")
	converge := flag.Duration("converge", 10*time.Second, "BBS convergence interval")
	polling := flag.Duration("polling", 10*time.Second, "cells' bulk reconciliation interval")
	lockTTL := flag.Duration("lock-ttl", 10*time.Second, "cells' presence TTL")
	memory := flag.Int("cell-memory", 4096, "memory capacity of each cell, MB")
	verbose := flag.Bool("v", false, "print every component's log lines (they are in -dir anyway)")
	flag.Parse()

	root, err := filepath.Abs(*repo)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	logger := lager.NewLogger("local-diego")
	logf, err := os.Create(filepath.Join(*dir, "local-diego.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	logger.RegisterSink(lager.NewWriterSink(logf, lager.INFO))
	if *verbose {
		logger.RegisterSink(lager.NewWriterSink(os.Stderr, lager.INFO))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintln(os.Stderr, "local-diego: building the BBS, locket and the unik cell...")
	bin, err := localdiego.Build(ctx, root, localdiego.DefaultDiegoBinDir, filepath.Join(*dir, "bin"))
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "local-diego: starting PostgreSQL, locket, the BBS and", *cells, "cells...")
	d, err := localdiego.Start(ctx, localdiego.Options{Dir: *dir, Bin: bin, Repo: root, Cells: *cells,
		ConvergeInterval: *converge, PollingInterval: *polling, LockTTL: *lockTTL, CellMemoryMB: *memory, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "local-diego: stopping (cells delete their instances)...")
		if err := d.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "local-diego: stop:", err)
		}
	}()
	env, closeAux, err := localdiego.Serve(d, os.Stdout)
	if err != nil {
		return err
	}
	defer closeAux()
	fmt.Fprintf(os.Stderr, "local-diego: ready. BBS %s; cells %v\n  logs: %s/*.log, app logs: %s\n  push: scripts/unik-push push examples/hello-go --name hello\n",
		env.BBSURL, env.Cells, *dir, env.LogFile)
	<-ctx.Done()
	return nil
}
