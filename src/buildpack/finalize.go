package buildpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/unik-cf/unik/src/droplet"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/startcmd"
)

// FinalizeOptions are finalize's inputs beyond the lifecycle's directories.
type FinalizeOptions struct {
	InitPath string   // the static guest init shipped in the buildpack (bin/unik-init)
	SysRoot  string   // where shared libraries are resolved; "" = "/", the staging rootfs
	Environ  []string // the staging environment
	Version  string   // the buildpack's version, for the log
	Stdout   io.Writer
	Stderr   io.Writer
}

// Validate names the first bad field.
func (o FinalizeOptions) Validate() error {
	switch {
	case o.InitPath == "":
		return fmt.Errorf("finalize options: InitPath is required")
	case o.Stdout == nil || o.Stderr == nil:
		return fmt.Errorf("finalize options: Stdout and Stderr are required")
	}
	return nil
}

// plan is what finalize builds: the start command and the image options it needs.
type plan struct {
	start, source string
	libraryDirs   []string
	env           map[string]string
}

// Finalize prepares the app in d.Build, builds its image and writes it to d.Build/.unik (see
// package droplet). Errors are staging failures with a message for the staging log.
func Finalize(ctx context.Context, d Dirs, o FinalizeOptions) (image.Result, error) {
	began := time.Now()
	if err := o.Validate(); err != nil {
		return image.Result{}, err
	}
	if err := d.Validate("finalize"); err != nil {
		return image.Result{}, err
	}
	if _, err := os.Stat(o.InitPath); err != nil {
		return image.Result{}, fmt.Errorf("the buildpack is incomplete: its guest init %s: %w (package it with scripts/package-buildpack)", o.InitPath, err)
	}
	log := logger{out: o.Stdout, err: o.Stderr}
	log.Step("Unik Buildpack version %s", o.Version)
	for _, reserved := range []string{droplet.Dir, VendorDir} {
		p := filepath.Join(d.Build, reserved)
		if _, err := os.Lstat(p); err == nil {
			log.Warn("removed ./%s from the pushed app: the unik buildpack writes it", reserved)
			if err := os.RemoveAll(p); err != nil {
				return image.Result{}, fmt.Errorf("finalize: %w", err)
			}
		}
	}
	a, err := inspect(d.Build)
	if err != nil {
		return image.Result{}, err
	}
	deps, err := supplied(d)
	if err != nil {
		return image.Result{}, err
	}
	env, err := stagingEnv(o.Environ, d.Deps, deps)
	if err != nil {
		return image.Result{}, err
	}
	p := plan{start: a.web, source: "the Procfile's web: line"}
	if a.goMod {
		err = p.goApp(ctx, log, d, deps, env)
	} else {
		err = p.preparedApp(log, d, a, deps)
	}
	if err != nil {
		return image.Result{}, err
	}
	if fi, err := os.Stat(filepath.Join(d.Build, "lib")); err == nil && fi.IsDir() {
		p.libraryDirs = append([]string{"lib"}, p.libraryDirs...)
	}
	res, err := p.buildImage(ctx, log, d, o)
	if err != nil {
		return image.Result{}, err
	}
	log.Info("finalized in %s", time.Since(began).Round(time.Millisecond))
	return res, nil
}

// goApp compiles the Go source app; its binary is the start command unless the Procfile says
// otherwise. Nothing from the deps directory goes into the image: the binary is static.
func (p *plan) goApp(ctx context.Context, log logger, d Dirs, deps []dep, env environ) error {
	goCmd, err := findGo(deps, env)
	if err != nil {
		return err
	}
	g := goBuild{goCmd: goCmd, dir: d.Build, cache: d.Cache, env: env}
	log.Step("Building the Go app with %s (%s)", g.version(ctx), goCmd)
	rel, err := g.build(ctx)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(d.Build, rel)); err == nil {
		log.Info("built ./%s: a static linux/amd64 binary of %s", rel, size(fi.Size()))
	}
	if p.start == "" {
		p.start, p.source = "./"+rel, "the Go build"
	}
	return nil
}

