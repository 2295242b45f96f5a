// Command unik runs apps as single-application microVMs without Cloud Foundry.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/unik-cf/unik/src/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Args: os.Args[1:],
		Getenv: os.Getenv, LookupEnv: os.LookupEnv, Terminal: term.IsTerminal(int(os.Stderr.Fd()))})
	stop()
	os.Exit(code)
}
