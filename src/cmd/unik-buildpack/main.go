// Command unik-buildpack is the unik buildpack's program: the buildpack's bin/detect,
// bin/supply, bin/finalize and bin/release exec it with their phase. It is built static and
// shipped in the buildpack with the guest init (scripts/package-buildpack).
package main

import (
	"context"
	"os"

	"github.com/unik-cf/unik/src/buildpack"
)

// version is set by scripts/package-buildpack (-ldflags -X main.version=...).
var version = "dev"

func main() {
	exe, _ := os.Executable()
	os.Exit(buildpack.Main(context.Background(), buildpack.Env{Args: os.Args[1:], Stdout: os.Stdout,
		Stderr: os.Stderr, Environ: os.Environ(), Executable: exe, Version: version}))
}
