package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// defaultLibDirs returns the directories searched last, as the loader's built-in system
// directories.
func defaultLibDirs() []string {
	return []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
}

// closure finds the ELF interpreter and shared libraries of a program, as the dynamic loader
// will, and adds them to the tree.
type closure struct {
	g        guestFS
	t        *tree
	prog     string            // the program as written, for messages
	extra    []string          // LibraryDirs, as guest paths
	conf     []string          // directories of /etc/ld.so.conf
	found    map[string]string // needed name or soname -> guest path
	libs     []string          // guest paths of the libraries
	ldPath   []string          // directories the loader needs in LD_LIBRARY_PATH
	inLdPath map[string]bool
}

// object is an ELF file whose dependencies are to be resolved.
type object struct {
	guest    string   // guest path as found
	real     string   // guest path after symlinks
	origin   string   // $ORIGIN
	rpaths   []string // inherited DT_RPATH directories, when the object has no DT_RUNPATH
	neededBy string   // "" for the program
}

type libResult struct {
	interp string
	libs   []string
	ldPath []string
}

func resolveLibraries(ctx context.Context, g guestFS, t *tree, p *program, o BuildOptions) (libResult, error) {
	c := &closure{g: g, t: t, prog: p.name, found: map[string]string{}, inLdPath: map[string]bool{}}
	for _, d := range o.LibraryDirs {
		c.extra = append(c.extra, libraryDir(d, o.AppDir))
	}
	var err error
	if c.conf, err = readLdSoConf(g, "/etc/ld.so.conf", 0); err != nil {
		return libResult{}, err
	}
	info, err := readObject(g.host(p.real), p.name)
	if err != nil {
		return libResult{}, err
	}
	var res libResult
	if info.interp != "" {
		real, hops, fi, err := g.resolve(info.interp)
		if err != nil || fi == nil || !fi.Mode().IsRegular() || !compatibleLibrary(g.host(real)) {
			return libResult{}, &MissingLibraryError{Program: p.name, Library: "its ELF interpreter " + info.interp,
				Searched: []string{g.sysRoot}}
		}
		if err := addResolved(t, real, hops, fi, g.host(real)); err != nil {
			return libResult{}, err
		}
		res.interp = info.interp
		// The loader is loaded already: a DT_NEEDED of its soname (libc needs it) is satisfied.
		ld, err := readObject(g.host(real), info.interp)
		if err != nil {
			return libResult{}, err
		}
		if ld.soname != "" {
			c.found[ld.soname] = info.interp
		}
	}
	queue := []*object{{guest: p.guest, real: p.real, origin: path.Dir(p.real)}}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return libResult{}, fmt.Errorf("resolve libraries: %w", err)
		}
		obj := queue[0]
		queue = queue[1:]
		next, err := c.visit(obj, info)
		if err != nil {
			return libResult{}, err
		}
		queue = append(queue, next...)
		info = nil
	}
	sort.Strings(c.libs)
	res.libs, res.ldPath = c.libs, c.ldPath
	return res, nil
}

// visit resolves the DT_NEEDED entries of obj and returns the newly found libraries.
func (c *closure) visit(obj *object, info *elfObject) ([]*object, error) {
	if info == nil {
		var err error
		if info, err = readObject(c.g.host(obj.real), obj.guest); err != nil {
			return nil, err
		}
	}
	if info.soname != "" && c.found[info.soname] == "" {
		c.found[info.soname] = obj.guest
	}
	// Like ld.so: an object with DT_RUNPATH searches only that (its DT_RPATH is ignored);
	// otherwise its DT_RPATH, then those of the objects that loaded it, up to the program.
	rpaths := obj.rpaths
	if !info.hasRunpath {
		rpaths = append(c.expand(info.rpath, obj.origin), rpaths...)
	}
	dirs := rpaths
	if info.hasRunpath {
		dirs = c.expand(info.runpath, obj.origin)
	}
	var next []*object
	for _, name := range info.needed {
		if c.found[name] != "" {
			continue
		}
		lib, dir, err := c.search(name, dirs, obj)
		if err != nil {
			return nil, err
		}
		c.found[name] = lib.guest
		c.libs = append(c.libs, lib.guest)
		lib.rpaths = rpaths
		if dir != "" && !c.inLdPath[dir] {
			c.inLdPath[dir] = true
			c.ldPath = append(c.ldPath, dir)
		}
		next = append(next, lib)
	}
	return next, nil
}

