package buildpack

import "errors"

// Staging failures the user can act on (errors.Is). Main prints the message and exits 1, so the
// staging log ends with it. Image errors (image.ErrMissingLibrary, image.ErrProgramNotFound, ...)
// pass through with their own messages.
var (
	ErrUnsupported    = errors.New("not an app the unik buildpack can stage")
	ErrNoStartCommand = errors.New("no start command")
	ErrNoGo           = errors.New("no Go toolchain")
	ErrCompile        = errors.New("go build failed")
	ErrGoModules      = errors.New("Go modules are missing")
	ErrUsage          = errors.New("usage")
)

// failure is a staging error of a kind with a message for the staging log.
type failure struct {
	kind error
	msg  string
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.kind }

func fail(kind error, msg string) error { return &failure{kind: kind, msg: msg} }
