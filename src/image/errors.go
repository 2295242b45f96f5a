package image

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error of Build, Validate and ReadManifest wraps one of them (check
// with errors.Is). Messages carry the details and what to do.
var (
	ErrInvalidOptions  = errors.New("invalid image build options")
	ErrBadInit         = errors.New("init is not a static x86-64 Linux ELF executable")
	ErrNoStartCommand  = errors.New("no start command")
	ErrStartCommand    = errors.New("start command cannot run without a shell")
	ErrProgramNotFound = errors.New("start command program not found")
	ErrNotExecutable   = errors.New("start command program is not executable")
	ErrNotELF          = errors.New("not a Linux ELF executable")
	ErrWrongArch       = errors.New("not an x86-64 program")
	ErrMissingLibrary  = errors.New("shared library not found")
	ErrAppFile         = errors.New("unsupported file in the app directory")
	ErrConflict        = errors.New("conflicting image entries")
	ErrCorruptPayload  = errors.New("corrupt image payload")
	ErrNoManifest      = errors.New("image payload has no manifest")
)

// Error is a build error of a given kind (one of the sentinels) with a message for the user and
// an optional cause.
type Error struct {
	Kind error
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// FieldError reports an invalid BuildOptions field. It wraps ErrInvalidOptions and, when set, Err.
type FieldError struct {
	Field   string // e.g. "AppDir"
	Problem string
	Err     error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("image build options: %s: %s", e.Field, e.Problem)
}

func (e *FieldError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidOptions}
	}
	return []error{ErrInvalidOptions, e.Err}
}

// MissingLibraryError reports a shared library (or ELF interpreter) the program needs that was
// not found. It wraps ErrMissingLibrary.
type MissingLibraryError struct {
	Program  string   // the start command's program as written, e.g. ./hello
	Library  string   // the DT_NEEDED name, or the interpreter path
	NeededBy string   // guest path of the library that needs it; "" when the program does
	Searched []string // guest directories searched, in order
}

func (e *MissingLibraryError) Error() string {
	via := ""
	if e.NeededBy != "" {
		via = " (through " + e.NeededBy + ")"
	}
	return fmt.Sprintf("%s needs %s%s, not found in: %s; add the directory that holds it to the library "+
		"directories of the build, or ship it in the app directory", e.Program, e.Library, via, strings.Join(e.Searched, ", "))
}

func (e *MissingLibraryError) Unwrap() error { return ErrMissingLibrary }
