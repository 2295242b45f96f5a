package guestinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// File is a file the host puts into the guest: in the config segment, written before the app
// starts (instance identity credentials, the cell's trusted certificates, service binding
// files), or over the control channel into a running guest (rotated credentials). It may hold
// secrets: like the environment, it never travels on a command line.
type File struct {
	Path string `json:"path"` // absolute guest path
	Mode uint32 `json:"mode"` // permission bits; 0 = 0400
	// Owner is "vcap" (the app's user: default) or "root".
	Owner string `json:"owner,omitempty"`
	Data  []byte `json:"data"`
}

// The app's user, who owns files by default (the same vcap the app runs as).
const (
	filesUser = "vcap"
	filesUID  = 2000
	filesGID  = 2000
)

// Where files may go: nothing of init's own (/unik), no pseudo file systems.
var forbiddenDirs = []string{"/unik", "/proc", "/sys", "/dev", "/run/unik"}

// MaxFilesBytes bounds what one config or one control message may carry in files.
const MaxFilesBytes = 8 << 20

// ValidateFiles checks paths, owners and the total size.
func ValidateFiles(fs []File) error {
	total := 0
	for i, f := range fs {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return fmt.Errorf("files[%d]: path %q is not a clean absolute path", i, f.Path)
		}
		for _, d := range forbiddenDirs {
			if f.Path == d || strings.HasPrefix(f.Path, d+"/") {
				return fmt.Errorf("files[%d]: %s is under %s, which is init's", i, f.Path, d)
			}
		}
		if f.Owner != "" && f.Owner != filesUser && f.Owner != "root" {
			return fmt.Errorf("files[%d]: owner %q is not %s or root", i, f.Owner, filesUser)
		}
		if f.Mode&^0o777 != 0 {
			return fmt.Errorf("files[%d]: mode %o has bits beyond 0777", i, f.Mode)
		}
		total += len(f.Data)
	}
	if total > MaxFilesBytes {
		return fmt.Errorf("files: %d bytes, more than %d", total, MaxFilesBytes)
	}
	return nil
}

// writeFiles writes each file atomically: a private temporary file beside it, owner and mode
// set, then renamed over the old one, so the app never reads half a certificate. Missing
// directories are created root-owned 0755.
func writeFiles(fs []File) error {
	if err := ValidateFiles(fs); err != nil {
		return err
	}
	var errs []error
	for _, f := range fs {
		if err := writeFile(f); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", f.Path, err))
		}
	}
	return errors.Join(errs...)
}

func writeFile(f File) error {
	uid, gid := filesUID, filesGID
	if f.Owner == "root" {
		uid, gid = 0, 0
	}
	mode := os.FileMode(f.Mode)
	if mode == 0 {
		mode = 0o400
	}
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".unik-file-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if _, err := tmp.Write(f.Data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chown(uid, gid); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// rename replaces a symlink at the target rather than following it
	return unix.Rename(tmp.Name(), f.Path)
}

// ControlFiles is the control-channel line that writes files into a running guest:
// "files " followed by the JSON array of File, then a newline.
const ControlFiles = "files "

// handleControl acts on one control-channel line: "stop", or ControlFiles. A files message
// that cannot be applied is reported on the console; the app keeps running with the old files.
func handleControl(line string, a *app) {
	switch {
	case strings.TrimSpace(line) == "stop":
		a.stop()
	case strings.HasPrefix(line, ControlFiles):
		var fs []File
		err := json.Unmarshal([]byte(strings.TrimPrefix(line, ControlFiles)), &fs)
		if err == nil {
			err = writeFiles(fs)
		}
		if err != nil {
			fmt.Fprintf(openConsole(), "unik-init: control files: %v\n", err)
		}
	}
}

// resultEvent reads a task's result file, as the app's user could (a file the app cannot read
// is not read for it), refusing one larger than MaxResultBytes.
func resultEvent(path string) Event {
	e := Event{Event: EventResult}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		e.Error = err.Error()
		return e
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		e.Error = path + " is not a regular file"
		return e
	}
	if st.Uid != filesUID && st.Mode&0o004 == 0 && !(st.Gid == filesGID && st.Mode&0o040 != 0) {
		e.Error = path + " is not readable by the app"
		return e
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxResultBytes+1))
	if err != nil {
		e.Error = err.Error()
		return e
	}
	if len(b) > MaxResultBytes {
		e.Error = fmt.Sprintf("%s is larger than %d bytes", path, MaxResultBytes)
		return e
	}
	e.Result = string(b)
	return e
}
