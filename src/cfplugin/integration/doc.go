// Package integration runs the real cf CLI, built from
// code.cloudfoundry.org/cli/v8 at the version this module pins, with the UniK
// plugin installed, against the Cloud Controller stand-in (internal/ccstandin),
// and asserts the exact requests the commands send.
//
// The cf binary is built once and cached under $TMPDIR keyed by CLI version,
// Go version and platform; the first run takes about a minute for that.
package integration
