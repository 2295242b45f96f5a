// Command bench-egress measures application security groups on this machine
// (scripts/bench-egress; see package devenv/egressbench).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/unik-cf/unik/src/devenv/egressbench"
)

func main() {
	o := egressbench.Options{}
	flag.StringVar(&o.Repo, "repo", ".", "the UniK repository (scripts/setup run)")
	flag.IntVar(&o.Rounds, "rounds", 41, "turns of connection measurements per VM (the first warms up)")
	flag.IntVar(&o.PerTurn, "n", 25, "connections per turn")
	flag.IntVar(&o.Attach, "attach", 10, "Attach/Detach measurements per rule count")
	flag.IntVar(&o.Few, "few", 10, "the small number of rules")
	flag.IntVar(&o.Many, "many", 5000, "the large number of rules")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-egress:", err)
		os.Exit(1)
	}
}

func run(o egressbench.Options) error {
	var err error
	if o.Repo, err = filepath.Abs(o.Repo); err != nil {
		return err
	}
	if o.Work, err = os.MkdirTemp("", "unik-bench-egress-"); err != nil {
		return err
	}
	defer os.RemoveAll(o.Work)
	return egressbench.Run(context.Background(), o, os.Stdout)
}
