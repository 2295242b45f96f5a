package buildpack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Dirs are the directories the buildpack lifecycle hands to a buildpack:
//
//	bin/detect   BUILD
//	bin/supply   BUILD CACHE DEPS INDEX
//	bin/finalize BUILD CACHE DEPS INDEX PROFILE
//	bin/release  BUILD
type Dirs struct {
	Build   string // the app, becomes ./app of the droplet
	Cache   string // kept between stagings of the app
	Deps    string // one subdirectory per buildpack, by index
	Index   string // this buildpack's index in Deps, as the lifecycle spells it ("0", "02")
	Profile string // .profile.d scripts of the droplet (finalize only)
}

// DepDir is this buildpack's own deps directory.
func (d Dirs) DepDir() string { return filepath.Join(d.Deps, d.Index) }

// Validate checks that the directories the phase needs exist; the error names the bad one.
func (d Dirs) Validate(phase string) error {
	need := []struct{ name, dir string }{{"build directory", d.Build}}
	if phase == "supply" || phase == "finalize" {
		need = append(need, struct{ name, dir string }{"cache directory", d.Cache}, struct{ name, dir string }{"deps directory", d.Deps})
		if _, err := strconv.ParseUint(d.Index, 10, 16); err != nil {
			return fmt.Errorf("%s: %w: deps index %q is not a number", phase, ErrUsage, d.Index)
		}
	}
	for _, n := range need {
		if n.dir == "" {
			return fmt.Errorf("%s: %w: the %s is required", phase, ErrUsage, n.name)
		}
		fi, err := os.Stat(n.dir)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", phase, n.name, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s: %s %s is not a directory", phase, n.name, n.dir)
		}
	}
	return nil
}
