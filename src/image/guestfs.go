package image

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

const maxSymlinks = 40 // as Linux

// guestFS is the guest's view of the build inputs: GuestAppDir maps to the app directory and
// every other path into the system root. Paths are absolute, slash-separated guest paths.
type guestFS struct {
	appDir  string // host path
	sysRoot string // host path
}

// hop is a symlink passed through while resolving a path.
type hop struct {
	path   string // guest path of the link
	target string // its target, as stored
}

// host returns the host path of a clean absolute guest path.
func (g guestFS) host(p string) string {
	if inApp(p) {
		return filepath.Join(g.appDir, filepath.FromSlash(strings.TrimPrefix(p, GuestAppDir)))
	}
	return filepath.Join(g.sysRoot, filepath.FromSlash(p))
}

// inApp reports whether the clean guest path p is the app directory or inside it.
func inApp(p string) bool {
	return p == GuestAppDir || strings.HasPrefix(p, GuestAppDir+"/")
}

// appAncestor reports whether p is a directory above GuestAppDir ("/home", "/home/vcap"),
// which the image provides whatever the system root holds.
func appAncestor(p string) bool {
	return p != "/" && strings.HasPrefix(GuestAppDir, p+"/")
}

// resolve follows symlinks through the guest path p, component by component, as the guest
// kernel will. It returns the real guest path, the symlinks passed and the host file info of
// the result (nil for a directory the image provides, such as /home). A missing path gives an
// error wrapping fs.ErrNotExist.
//
// Once a symlink of the app directory has been followed, the resolution stays beneath the app
// directory: a path that leaves it (through "..", an absolute target or a chain of links such
// as q -> . and p -> q/../..) would be a file of the host's system root, which an app's link
// must never reach; that is an error wrapping ErrAppFile. The app directory may be an
// extracted droplet whose links are the tenant's.
func (g guestFS) resolve(p string) (string, []hop, fs.FileInfo, error) {
	if !path.IsAbs(p) {
		return "", nil, nil, fmt.Errorf("resolve %s: not an absolute path", p)
	}
	rest := strings.Split(p, "/")
	cur := "/"
	var hops []hop
	var info fs.FileInfo
	fromApp, appLink := false, hop{} // a symlink of the app directory was followed: the first
	confine := func(q string) error {
		if fromApp && !inApp(q) {
			return errorf(ErrAppFile, "resolve %s: the app's symlink %s (to %s) leads outside the app directory %s, to %s",
				p, strings.TrimPrefix(appLink.path, GuestAppDir+"/"), appLink.target, GuestAppDir, q)
		}
		return nil
	}
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur, info = path.Dir(cur), nil
			continue
		}
		if info != nil && !info.IsDir() {
			return "", nil, nil, fmt.Errorf("resolve %s: %s is not a directory: %w", p, cur, fs.ErrNotExist)
		}
		next := path.Join(cur, c)
		if appAncestor(next) {
			cur, info = next, nil
			continue
		}
		if err := confine(next); err != nil {
			return "", nil, nil, err
		}
		fi, err := os.Lstat(g.host(next))
		if err != nil {
			return "", nil, nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur, info = next, fi
			continue
		}
		if len(hops) == maxSymlinks {
			return "", nil, nil, fmt.Errorf("resolve %s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(g.host(next))
		if err != nil {
			return "", nil, nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		hops = append(hops, hop{path: next, target: target})
		if inApp(next) && !fromApp {
			fromApp, appLink = true, hops[len(hops)-1]
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		info = nil
		rest = append(strings.Split(target, "/"), rest...)
	}
	if info == nil && !appAncestor(cur) {
		if err := confine(cur); err != nil {
			return "", nil, nil, err
		}
		fi, err := os.Stat(g.host(cur))
		if err != nil {
			return "", nil, nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		info = fi
	}
	return cur, hops, info, nil
}
