package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/hypervisor"
)

func TestDerive(t *testing.T) {
	cases := []struct {
		name    string
		alive   bool
		st      string
		stopReq bool
		want    State
	}{
		{"booting", true, ``, false, StateBooting},
		{"running", true, `{"event":"started","pid":9}`, false, StateRunning},
		{"exited", false, `{"event":"started"}` + "\n" + `{"event":"exited","exit_code":3}`, false, StateExited},
		{"stopped by init", false, `{"event":"exited","exit_code":143,"signal":"SIGTERM","stopped":true}`, false, StateStopped},
		{"stopped by force", false, `{"event":"started"}`, true, StateStopped},
		{"init error", false, `{"event":"init-error","error":"start command: x not found"}`, false, StateFailed},
		{"crashed", false, `{"event":"started"}`, false, StateCrashed},
		{"crashed mid-line", false, `{"event":"started"}` + "\n" + `{"event":"exi`, false, StateCrashed},
	}
	for _, c := range cases {
		st := guestinit.ReadStatus(strings.NewReader(c.st))
		if got, _ := derive(c.alive, st, c.stopReq); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestDisplay(t *testing.T) {
	three := 3
	if got := (Info{State: StateExited, ExitCode: &three}).Display(); got != "exited(3)" {
		t.Errorf("got %s", got)
	}
	if got := (Info{State: StateRunning}).Display(); got != "running" {
		t.Errorf("got %s", got)
	}
}

func TestRunSpecValidate(t *testing.T) {
	ok := RunSpec{}
	ok.Image.Payload = "/x"
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.MemoryMB = 16
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("memory: %v", err)
	}
	bad = ok
	bad.Env = []string{"=x"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "env[0]") {
		t.Errorf("env: %v", err)
	}
}

func TestResolveRejectsMalformedRefs(t *testing.T) {
	e, err := New(Config{StateDir: t.TempDir()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"", "../etc", "ABC", "0123456789abc"} {
		if _, err := e.Resolve(ref); err == nil {
			t.Errorf("Resolve(%q) accepted", ref)
		}
	}
}

func TestResolvePrefixes(t *testing.T) {
	state := t.TempDir()
	e, err := New(Config{StateDir: state}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"abc123000000", "abc124000000", "def000000000"} {
		if err := os.Mkdir(filepath.Join(state, "instances", id), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		ref, want, err string
	}{
		{"abc123000000", "abc123000000", ""},
		{"abc123", "abc123000000", ""},
		{"d", "def000000000", ""},
		{"abc12", "", "matches 2 instances"},
		{"abc", "", "matches 2 instances"},
		{"fff", "", "see `unik ps`"},
	}
	for _, tc := range cases {
		got, err := e.Resolve(tc.ref)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrNoInstance) {
				t.Errorf("Resolve(%q) = %q, %v; want an error with %q", tc.ref, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}

func TestReadStatusAcrossARotatedRing(t *testing.T) {
	d := instanceDir{hypervisor.Dir(t.TempDir())}
	ring := d.Log(guestinit.PortStatus)
	os.WriteFile(ring.Previous, []byte(`{"event":"started","pid":9}`+"\n"+`{"event":"exi`), 0o600)
	os.WriteFile(ring.Current, []byte(`ted","exit_code":3}`+"\n"), 0o600)
	st := readStatus(ring)
	if !st.Started || !st.Exited || st.ExitCode != 3 {
		t.Fatalf("%+v", st)
	}
	if st := readStatus(d.Log("absent")); st.Started || st.Exited {
		t.Fatalf("a missing ring: %+v", st)
	}
}
