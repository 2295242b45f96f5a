package unikplugin

import (
	"fmt"
	"slices"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccv3"
)

// Names the UniK release defines in Cloud Foundry.
const (
	UnikStack     = "unik"
	UnikBuildpack = "unik_buildpack"
	DefaultStack  = "cflinuxfs4"
)

// supplyBuildpacks is the buildpack list without the unik buildpack.
func supplyBuildpacks(bps []string) []string {
	var out []string
	for _, bp := range bps {
		if bp != UnikBuildpack {
			out = append(out, bp)
		}
	}
	return out
}

// EnableLifecycle is the lifecycle that puts an app on UniK: stack unik, the
// app's own buildpacks kept in order, unik_buildpack last and only once.
// When the app names no buildpacks (auto-detect), detected (the buildpacks of
// its current droplet) become the supply buildpacks.
func EnableLifecycle(cur ccv3.Lifecycle, detected []string) (ccv3.Lifecycle, error) {
	if err := requireBuildpackLifecycle(cur); err != nil {
		return ccv3.Lifecycle{}, err
	}
	supply := supplyBuildpacks(cur.Data.Buildpacks)
	if len(supply) == 0 {
		supply = supplyBuildpacks(detected)
	}
	return ccv3.Lifecycle{
		Type: ccv3.LifecycleBuildpack,
		Data: ccv3.LifecycleData{
			Stack:      UnikStack,
			Buildpacks: append(slices.Clip(supply), UnikBuildpack),
		},
	}, nil
}

// DisableLifecycle is the lifecycle that takes an app off UniK: the given
// stack and the app's buildpacks without unik_buildpack. No buildpack left
// means auto-detect (JSON null).
func DisableLifecycle(cur ccv3.Lifecycle, stack string) (ccv3.Lifecycle, error) {
	if err := requireBuildpackLifecycle(cur); err != nil {
		return ccv3.Lifecycle{}, err
	}
	if err := validateTargetStack(stack); err != nil {
		return ccv3.Lifecycle{}, err
	}
	return ccv3.Lifecycle{
		Type: ccv3.LifecycleBuildpack,
		Data: ccv3.LifecycleData{Stack: stack, Buildpacks: supplyBuildpacks(cur.Data.Buildpacks)},
	}, nil
}

func validateTargetStack(stack string) error {
	switch stack {
	case "":
		return fmt.Errorf("--stack is empty: name the stack to move the app to (e.g. %s)", DefaultStack)
	case UnikStack:
		return fmt.Errorf("--stack %s would keep the app on UniK: name another stack (e.g. %s)", UnikStack, DefaultStack)
	}
	return nil
}

func requireBuildpackLifecycle(cur ccv3.Lifecycle) error {
	if cur.Type == ccv3.LifecycleBuildpack || cur.Type == "" {
		return nil
	}
	return fmt.Errorf("the app uses the %s lifecycle; UniK needs a buildpack app (push it with cf unik-push)", cur.Type)
}

// SameLifecycle reports whether applying want to an app that has cur changes nothing.
func SameLifecycle(cur, want ccv3.Lifecycle) bool {
	return cur.Data.Stack == want.Data.Stack &&
		slices.Equal(cur.Data.Buildpacks, want.Data.Buildpacks) &&
		(cur.Type == want.Type || cur.Type == "")
}

// detectedBuildpacks names the buildpacks recorded in a droplet.
func detectedBuildpacks(d ccv3.Droplet) []string {
	var out []string
	for _, bp := range d.Buildpacks {
		if bp.Name != "" {
			out = append(out, bp.Name)
		}
	}
	return out
}
