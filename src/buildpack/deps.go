package buildpack

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// VendorDir is where finalize copies what supply buildpacks left in the deps directory, inside
// the build directory, so it is part of the image (the guest has only /home/vcap/app).
const VendorDir = ".unik-deps"

// dep is one supply buildpack's deps subdirectory.
type dep struct {
	index string // "0", "01", ...
	dir   string // DEPS/index
}

// stagingOnly are names at the top of a deps subdirectory that matter only to staging or to
// the launcher's shell, never to the app inside the microVM.
var stagingOnly = map[string]bool{"config.yml": true, "launch.yml": true, "env": true, "profile.d": true}

// supplied lists the deps subdirectories of the other buildpacks, by index.
func supplied(d Dirs) ([]dep, error) {
	entries, err := os.ReadDir(d.Deps)
	if err != nil {
		return nil, fmt.Errorf("read deps directory: %w", err)
	}
	var out []dep
	for _, e := range entries {
		if e.IsDir() && e.Name() != d.Index && isDigits(e.Name()) {
			out = append(out, dep{index: e.Name(), dir: filepath.Join(d.Deps, e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// environ is an environment as NAME=value pairs, the later pair of a name winning.
type environ []string

func (e environ) get(name string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func (e environ) set(name, value string) environ { return append(e, name+"="+value) }

// prepend puts dirs before the current value of a path-list variable.
func (e environ) prepend(name string, dirs []string) environ {
	if len(dirs) == 0 {
		return e
	}
	v := strings.Join(dirs, ":")
	if old, _ := e.get(name); old != "" {
		v += ":" + old
	}
	return e.set(name, v)
}

// stagingEnv is the environment supply buildpacks ask for during staging, by the libbuildpack
// convention: DEPS/i/bin on PATH, DEPS/i/lib on LD_LIBRARY_PATH and LIBRARY_PATH,
// DEPS/i/include on CPATH, DEPS/i/pkgconfig on PKG_CONFIG_PATH, and DEPS/i/env/NAME files as
// variables.
func stagingEnv(base environ, depsDir string, deps []dep) (environ, error) {
	env := append(environ(nil), base...).set("DEPS_DIR", depsDir)
	for _, v := range []struct{ name, sub string }{
		{"PATH", "bin"}, {"LD_LIBRARY_PATH", "lib"}, {"LIBRARY_PATH", "lib"}, {"CPATH", "include"}, {"PKG_CONFIG_PATH", "pkgconfig"},
	} {
		var dirs []string
		for _, d := range deps {
			if fi, err := os.Stat(filepath.Join(d.dir, v.sub)); err == nil && fi.IsDir() {
				dirs = append(dirs, filepath.Join(d.dir, v.sub))
			}
		}
		env = env.prepend(v.name, dirs)
	}
	for _, d := range deps {
		files, err := os.ReadDir(filepath.Join(d.dir, "env"))
		if err != nil {
			continue
		}
		for _, f := range files {
			if !f.Type().IsRegular() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(d.dir, "env", f.Name()))
			if err != nil {
				return nil, fmt.Errorf("read the staging environment of deps %s: %w", d.index, err)
			}
			env = env.set(f.Name(), strings.TrimRight(string(b), "\n"))
		}
	}
	return env, nil
}

// runtimeContent reports whether a deps subdirectory holds anything besides staging metadata.
func runtimeContent(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !stagingOnly[e.Name()] {
			return true
		}
	}
	return false
}

// vendorDeps copies the runtime content of the supply buildpacks' deps subdirectories to
// BUILD/.unik-deps/INDEX and returns the indexes copied. Symlinks into the deps or build
// directory are made relative; other absolute symlinks to files are replaced by a copy of the
// file; absolute symlinks to directories are dropped with a warning (the guest has no staging
// rootfs to resolve them).
func vendorDeps(log logger, d Dirs, deps []dep) ([]dep, error) {
	root := filepath.Join(d.Build, VendorDir)
	var out []dep
	for _, dp := range deps {
		if !runtimeContent(dp.dir) {
			continue
		}
		if profiles, _ := os.ReadDir(filepath.Join(dp.dir, "profile.d")); len(profiles) > 0 {
			log.Warn("deps %s has profile.d scripts: they do not run in the microVM (there is no shell); "+
				"the app gets only the environment Cloud Foundry passes and the image's defaults", dp.index)
		}
		c := copier{log: log, depsRoot: d.Deps, build: d.Build, vendorRoot: root}
		if err := c.tree(dp.dir, filepath.Join(root, dp.index)); err != nil {
			return nil, fmt.Errorf("copy deps %s into the app: %w", dp.index, err)
		}
		out = append(out, dep{index: dp.index, dir: filepath.Join(root, dp.index)})
	}
	return out, nil
}

type copier struct {
	log                         logger
	depsRoot, build, vendorRoot string
}

func (c copier) tree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if filepath.Dir(rel) == "." && stagingOnly[rel] {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		to := filepath.Join(dst, rel)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			return os.MkdirAll(to, fi.Mode().Perm()|0o700)
		case fi.Mode().IsRegular():
			return copyFile(p, to, fi.Mode().Perm())
		case fi.Mode()&fs.ModeSymlink != 0:
			return c.link(p, to)
		}
		c.log.Warn("skipped %s: not a regular file, directory or symlink", p)
		return nil
	})
}

// link recreates the symlink at p (in a deps subdirectory) at to (in the vendored copy).
func (c copier) link(p, to string) error {
	target, err := os.Readlink(p)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(target) {
		return os.Symlink(target, to)
	}
	mapped := ""
	if r, ok := within(c.depsRoot, target); ok {
		mapped = filepath.Join(c.vendorRoot, r)
	} else if _, ok := within(c.build, target); ok {
		mapped = target
	}
	if mapped != "" {
		rel, err := filepath.Rel(filepath.Dir(to), mapped)
		if err != nil {
			return err
		}
		return os.Symlink(rel, to)
	}
	fi, err := os.Stat(p)
	switch {
	case err == nil && fi.Mode().IsRegular():
		return copyFile(p, to, fi.Mode().Perm())
	case err == nil && fi.IsDir():
		c.log.Warn("skipped %s -> %s: a link to a directory outside the deps and build directories", p, target)
	default:
		c.log.Warn("skipped %s -> %s: the target does not exist", p, target)
	}
	return nil
}

// within returns p relative to dir when p is inside dir.
func within(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, perm)
}