// preparedApp handles a prebuilt program, possibly with what supply buildpacks left in the
// deps directory: that is copied into the app (the image holds only the app) and its lib
// directories join the library search.
func (p *plan) preparedApp(log logger, d Dirs, a app, deps []dep) error {
	vendored, err := vendorDeps(log, d, deps)
	if err != nil {
		return err
	}
	var bins []string
	for _, v := range vendored {
		guest := path.Join(image.GuestAppDir, VendorDir, v.index)
		log.Step("Copied deps %s of a supply buildpack into the app (%s)", v.index, guest)
		for _, sub := range []string{"lib", "ld_library_path"} {
			if fi, err := os.Stat(filepath.Join(v.dir, sub)); err == nil && fi.IsDir() {
				p.libraryDirs = append(p.libraryDirs, path.Join(VendorDir, v.index, sub))
			}
		}
		if fi, err := os.Stat(filepath.Join(v.dir, "bin")); err == nil && fi.IsDir() {
			bins = append(bins, path.Join(guest, "bin"))
		}
	}
	if len(vendored) > 0 {
		p.env = map[string]string{"DEPS_DIR": path.Join(image.GuestAppDir, VendorDir)}
		if len(bins) > 0 {
			p.env["PATH"] = strings.Join(append(bins, path.Join(image.GuestAppDir, "bin"), image.GuestAppDir), ":")
		}
	}
	if p.start == "" {
		switch len(a.executables) {
		case 1:
			p.start, p.source = "./"+a.executables[0], "the only program at the top of the app"
		case 0:
			why := "no Procfile"
			if a.hasProcfile {
				why = "the Procfile has no web: line"
			}
			return fail(ErrNoStartCommand, fmt.Sprintf("no start command: %s and no executable Linux program at the top of "+
				"the app. Add a Procfile with a web: line naming the program to run (web: ./my-server), "+
				"or push a Go source app (go.mod).", why))
		default:
			return fail(ErrNoStartCommand, fmt.Sprintf("no start command: several programs at the top of the app (%s). "+
				"Add a Procfile with a web: line naming the one to run (web: ./%s).", strings.Join(a.executables, ", "), a.executables[0]))
		}
	}
	return p.linkDepsProgram(log, d, vendored)
}

// linkDepsProgram makes a start command program that only a supply buildpack provides
// (DEPS/i/bin/NAME, named bare) findable the way the image builder and guest init look for
// programs (the app, then its bin/): BUILD/bin/NAME becomes a relative symlink to the copy.
func (p *plan) linkDepsProgram(log logger, d Dirs, vendored []dep) error {
	cmd, err := startcmd.Parse(p.start)
	if err != nil {
		return nil // the image builder reports it with its context
	}
	name, ok := cmd.Program()
	if !ok || strings.Contains(name, "/") {
		return nil
	}
	for _, c := range []string{filepath.Join(d.Build, name), filepath.Join(d.Build, "bin", name)} {
		if _, err := os.Lstat(c); err == nil {
			return nil
		}
	}
	for _, v := range vendored {
		if !isFileExecutable(filepath.Join(v.dir, "bin", name)) {
			continue
		}
		if err := os.MkdirAll(filepath.Join(d.Build, "bin"), 0o755); err != nil {
			return fmt.Errorf("finalize: %w", err)
		}
		target := path.Join("..", VendorDir, v.index, "bin", name)
		if err := os.Symlink(target, filepath.Join(d.Build, "bin", name)); err != nil {
			return fmt.Errorf("finalize: %w", err)
		}
		log.Info("the start command's program %s comes from deps %s: linked ./bin/%s -> %s", name, v.index, name, target)
		return nil
	}
	return nil
}

// buildImage builds the payload from the build directory (without .unik, which does not exist
// yet) into a temporary file and moves it into place.
func (p *plan) buildImage(ctx context.Context, log logger, d Dirs, o FinalizeOptions) (image.Result, error) {
	log.Step("Building the unik image")
	log.Info("start command: %s (from %s)", p.start, p.source)
	tmp, err := os.CreateTemp("", "unik-payload-*")
	if err != nil {
		return image.Result{}, fmt.Errorf("finalize: %w", err)
	}
	defer os.Remove(tmp.Name())
	opts := image.BuildOptions{AppDir: d.Build, StartCommand: p.start, InitPath: o.InitPath,
		LibraryDirs: p.libraryDirs, SysRoot: o.SysRoot, Env: p.env}
	res, err := image.Build(ctx, opts, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("finalize: write payload: %w", cerr)
	}
	if err != nil {
		return image.Result{}, explain(err)
	}
	if err := droplet.Write(d.Build, tmp.Name(), res); err != nil {
		return image.Result{}, err
	}
	m := res.Manifest
	log.Info("program: %s (%s)", m.Program, linkage(m))
	for _, l := range m.Libraries {
		log.Info("  library %s", l)
	}
	appSize, _ := dirSize(d.Build, droplet.Dir)
	log.Info("payload: %s for an app of %s (init, system files and libraries add %s)", size(res.Size), size(appSize), size(res.Size-appSize))
	log.Info("digest: %s", res.Digest)
	log.Info("wrote ./%s and ./%s", path.Join(droplet.Dir, droplet.PayloadFile), path.Join(droplet.Dir, droplet.ImageFile))
	return res, nil
}

func linkage(m image.Manifest) string {
	if m.Interpreter == "" {
		return "static"
	}
	libs := "libraries"
	if len(m.Libraries) == 1 {
		libs = "library"
	}
	return fmt.Sprintf("dynamic: %s and %d %s, from the staging rootfs and the app", m.Interpreter, len(m.Libraries), libs)
}

// explain adds what a buildpack user can do to the image builder's errors.
func explain(err error) error {
	switch {
	case errors.Is(err, image.ErrMissingLibrary):
		return fmt.Errorf("%w.\nThe staging rootfs does not have it: ship the library in the app's lib/ directory "+
			"(the buildpack searches it) or have a supply buildpack provide it (DEPS/INDEX/lib)", err)
	case errors.Is(err, image.ErrInvalidOptions):
		return fmt.Errorf("finalize: %w", err)
	}
	return err
}
