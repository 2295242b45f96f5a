package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// addAppDir adds the app directory to the tree under GuestAppDir, owned by vcap, keeping
// permission bits. Symlinks are kept when their target stays inside the app directory
// (checked lexically); other special files are rejected. It reports whether the directory
// holds anything.
func addAppDir(ctx context.Context, t *tree, hostDir string) (bool, error) {
	empty := true
	err := filepath.WalkDir(hostDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read app directory: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(hostDir, p)
		if err != nil {
			return fmt.Errorf("read app directory: %w", err)
		}
		guest := path.Join(GuestAppDir, filepath.ToSlash(rel))
		if guest != GuestAppDir {
			empty = false
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("read app directory: %w", err)
		}
		e := &entry{mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), uid: VcapUID, gid: VcapGID}
		switch {
		case fi.IsDir():
			e.kind = kindDir
		case fi.Mode().IsRegular():
			e.kind, e.host, e.size = kindFile, p, fi.Size()
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("read app directory: %w", err)
			}
			if err := checkAppLink(guest, target); err != nil {
				return err
			}
			e.kind, e.target = kindSymlink, target
		default:
			return errorf(ErrAppFile, "app file %s is a %s: UniK images hold only regular files, directories "+
				"and symlinks; remove it from the app directory", rel, fileType(fi.Mode()))
		}
		return t.add(guest, e)
	})
	return !empty, err
}

// checkAppLink checks that the symlink at guest path link, pointing to target, stays inside
// the app directory once copied to the guest.
func checkAppLink(link, target string) error {
	dest := target
	if !path.IsAbs(target) {
		dest = path.Join(path.Dir(link), target)
	}
	if inApp(path.Clean(dest)) {
		return nil
	}
	return errorf(ErrAppFile, "app file %s is a symlink to %s, outside the app directory (%s in the guest): "+
		"UniK copies only the app directory; copy the file into the app instead of linking to it",
		strings.TrimPrefix(link, GuestAppDir+"/"), target, GuestAppDir)
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device node"
	}
	return "special file"
}

// startCommand returns the start command: opts.StartCommand, else the web: line of the
// Procfile; source is "" or says where the command came from.
func startCommand(o BuildOptions, appHasFiles bool) (cmd, source string, err error) {
	if strings.TrimSpace(o.StartCommand) != "" {
		return o.StartCommand, "", nil
	}
	const hint = "no start command: pass --start-command or add a Procfile with a web: line"
	f, err := openInApp(o.AppDir, "Procfile")
	if errors.Is(err, fs.ErrNotExist) {
		if !appHasFiles {
			return "", "", errorf(ErrNoStartCommand, "%s (the app directory %s is empty)", hint, o.AppDir)
		}
		return "", "", errorf(ErrNoStartCommand, "%s", hint)
	}
	if err != nil {
		return "", "", fmt.Errorf("read Procfile: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, cmd, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(name) == "web" && strings.TrimSpace(cmd) != "" {
			return strings.TrimSpace(cmd), "the Procfile web: line", nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("read Procfile: %w", err)
	}
	return "", "", errorf(ErrNoStartCommand, "%s (the Procfile has no web: line)", hint)
}

// openInApp opens the file rel of the app directory, resolving it beneath the directory: a
// symlink (or a chain of them) that leads out of it is an error, never followed.
func openInApp(appDir, rel string) (*os.File, error) {
	root, err := os.OpenRoot(appDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(rel)
}

// program is the resolved start command program.
type program struct {
	name  string      // as written in the start command
	guest string      // absolute guest path, e.g. /home/vcap/app/hello
	real  string      // guest path after symlinks
	hops  []hop       // symlinks passed
	info  fs.FileInfo // of the real file
}

// findProgram resolves the start command's program: relative names and /home/vcap/app/...
// inside the app directory (a bare name in the app directory, then in its bin/), other absolute
// paths inside the system root.
func findProgram(g guestFS, name, appDirName string) (*program, error) {
	var candidates []string
	switch {
	case path.IsAbs(name):
		candidates = []string{path.Clean(name)}
	case strings.Contains(name, "/"):
		candidates = []string{path.Join(GuestAppDir, name)}
		if !inApp(candidates[0]) {
			return nil, errorf(ErrProgramNotFound, "start command program %s points outside the app directory %s", name, appDirName)
		}
	default:
		candidates = []string{path.Join(GuestAppDir, name), path.Join(GuestAppDir, "bin", name)}
	}
	for _, c := range candidates {
		real, hops, fi, err := g.resolve(c)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("find start command program %s: %w", name, err)
		}
		if fi == nil || !fi.Mode().IsRegular() {
			return nil, errorf(ErrProgramNotFound, "start command program %s (%s) is not a regular file", name, c)
		}
		return &program{name: name, guest: c, real: real, hops: hops, info: fi}, nil
	}
	if !inApp(candidates[0]) {
		return nil, errorf(ErrProgramNotFound, "start command program %s not found in the app directory %s nor in the system root %s", name, appDirName, g.sysRoot)
	}
	tried := ""
	if len(candidates) > 1 {
		tried = fmt.Sprintf(" (looked for %s and bin/%s)", name, name)
	}
	return nil, errorf(ErrProgramNotFound, "start command program %s not found in app directory %s%s", name, appDirName, tried)
}

// checkProgram checks that the program is an x86-64 Linux ELF executable with an execute bit.
func checkProgram(hostPath, name string, fi fs.FileInfo) error {
	_, f, err := openExecutable(hostPath, name, hintProgram)
	if err != nil {
		return err
	}
	f.Close()
	if fi.Mode()&0o111 == 0 {
		return errorf(ErrNotExecutable, "start command program %s is not executable (mode %04o): "+
			"run chmod +x on it", name, fi.Mode().Perm())
	}
	return nil
}

// addResolved adds a file found through g.resolve, and the symlinks passed on the way, to the
// tree unless they are part of the app directory (copied already).
func addResolved(t *tree, real string, hops []hop, fi fs.FileInfo, host string) error {
	for _, h := range hops {
		if !inApp(h.path) {
			if err := t.add(h.path, &entry{kind: kindSymlink, mode: 0o777, target: h.target}); err != nil {
				return err
			}
		}
	}
	if inApp(real) {
		return nil
	}
	return t.add(real, &entry{kind: kindFile, mode: fi.Mode().Perm(), host: host, size: fi.Size()})
}
