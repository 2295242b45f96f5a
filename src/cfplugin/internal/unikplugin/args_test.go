package unikplugin

import (
	"errors"
	"strings"
	"testing"
)

func TestFlagSetParse(t *testing.T) {
	p, err := disableFlags.parse(CmdDisable, []string{"--restage", "web", "-s", "cflinuxfs3"})
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := p.oneApp(CmdDisable); name != "web" || !p.bools["restage"] || p.values["stack"] != "cflinuxfs3" {
		t.Errorf("parsed %+v", p)
	}
	p, _ = disableFlags.parse(CmdDisable, []string{"web", "--stack=cflinuxfs4"})
	if p.values["stack"] != "cflinuxfs4" {
		t.Errorf("--stack=: parsed %+v", p)
	}
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"web", "--bogus"}, `unknown flag "--bogus"`},
		{[]string{"web", "--stack"}, "flag --stack needs a value"},
		{[]string{"web", "--restage=yes"}, "takes no value"},
	} {
		_, err := disableFlags.parse(CmdDisable, tt.argv)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "cf disable-unik APP_NAME") {
			t.Errorf("parse(%q) = %v, want a usage error with %q", tt.argv, err, tt.want)
		}
	}
	p, _ = enableFlags.parse(CmdEnable, []string{"a", "b"})
	if _, err := p.oneApp(CmdEnable); err == nil || !strings.Contains(err.Error(), `unexpected argument "b"`) {
		t.Errorf("two apps: %v", err)
	}
}
