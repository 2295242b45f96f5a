//go:build linux

package guestinit

import (
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/image"
)

func TestAppIdentityIsTheCells(t *testing.T) {
	if AppUID != image.VcapUID || AppGID != image.VcapGID || AppUser != image.VcapUser {
		t.Fatalf("init runs apps as %s %d:%d, the image builder makes them %s %d:%d",
			AppUser, AppUID, AppGID, image.VcapUser, image.VcapUID, image.VcapGID)
	}
	cases := []struct {
		name string
		m    Manifest
		note bool
	}{
		{"vcap, as built", Manifest{User: "vcap", UID: 2000, GID: 2000}, false},
		{"root", Manifest{User: "root", UID: 0, GID: 0}, true},
		{"uid 0 under vcap's name", Manifest{User: "vcap", UID: 0, GID: 2000}, true},
		{"gid 0", Manifest{User: "vcap", UID: 2000, GID: 0}, true},
		{"another user", Manifest{User: "admin", UID: 2000, GID: 2000}, true},
		{"no identity at all", Manifest{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.m.StartCommand, c.m.WorkDir = "./app", "/home/vcap/app"
			got, note := appIdentity(c.m)
			if got.UID != 2000 || got.GID != 2000 || got.User != "vcap" {
				t.Errorf("identity %s %d:%d, want vcap 2000:2000", got.User, got.UID, got.GID)
			}
			if (note != "") != c.note || (c.note && !strings.Contains(note, "ignored")) {
				t.Errorf("console note %q, want one: %v", note, c.note)
			}
			env := appEnv(got, Config{})
			if env["USER"] != "vcap" {
				t.Errorf("USER=%s", env["USER"])
			}
		})
	}
}
