package image

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// BuildOptions says what to build. AppDir and InitPath are required.
type BuildOptions struct {
	AppDir       string // the app directory, copied to /home/vcap/app
	StartCommand string // if empty: the web: line of AppDir/Procfile
	InitPath     string // the static guest init binary, copied to /init
	// LibraryDirs are searched for shared libraries after the DT_RPATH/DT_RUNPATH of the object
	// needing them and before /etc/ld.so.conf and the default directories. They are guest paths
	// (inside SysRoot); an absolute path inside AppDir, or a relative path (relative to AppDir),
	// names a directory of the app.
	LibraryDirs []string
	SysRoot     string            // "" or "/": the host; libraries and absolute programs are resolved inside it
	Ports       []int             // default [DefaultPort]
	Env         map[string]string // defaults baked into the manifest; never secrets
	Epoch       int64             // mtime of every entry (seconds), default 0
}

// Result describes a built payload.
type Result struct {
	Manifest Manifest
	Digest   string // "sha256:<hex>" of the payload bytes
	Size     int64  // payload size in bytes
}

// Validate checks the options, including that AppDir is a directory and InitPath a static
// x86-64 ELF executable. Errors are *FieldError naming the field and wrap ErrInvalidOptions.
func (o BuildOptions) Validate() error {
	if err := checkDir("AppDir", o.AppDir, true); err != nil {
		return err
	}
	if o.InitPath == "" {
		return &FieldError{Field: "InitPath", Problem: "required: the path of the static guest init binary"}
	}
	if err := checkInit(o.InitPath); err != nil {
		return &FieldError{Field: "InitPath", Problem: err.Error(), Err: err}
	}
	if o.SysRoot != "" && o.SysRoot != "/" {
		if err := checkDir("SysRoot", o.SysRoot, false); err != nil {
			return err
		}
	}
	for i, d := range o.LibraryDirs {
		if d == "" || strings.ContainsAny(d, "\x00:") {
			return &FieldError{Field: fmt.Sprintf("LibraryDirs[%d]", i), Problem: fmt.Sprintf("invalid directory %q", d)}
		}
	}
	seen := map[int]bool{}
	for i, p := range o.Ports {
		if p < 1 || p > 65535 || seen[p] {
			return &FieldError{Field: fmt.Sprintf("Ports[%d]", i), Problem: fmt.Sprintf("%d is not a valid, distinct TCP port", p)}
		}
		seen[p] = true
	}
	for k, v := range o.Env {
		if !validName(k) {
			return &FieldError{Field: "Env", Problem: fmt.Sprintf("%q is not a valid environment variable name", k)}
		}
		if strings.IndexByte(v, 0) >= 0 {
			return &FieldError{Field: "Env", Problem: fmt.Sprintf("the value of %s contains a NUL byte", k)}
		}
	}
	if o.Epoch < 0 || o.Epoch > math.MaxUint32 {
		return &FieldError{Field: "Epoch", Problem: fmt.Sprintf("%d is outside 0..%d", o.Epoch, uint32(math.MaxUint32))}
	}
	return nil
}

func checkDir(field, dir string, required bool) error {
	if dir == "" {
		if required {
			return &FieldError{Field: field, Problem: "required"}
		}
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &FieldError{Field: field, Problem: fmt.Sprintf("%s does not exist", dir), Err: err}
	case err != nil:
		return &FieldError{Field: field, Problem: err.Error(), Err: err}
	case !fi.IsDir():
		return &FieldError{Field: field, Problem: fmt.Sprintf("%s is not a directory", dir)}
	}
	return nil
}

// validName reports whether s is a valid environment variable name.
func validName(s string) bool {
	for i, c := range s {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// normalized returns the options with defaults applied and directories made absolute and
// free of symlinks. It expects valid options.
func (o BuildOptions) normalized() (BuildOptions, error) {
	var err error
	if o.AppDir, err = realDir(o.AppDir); err != nil {
		return o, fmt.Errorf("AppDir: %w", err)
	}
	if o.SysRoot == "" {
		o.SysRoot = "/"
	}
	if o.SysRoot, err = realDir(o.SysRoot); err != nil {
		return o, fmt.Errorf("SysRoot: %w", err)
	}
	if len(o.Ports) == 0 {
		o.Ports = []int{DefaultPort}
	}
	o.Ports = append([]int(nil), o.Ports...)
	return o, nil
}

func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	return real, nil
}