// search looks for the library name in the object's own directories, then LibraryDirs,
// ld.so.conf and the defaults. It returns the library and, when the guest's loader will not
// find it by itself (it has no ld.so.cache), the directory to put into LD_LIBRARY_PATH.
func (c *closure) search(name string, own []string, obj *object) (*object, string, error) {
	groups := [][]string{own, c.extra, c.conf, defaultLibDirs()}
	if strings.Contains(name, "/") { // a path, relative to the working directory
		groups, name = [][]string{{path.Dir(path.Join(GuestAppDir, name))}}, path.Base(name)
	}
	var searched []string
	seen := map[string]bool{}
	for gi, group := range groups {
		for _, dir := range group {
			if seen[dir] {
				continue
			}
			seen[dir] = true
			searched = append(searched, dir)
			cand := path.Join(dir, name)
			real, hops, fi, err := c.g.resolve(cand)
			if errors.Is(err, fs.ErrNotExist) || err == nil && (fi == nil || !fi.Mode().IsRegular()) {
				continue
			}
			if err != nil {
				return nil, "", fmt.Errorf("look for %s: %w", name, err)
			}
			if !compatibleLibrary(c.g.host(real)) {
				continue
			}
			if err := addResolved(c.t, real, hops, fi, c.g.host(real)); err != nil {
				return nil, "", err
			}
			ldDir := ""
			if gi > 0 && !isDefaultLibDir(dir) {
				ldDir = dir
			}
			return &object{guest: cand, real: real, origin: dir, neededBy: obj.guest}, ldDir, nil
		}
	}
	neededBy := obj.guest
	if obj.neededBy == "" {
		neededBy = ""
	}
	return nil, "", &MissingLibraryError{Program: c.prog, Library: name, NeededBy: neededBy, Searched: searched}
}

func isDefaultLibDir(dir string) bool {
	for _, d := range defaultLibDirs() {
		if d == dir {
			return true
		}
	}
	return false
}

// expand turns DT_RPATH/DT_RUNPATH entries into clean guest directories: $ORIGIN and
// ${ORIGIN} become origin, relative entries are relative to the working directory (the app
// directory), empty entries are dropped.
func (c *closure) expand(entries []string, origin string) []string {
	var out []string
	for _, e := range entries {
		if e == "" {
			continue
		}
		e = strings.ReplaceAll(strings.ReplaceAll(e, "${ORIGIN}", origin), "$ORIGIN", origin)
		if !path.IsAbs(e) {
			e = path.Join(GuestAppDir, e)
		}
		out = append(out, path.Clean(e))
	}
	return out
}

// libraryDir turns a LibraryDirs entry into a guest directory.
func libraryDir(d, appDir string) string {
	if !filepath.IsAbs(d) {
		return path.Join(GuestAppDir, filepath.ToSlash(d))
	}
	if rel, err := filepath.Rel(appDir, d); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path.Join(GuestAppDir, filepath.ToSlash(rel))
	}
	return path.Clean(filepath.ToSlash(d))
}

// readLdSoConf returns the directories listed in the ld.so.conf file at guest path conf,
// following include lines (globs relative to the including file's directory).
func readLdSoConf(g guestFS, conf string, depth int) ([]string, error) {
	if depth > 8 {
		return nil, fmt.Errorf("read %s: includes nested too deep", conf)
	}
	real, _, fi, err := g.resolve(conf)
	if errors.Is(err, fs.ErrNotExist) || err == nil && (fi == nil || !fi.Mode().IsRegular()) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", conf, err)
	}
	data, err := os.ReadFile(g.host(real))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", conf, err)
	}
	var dirs []string
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(" \t:,", r) })
		switch {
		case len(fields) == 0 || fields[0] == "hwcap":
		case fields[0] == "include":
			for _, pattern := range fields[1:] {
				if !path.IsAbs(pattern) {
					pattern = path.Join(path.Dir(conf), pattern)
				}
				files, err := globGuest(g, pattern)
				if err != nil {
					return nil, fmt.Errorf("read %s: %w", conf, err)
				}
				for _, f := range files {
					sub, err := readLdSoConf(g, f, depth+1)
					if err != nil {
						return nil, err
					}
					dirs = append(dirs, sub...)
				}
			}
		default:
			for _, d := range fields {
				if path.IsAbs(d) {
					dirs = append(dirs, path.Clean(d))
				}
			}
		}
	}
	return dirs, nil
}

// globGuest expands a pattern whose last element may hold glob characters.
func globGuest(g guestFS, pattern string) ([]string, error) {
	dir, base := path.Split(pattern)
	real, _, fi, err := g.resolve(path.Clean(dir))
	if errors.Is(err, fs.ErrNotExist) || err == nil && (fi == nil || !fi.IsDir()) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(g.host(real))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if ok, err := path.Match(base, e.Name()); err != nil {
			return nil, fmt.Errorf("include %s: %w", pattern, err)
		} else if ok {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out, nil
}
