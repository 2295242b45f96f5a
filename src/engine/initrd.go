package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/image"
)

// ErrNoInit: the engine has no guest init (Config.InitPath) and cannot run instances.
var ErrNoInit = errors.New("engine config: init_path is required to run instances: the cell's guest init (bin/unik-init) goes into every initrd")

// writeInitrd composes a VM's initrd, four newc cpio segments the kernel unpacks in order:
//
//  1. the kernel's prefix segment (modules of a fallback kernel), as it is: the cell's;
//  2. the image payload, re-written through image.Sanitize: the payload's /init, system files,
//     device nodes and everything under /unik but the manifest are left out, hard links and
//     entries through symlinks refused, so that the kernel creates exactly the entries
//     written and none of them can stand in the way of what follows;
//  3. the system segment (image.WriteSystem): the cell's mount points, /etc files, console
//     nodes and the guest init at initPath as /init;
//  4. the config segment holding /unik/config.json.
//
// Whatever the payload holds, /init is the cell's and the config lands in a fresh root-owned
// file. The file is private (0600): the config holds the env. payload "" boots init alone.
func writeInitrd(path, prefix, payload, initPath string, cfg guestinit.Config) (err error) {
	if initPath == "" {
		return ErrNoInit
	}
	seg, err := configSegment(cfg)
	if err != nil {
		return err
	}
	init, err := os.Open(initPath)
	if err != nil {
		return fmt.Errorf("guest init: %w", err)
	}
	defer init.Close()
	fi, err := init.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("guest init %s is not a regular file (%v)", initPath, err)
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriterSize(out, 1<<20)
	if prefix != "" {
		if err := appendFile(w, prefix); err != nil {
			return err
		}
	}
	if payload != "" {
		if err := sanitizedPayload(w, payload); err != nil {
			return err
		}
	}
	cw := image.NewCpioWriter(w)
	if err := image.WriteSystem(cw, init, fi.Size()); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("system segment: %w", err)
	}
	if _, err := w.Write(seg); err != nil {
		return err
	}
	return w.Flush()
}

// sanitizedPayload writes the payload at path to w through image.Sanitize.
func sanitizedPayload(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := image.Sanitize(bufio.NewReaderSize(f, 1<<20), w); err != nil {
		return fmt.Errorf("payload %s: %w", path, err)
	}
	return nil
}

func appendFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// configSegment is a cpio archive with /unik/config.json, readable by root only.
func configSegment(cfg guestinit.Config) ([]byte, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := image.NewCpioWriter(&buf)
	if err := w.WriteDir("unik", 0o755, 0, 0); err != nil {
		return nil, err
	}
	if err := w.WriteFile("unik/config.json", 0o600, 0, 0, bytes.NewReader(js), int64(len(js))); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("config segment: %w", err)
	}
	return buf.Bytes(), nil
}
