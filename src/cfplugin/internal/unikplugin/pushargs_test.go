package unikplugin

import (
	"slices"
	"strings"
	"testing"
)

func TestPushArgs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"plain", []string{"web"}, []string{"push", "web", "-s", "unik", "-b", "unik_buildpack"}},
		{"buildpacks in order, unik last", []string{"web", "-b", "nodejs_buildpack", "--buildpack", "go_buildpack"},
			[]string{"push", "web", "-s", "unik", "-b", "nodejs_buildpack", "-b", "go_buildpack", "-b", "unik_buildpack"}},
		{"other flags kept as given", []string{"web", "-m", "256M", "--no-start", "-p", "./app", "-i", "2", "--var", "a=b", "--strategy=rolling"},
			[]string{"push", "web", "-m", "256M", "--no-start", "-p", "./app", "-i", "2", "--var", "a=b", "--strategy=rolling", "-s", "unik", "-b", "unik_buildpack"}},
		{"stack unik in any spelling is folded", []string{"web", "-s", "unik", "--stack=unik", "-sunik", "--stack", "unik"},
			[]string{"push", "web", "-s", "unik", "-b", "unik_buildpack"}},
		{"unik_buildpack given by the user is not duplicated", []string{"web", "-b", "unik_buildpack", "-b", "go_buildpack"},
			[]string{"push", "web", "-s", "unik", "-b", "go_buildpack", "-b", "unik_buildpack"}},
		{"repeated buildpack once", []string{"web", "-b", "go_buildpack", "-b=go_buildpack"},
			[]string{"push", "web", "-s", "unik", "-b", "go_buildpack", "-b", "unik_buildpack"}},
		{"a value that looks like a flag is a value", []string{"web", "-c", "-s cflinuxfs4", "--start-command", "-o x"},
			[]string{"push", "web", "-c", "-s cflinuxfs4", "--start-command", "-o x", "-s", "unik", "-b", "unik_buildpack"}},
		{"lifecycle buildpack is fine", []string{"web", "--lifecycle", "buildpack"},
			[]string{"push", "web", "--lifecycle", "buildpack", "-s", "unik", "-b", "unik_buildpack"}},
		{"unknown flags pass through", []string{"web", "--some-future-flag", "-x"},
			[]string{"push", "web", "--some-future-flag", "-x", "-s", "unik", "-b", "unik_buildpack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PushArgs(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("PushArgs(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPushArgsRefusals(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{}, "APP_NAME"},
		{[]string{"-b", "go_buildpack"}, "APP_NAME"},
		{[]string{"web", "-s", "cflinuxfs4"}, "-s cflinuxfs4 is refused: UniK apps run on stack unik"},
		{[]string{"web", "--stack=cflinuxfs4"}, "--stack=cflinuxfs4 is refused"},
		{[]string{"web", "-scflinuxfs4"}, "-scflinuxfs4 is refused"},
		{[]string{"web", "-o", "nginx"}, "-o nginx is refused: UniK runs buildpack apps, not Docker images"},
		{[]string{"web", "--docker-image", "nginx"}, "not Docker images"},
		{[]string{"web", "--docker-username", "me"}, "not Docker images"},
		{[]string{"web", "--droplet", "d.tgz"}, "--droplet d.tgz is refused"},
		{[]string{"web", "--lifecycle", "cnb"}, "needs the buildpack lifecycle"},
		{[]string{"web", "-b", "null"}, "auto-detection cannot be combined"},
		{[]string{"web", "-b", "default"}, "auto-detection cannot be combined"},
		{[]string{"web", "-b"}, "flag -b needs a value"},
	}
	for _, tt := range tests {
		_, err := PushArgs(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("PushArgs(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}
