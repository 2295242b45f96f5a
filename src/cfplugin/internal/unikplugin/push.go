package unikplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// PushRunner runs the cf CLI with the given arguments.
type PushRunner interface {
	RunCF(ctx context.Context, args []string) error
}

func runPush(ctx context.Context, argv []string, env Env) error {
	args, err := PushArgs(argv)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Running: cf %s\n\n", strings.Join(args, " "))
	return env.Push.RunCF(ctx, args)
}

// ExecCF runs the cf binary that started the plugin as a child process, so
// `cf push` is the modern (v3 API, multi-buildpack) push of that same CLI,
// with the same CF_HOME and target.
type ExecCF struct {
	// Path of the cf binary; empty means the parent process's executable
	// (the cf that started this plugin), else "cf" from PATH.
	Path   string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// RunCF runs cf with args and fails when it exits non-zero.
func (e ExecCF) RunCF(ctx context.Context, args []string) error {
	path := e.Path
	if path == "" {
		p, err := findCF()
		if err != nil {
			return err
		}
		path = p
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.Stdin, e.Stdout, e.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return fmt.Errorf("cf %s exited with status %d", args[0], exitErr.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("run %s %s: %w", path, args[0], err)
	}
	return nil
}

// findCF returns the executable of the process that started the plugin when
// the system says (Linux /proc), else cf from PATH.
func findCF() (string, error) {
	if p, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", os.Getppid())); err == nil {
		if _, statErr := os.Stat(p); statErr == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("cf")
	if err != nil {
		return "", fmt.Errorf("find the cf binary to run cf push: %w", err)
	}
	return p, nil
}
