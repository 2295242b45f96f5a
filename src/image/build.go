package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/unik-cf/unik/src/startcmd"
)

// Build writes the payload for opts to w and describes it. The same options and inputs give
// the same bytes. Errors wrap the package's sentinel errors (ErrNoStartCommand,
// ErrProgramNotFound, ErrMissingLibrary, ...); nothing useful is in w after an error.
func Build(ctx context.Context, opts BuildOptions, w io.Writer) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	o, err := opts.normalized()
	if err != nil {
		return Result{}, fmt.Errorf("build image: %w", err)
	}
	t := newTree()
	initInfo, err := os.Stat(o.InitPath)
	if err != nil {
		return Result{}, fmt.Errorf("build image: %w", err)
	}
	if err := addSystem(t, o.InitPath, initInfo); err != nil {
		return Result{}, fmt.Errorf("build image: %w", err)
	}
	hasFiles, err := addAppDir(ctx, t, o.AppDir)
	if err != nil {
		return Result{}, err
	}
	m, err := addProgram(ctx, t, o, opts.AppDir, hasFiles)
	if err != nil {
		return Result{}, err
	}
	data, err := encodeManifest(m)
	if err != nil {
		return Result{}, err
	}
	if err := t.addData(ManifestPath, permFile, data); err != nil {
		return Result{}, fmt.Errorf("build image: %w", err)
	}
	hw := &hashWriter{w: w, h: sha256.New()}
	cw := NewCpioWriter(hw, WithModTime(o.Epoch))
	if err := t.write(ctx, cw); err != nil {
		return Result{}, err
	}
	if err := cw.Close(); err != nil {
		return Result{}, fmt.Errorf("write image: %w", err)
	}
	return Result{Manifest: m, Digest: "sha256:" + hex.EncodeToString(hw.h.Sum(nil)), Size: hw.n}, nil
}

// addProgram parses the start command, resolves its program and the program's libraries, adds
// what is outside the app directory to the tree and returns the manifest.
func addProgram(ctx context.Context, t *tree, o BuildOptions, appDirName string, hasFiles bool) (Manifest, error) {
	line, source, err := startCommand(o, hasFiles)
	if err != nil {
		return Manifest{}, err
	}
	cmd, err := startcmd.Parse(line)
	if err != nil {
		return Manifest{}, &Error{Kind: ErrStartCommand, Msg: source, Err: err}
	}
	name, ok := cmd.Program()
	if !ok {
		return Manifest{}, errorf(ErrStartCommand, "start command %s: the program name contains a variable; the "+
			"builder must know the program, so write it literally (e.g. ./my-app)", quoteShort(line))
	}
	g := guestFS{appDir: o.AppDir, sysRoot: o.SysRoot}
	p, err := findProgram(g, name, appDirName)
	if err != nil {
		return Manifest{}, err
	}
	if err := checkProgram(g.host(p.real), name, p.info); err != nil {
		return Manifest{}, err
	}
	if err := addResolved(t, p.real, p.hops, p.info, g.host(p.real)); err != nil {
		return Manifest{}, err
	}
	libs, err := resolveLibraries(ctx, g, t, p, o)
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{
		SchemaVersion: SchemaVersion, StartCommand: line, Program: p.guest, WorkDir: GuestAppDir,
		User: VcapUser, UID: VcapUID, GID: VcapGID, Ports: o.Ports,
		Interpreter: libs.interp, Libraries: libs.libs,
	}
	if len(o.Env) > 0 || len(libs.ldPath) > 0 {
		m.Env = map[string]string{}
		for k, v := range o.Env {
			m.Env[k] = v
		}
	}
	if len(libs.ldPath) > 0 {
		dirs := strings.Join(libs.ldPath, ":")
		if old := m.Env["LD_LIBRARY_PATH"]; old != "" {
			dirs = old + ":" + dirs
		}
		m.Env["LD_LIBRARY_PATH"] = dirs
	}
	return m, nil
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// hashWriter hashes and counts what it writes through.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(b []byte) (int, error) {
	n, err := hw.w.Write(b)
	hw.h.Write(b[:n])
	hw.n += int64(n)
	return n, err
}
