package unikplugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Env is what a command run needs besides the cf CLI connection.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// Push runs `cf ARGS...`; nil runs the cf binary that started the plugin.
	Push PushRunner
	// PollInterval is the longest wait between build polls; zero means 2s.
	PollInterval time.Duration
	// StagingTimeout bounds --restage staging; zero means $CF_STAGING_TIMEOUT
	// minutes, or 15 minutes as in the cf CLI.
	StagingTimeout time.Duration
}

func (e Env) withDefaults() Env {
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Push == nil {
		e.Push = ExecCF{Stdin: e.Stdin, Stdout: e.Stdout, Stderr: e.Stderr}
	}
	if e.PollInterval == 0 {
		e.PollInterval = 2 * time.Second
	}
	if e.StagingTimeout == 0 {
		e.StagingTimeout = stagingTimeoutFromEnv()
	}
	return e
}

// stagingTimeoutFromEnv reads CF_STAGING_TIMEOUT (minutes) like the cf CLI.
func stagingTimeoutFromEnv() time.Duration {
	if m, err := strconv.Atoi(os.Getenv("CF_STAGING_TIMEOUT")); err == nil && m > 0 {
		return time.Duration(m) * time.Minute
	}
	return 15 * time.Minute
}

// Run runs one plugin command; args[0] is the command name.
func Run(ctx context.Context, conn Connection, args []string, env Env) error {
	env = env.withDefaults()
	if len(args) == 0 {
		return fmt.Errorf("no command given; the plugin has %s, %s and %s", CmdEnable, CmdDisable, CmdPush)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case CmdEnable:
		return runEnable(ctx, conn, rest, env)
	case CmdDisable:
		return runDisable(ctx, conn, rest, env)
	case CmdPush:
		return runPush(ctx, rest, env)
	case "CLI-MESSAGE-UNINSTALL":
		return nil // sent by `cf uninstall-plugin`; nothing to clean up
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
}
