package localdiego

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Binaries are the programs local Diego runs.
type Binaries struct{ BBS, Locket, Cell string }

// DefaultDiegoBinDir keeps the BBS and locket binaries outside the clone.
const DefaultDiegoBinDir = "/var/cache/unik/diego/bin"

// Build compiles the BBS and locket (from the module proxy, pinned in the root go.mod) into
// diegoDir and the unik cell into cellDir. Go's build cache makes repeated builds cheap.
func Build(ctx context.Context, repo, diegoDir, cellDir string) (Binaries, error) {
	b := Binaries{BBS: filepath.Join(diegoDir, "bbs"), Locket: filepath.Join(diegoDir, "locket"), Cell: filepath.Join(cellDir, "unik-cell")}
	for _, d := range []string{diegoDir, cellDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return b, err
		}
	}
	builds := [][]string{
		{"build", "-gcflags=code.cloudfoundry.org/bbs/...=-lang=go1.25", "-o", b.BBS, "code.cloudfoundry.org/bbs/cmd/bbs"},
		{"build", "-o", b.Locket, "code.cloudfoundry.org/locket/cmd/locket"},
		{"build", "-o", b.Cell, "./src/cmd/unik-cell"},
	}
	for _, args := range builds {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go %v: %w\n%s", args, err, out)
		}
	}
	return b, nil
}
