package unikplugin

import (
	"slices"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccv3"
)

func bp(stack string, bps ...string) ccv3.Lifecycle {
	return ccv3.Lifecycle{Type: ccv3.LifecycleBuildpack, Data: ccv3.LifecycleData{Stack: stack, Buildpacks: bps}}
}

func TestEnableLifecycle(t *testing.T) {
	tests := []struct {
		name     string
		cur      ccv3.Lifecycle
		detected []string
		want     []string
	}{
		{"keeps supply buildpacks in order", bp("cflinuxfs4", "nodejs_buildpack", "go_buildpack"), nil,
			[]string{"nodejs_buildpack", "go_buildpack", "unik_buildpack"}},
		{"moves unik_buildpack last, once", bp("cflinuxfs4", "unik_buildpack", "go_buildpack", "unik_buildpack"), nil,
			[]string{"go_buildpack", "unik_buildpack"}},
		{"already enabled", bp("unik", "go_buildpack", "unik_buildpack"), nil, []string{"go_buildpack", "unik_buildpack"}},
		{"auto-detect uses the droplet's buildpacks", bp("cflinuxfs4"), []string{"go_buildpack"}, []string{"go_buildpack", "unik_buildpack"}},
		{"own buildpacks win over the droplet's", bp("cflinuxfs4", "binary_buildpack"), []string{"go_buildpack"},
			[]string{"binary_buildpack", "unik_buildpack"}},
		{"nothing known: unik_buildpack alone", bp("cflinuxfs4"), nil, []string{"unik_buildpack"}},
		{"droplet staged on unik already", bp("cflinuxfs4"), []string{"go_buildpack", "unik_buildpack"}, []string{"go_buildpack", "unik_buildpack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EnableLifecycle(tt.cur, tt.detected)
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != "buildpack" || got.Data.Stack != "unik" || !slices.Equal(got.Data.Buildpacks, tt.want) {
				t.Errorf("got %+v, want stack unik buildpacks %v", got, tt.want)
			}
		})
	}
}

func TestEnableLifecycleDoesNotAliasInput(t *testing.T) {
	in := make([]string, 1, 4)
	in[0] = "go_buildpack"
	cur := bp("cflinuxfs4", in...)
	got, _ := EnableLifecycle(cur, nil)
	got.Data.Buildpacks[0] = "changed"
	if in[0] != "go_buildpack" {
		t.Error("EnableLifecycle wrote through to the caller's slice")
	}
}

func TestEnableLifecycleRefusesDockerAndCNB(t *testing.T) {
	for _, typ := range []string{"docker", "cnb"} {
		_, err := EnableLifecycle(ccv3.Lifecycle{Type: typ}, nil)
		if err == nil || !strings.Contains(err.Error(), typ+" lifecycle") {
			t.Errorf("%s: err = %v", typ, err)
		}
	}
}

func TestDisableLifecycle(t *testing.T) {
	got, err := DisableLifecycle(bp("unik", "go_buildpack", "unik_buildpack"), "cflinuxfs4")
	if err != nil || got.Data.Stack != "cflinuxfs4" || !slices.Equal(got.Data.Buildpacks, []string{"go_buildpack"}) {
		t.Errorf("got %+v, %v", got, err)
	}
	got, err = DisableLifecycle(bp("unik", "unik_buildpack"), "cflinuxfs4")
	if err != nil || got.Data.Buildpacks != nil {
		t.Errorf("only unik_buildpack: got %+v, %v; want nil buildpacks (auto-detect)", got, err)
	}
	for _, stack := range []string{"", "unik"} {
		if _, err := DisableLifecycle(bp("unik", "unik_buildpack"), stack); err == nil {
			t.Errorf("stack %q accepted", stack)
		}
	}
}

func TestSameLifecycle(t *testing.T) {
	if !SameLifecycle(bp("unik", "a", "unik_buildpack"), bp("unik", "a", "unik_buildpack")) {
		t.Error("equal lifecycles differ")
	}
	if SameLifecycle(bp("cflinuxfs4", "a"), bp("unik", "a")) || SameLifecycle(bp("unik", "a"), bp("unik", "a", "b")) {
		t.Error("different lifecycles are the same")
	}
	if !SameLifecycle(bp("cflinuxfs4"), bp("cflinuxfs4", []string{}...)) {
		t.Error("null and [] buildpacks differ")
	}
}
