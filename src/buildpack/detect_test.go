package buildpack

import (
	"errors"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string // reason, or "!" + part of the failure message
	}{
		{"go source", map[string]string{"go.mod": "module x\n", "Procfile": "web: ./x\n"}, "Go source app (go.mod)"},
		{"procfile", map[string]string{"Procfile": "worker: ./w\nweb:   './srv --port 1'  \n"}, "Procfile web: ./srv --port 1"},
		{"program", map[string]string{"x:server": "elf", "x:zz": "elf", "README": "hi"}, "Linux program ./server"},
		{"script", map[string]string{"x:start.sh": "#!/bin/sh\n"}, "!no go.mod, no Procfile and no executable"},
		{"program without exec bit", map[string]string{"server": "elf"}, "!no executable Linux"},
		{"procfile without web", map[string]string{"Procfile": "worker: ./w\n"}, "!a Procfile without a web: line"},
		{"empty", nil, "!" + unsupportedHint},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reason, err := Detect(files(t, t.TempDir(), c.files))
			if want, ok := strings.CutPrefix(c.want, "!"); ok {
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), want) {
					t.Fatalf("Detect = %q, %v; want ErrUnsupported saying %q", reason, err, want)
				}
				return
			}
			if err != nil || reason != c.want {
				t.Fatalf("Detect = %q, %v; want %q", reason, err, c.want)
			}
		})
	}
}
