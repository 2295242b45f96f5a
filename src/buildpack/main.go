package buildpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Env is the world of one buildpack command.
type Env struct {
	Args       []string // PHASE and its arguments, as the bin/ shims pass them
	Stdout     io.Writer
	Stderr     io.Writer
	Environ    []string // the staging environment
	Executable string   // this program's path; bin/unik-init is found next to it
	Version    string
}

const usage = `usage: unik-buildpack PHASE ARGS
  detect   BUILD_DIR
  supply   BUILD_DIR CACHE_DIR DEPS_DIR DEPS_INDEX
  finalize BUILD_DIR CACHE_DIR DEPS_DIR DEPS_INDEX [PROFILE_DIR]
  release  BUILD_DIR
  version
`

// Main runs one phase and returns the exit status: 0 success, 1 failure (for detect: the app
// is not one the buildpack stages), 2 bad usage.
func Main(ctx context.Context, env Env) int {
	err := run(ctx, env)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errDetectFailed):
		return 1
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(env.Stderr, "unik-buildpack: %v\n%s", err, usage)
		return 2
	}
	logger{out: env.Stdout, err: env.Stderr}.Error("%v", err)
	return 1
}

func run(ctx context.Context, env Env) error {
	if len(env.Args) == 0 {
		return fmt.Errorf("%w: no phase", ErrUsage)
	}
	phase, args := env.Args[0], env.Args[1:]
	want := map[string][2]int{"detect": {1, 1}, "supply": {4, 4}, "finalize": {4, 5}, "release": {1, 1}, "version": {0, 0}}
	n, ok := want[phase]
	if !ok {
		return fmt.Errorf("%w: unknown phase %q", ErrUsage, phase)
	}
	if len(args) < n[0] || len(args) > n[1] {
		return fmt.Errorf("%w: %s takes %d to %d arguments, got %d", ErrUsage, phase, n[0], n[1], len(args))
	}
	var d Dirs
	if len(args) > 0 {
		d.Build = args[0]
	}
	if len(args) >= 4 {
		d.Cache, d.Deps, d.Index = args[1], args[2], args[3]
	}
	if len(args) == 5 {
		d.Profile = args[4]
	}
	switch phase {
	case "version":
		_, err := fmt.Fprintln(env.Stdout, env.Version)
		return err
	case "detect":
		if err := d.Validate(phase); err != nil {
			return err
		}
		reason, err := Detect(d.Build)
		if err != nil {
			// the lifecycle keeps detect's stdout as the buildpack's name: say why on stderr
			fmt.Fprintln(env.Stderr, err)
			return errDetectFailed
		}
		fmt.Fprintf(env.Stderr, "unik buildpack: detected %s\n", reason)
		return nil
	case "supply":
		return Supply(d, env.Version, env.Stdout)
	case "finalize":
		_, err := Finalize(ctx, d, FinalizeOptions{InitPath: filepath.Join(filepath.Dir(env.Executable), "unik-init"),
			Environ: env.Environ, Version: env.Version, Stdout: env.Stdout, Stderr: env.Stderr})
		return err
	}
	return Release(d.Build, env.Stdout)
}

// errDetectFailed ends detect with status 1 after the reason was printed.
var errDetectFailed = errors.New("detect failed")

// Supply has nothing to supply (the unik buildpack is the final one); it records the
// buildpack's name and version in its deps directory, where the lifecycle reads them for the
// staging result.
func Supply(d Dirs, version string, stdout io.Writer) error {
	if err := d.Validate("supply"); err != nil {
		return err
	}
	if err := os.MkdirAll(d.DepDir(), 0o755); err != nil {
		return fmt.Errorf("supply: %w", err)
	}
	cfg := fmt.Sprintf("name: unik\nversion: %q\nconfig: {}\n", version)
	if err := os.WriteFile(filepath.Join(d.DepDir(), "config.yml"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("supply: %w", err)
	}
	logger{out: stdout}.Step("Unik Buildpack version %s: nothing to supply (the image is built in finalize)", version)
	return nil
}
