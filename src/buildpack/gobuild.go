package buildpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// findGo returns the go command to build with: one a supply buildpack put in the deps
// directory (DEPS/i/bin/go, DEPS/i/go*/bin/go, DEPS/i/go*/go/bin/go, by index), else the first
// go on PATH.
func findGo(deps []dep, env environ) (string, error) {
	for _, d := range deps {
		for _, pattern := range []string{"bin/go", "go*/bin/go", "go*/go/bin/go"} {
			matches, _ := filepath.Glob(filepath.Join(d.dir, pattern))
			for _, m := range matches {
				if isFileExecutable(m) {
					return m, nil
				}
			}
		}
	}
	pathVar, _ := env.get("PATH")
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if p := filepath.Join(dir, "go"); isFileExecutable(p) {
			return p, nil
		}
	}
	return "", fail(ErrNoGo, "no Go toolchain: this is a Go source app (go.mod), but no supply buildpack put Go in the "+
		"deps directory and there is no go on PATH. Push with the Go buildpack as a supply buildpack "+
		"(cf push -b go_buildpack -b unik_buildpack), or push a prebuilt Linux binary with a Procfile web: line.")
}

func isFileExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// goBuild compiles a Go source app.
type goBuild struct {
	goCmd string  // the go command
	dir   string  // the app (build directory)
	cache string  // the buildpack's cache directory
	env   environ // the staging environment
}

// goEnv is the environment of the go command: offline (GOPROXY=off), this toolchain only, a
// static linux/amd64 binary, the build cache in the buildpack's cache directory, vendored
// modules when the app has vendor/modules.txt.
func (g goBuild) goEnv() environ {
	env := append(environ(nil), g.env...).
		set("GOENV", "off").set("GOPROXY", "off").set("GOTOOLCHAIN", "local").set("GOWORK", "off").
		set("CGO_ENABLED", "0").set("GOOS", "linux").set("GOARCH", "amd64").
		set("GOCACHE", filepath.Join(g.cache, "go-build"))
	if _, ok := env.get("GOMODCACHE"); !ok {
		if _, ok := env.get("GOPATH"); !ok {
			env = env.set("GOPATH", filepath.Join(g.cache, "gopath"))
		}
	}
	flags, _ := env.get("GOFLAGS")
	if _, err := os.Stat(filepath.Join(g.dir, "vendor", "modules.txt")); err == nil && !strings.Contains(flags, "-mod=") {
		flags = strings.TrimSpace(flags + " -mod=vendor")
	}
	return env.set("GOFLAGS", flags)
}

// version returns `go version`'s toolchain, e.g. go1.26.8.
func (g goBuild) version(ctx context.Context) string {
	out, err := g.run(ctx, "env", "GOVERSION")
	if err != nil {
		return "unknown version"
	}
	return strings.TrimSpace(string(out))
}

func (g goBuild) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.goCmd, args...)
	cmd.Dir = g.dir
	cmd.Env = g.goEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// pkg returns the package to build: $GO_INSTALL_PACKAGE_SPEC (the Go buildpack's variable; one
// package) or the module root.
func (g goBuild) pkg() (string, error) {
	spec, _ := g.env.get("GO_INSTALL_PACKAGE_SPEC")
	switch f := strings.Fields(spec); len(f) {
	case 0:
		return ".", nil
	case 1:
		return f[0], nil
	}
	return "", fail(ErrUnsupported, fmt.Sprintf("GO_INSTALL_PACKAGE_SPEC=%q names several packages; a unik image runs one "+
		"program: name the main package of the web process only", spec))
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	versionRE = regexp.MustCompile(`^v[0-9]+$`)
)

// build compiles the main package into BUILD/bin/NAME (NAME from its import path, as go
// install names it) and returns the path relative to the build directory. The output is
// reproducible: -trimpath, no VCS stamp, no build ID.
func (g goBuild) build(ctx context.Context) (string, error) {
	pkg, err := g.pkg()
	if err != nil {
		return "", err
	}
	out, err := g.run(ctx, "list", "-f", "{{.Name}} {{.ImportPath}}", pkg)
	if err != nil {
		return "", g.failure(ctx, "go list "+pkg, out, err)
	}
	kind, importPath, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if kind != "main" {
		return "", fail(ErrUnsupported, fmt.Sprintf("Go package %s (%s) is package %s, not a program (package main): "+
			"set GO_INSTALL_PACKAGE_SPEC to the main package of the web process (e.g. ./cmd/server)", pkg, importPath, kind))
	}
	name := binaryName(importPath)
	rel := filepath.Join("bin", name)
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", filepath.Join(g.dir, rel), pkg}
	if out, err := g.run(ctx, args...); err != nil {
		return "", g.failure(ctx, "go build "+pkg, out, err)
	}
	return rel, nil
}

// binaryName is the last element of the import path, skipping a major version suffix.
func binaryName(importPath string) string {
	name := path.Base(importPath)
	if versionRE.MatchString(name) && path.Dir(importPath) != "." {
		name = path.Base(path.Dir(importPath))
	}
	if !nameRE.MatchString(name) {
		return "app"
	}
	return name
}

// missingModules recognises the go command's complaints about modules it may not download.
var missingModules = regexp.MustCompile(`GOPROXY=off|module lookup disabled|missing go\.sum entry|` +
	`cannot find module providing package|no required module provides package|inconsistent vendoring`)

// failure turns a failed go command into a staging error carrying its output.
func (g goBuild) failure(ctx context.Context, what string, out []byte, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("run %s: %w", what, err)
	}
	output := "  " + strings.ReplaceAll(tail(out, 60), "\n", "\n  ") + "\n"
	if missingModules.Match(out) {
		return fail(ErrGoModules, fmt.Sprintf("Go modules are missing, and staging has no network (GOPROXY=off):\n%s"+
			"Vendor the modules (go mod vendor, then push again: vendor/ is built with -mod=vendor), "+
			"or use a supply buildpack that fills the module cache (GOMODCACHE).", output))
	}
	return fail(ErrCompile, fmt.Sprintf("%s failed (%v); the compiler says:\n%s", what, exit, output))
}
