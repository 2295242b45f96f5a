package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/cli"
	"github.com/unik-cf/unik/src/internal/repotest"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

// vmHost is a private unik world for one test: its own state dir, bridge, table, subnet and
// port range, so tests neither see nor disturb a real installation.
type vmHost struct {
	t        *testing.T
	repo     string
	env      map[string]string
	stateDir string
}

var hostSeq = 0

func newVMHost(t *testing.T) *vmHost {
	t.Helper()
	repo := repotest.MustRoot(t)
	need := []string{filepath.Join(repo, "bin", "unik-init"), filepath.Join(repo, "bin", "unik-shim"), filepath.Join(repo, "examples", "hello-go", "hello-go"),
		filepath.Join(repo, "examples", "exit-code", "exit-code")}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is missing: run scripts/setup first (%v)", p, err)
		}
	}
	if _, err := kernel.Find(kernel.DefaultCacheDir(), ""); err != nil {
		t.Fatalf("no guest kernel: run scripts/setup first (%v)", err)
	}
	hostSeq++
	n := os.Getpid()%50 + hostSeq
	h := &vmHost{t: t, repo: repo, stateDir: t.TempDir(), env: map[string]string{
		"UNIK_INIT":   filepath.Join(repo, "bin", "unik-init"),
		"UNIK_SHIM":   filepath.Join(repo, "bin", "unik-shim"),
		"UNIK_BRIDGE": fmt.Sprintf("ukcli%d", n),
		"UNIK_TABLE":  fmt.Sprintf("unikcli%d", n),
		"UNIK_SUBNET": fmt.Sprintf("10.213.%d.0/24", 100+n),
		"UNIK_PORTS":  fmt.Sprintf("%d-%d", 41000+n*100, 41000+n*100+99),
	}}
	h.env["UNIK_STATE_DIR"] = h.stateDir
	t.Cleanup(h.cleanup)
	return h
}

type result struct {
	code           int
	stdout, stderr string
}

func (h *vmHost) unik(args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := cli.Main(ctx, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Args: args,
		Getenv: func(k string) string {
			if v, ok := h.env[k]; ok {
				return v
			}
			return os.Getenv(k)
		}})
	return result{code, out.String(), errb.String()}
}

// must runs a command that has to succeed.
func (h *vmHost) must(args ...string) string {
	h.t.Helper()
	r := h.unik(args...)
	if r.code != 0 {
		h.t.Fatalf("unik %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

type runOut struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	HostPort int    `json:"host_port"`
	Accel    string `json:"accel"`
	GuestIP  string `json:"guest_ip"`
}

func (h *vmHost) run(args ...string) runOut {
	h.t.Helper()
	var o runOut
	out := h.must(append([]string{"run", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		h.t.Fatalf("run --json printed %q: %v", out, err)
	}
	return o
}

type psRow struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	ExitCode *int   `json:"exit_code"`
	Reason   string `json:"reason"`
	PID      int    `json:"pid"`
	Accel    string `json:"accel"`
}

func (h *vmHost) ps() []psRow {
	h.t.Helper()
	var rows []psRow
	if err := json.Unmarshal([]byte(h.must("ps", "--json")), &rows); err != nil {
		h.t.Fatal(err)
	}
	return rows
}

func (h *vmHost) state(id string) psRow {
	h.t.Helper()
	for _, r := range h.ps() {
		if r.ID == id {
			return r
		}
	}
	h.t.Fatalf("instance %s not in ps", id)
	return psRow{}
}

// waitState polls ps until the instance reaches want.
func (h *vmHost) waitState(id, want string, timeout time.Duration) psRow {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := h.state(id)
		if r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("instance %s is %s (%s) after %s, want %s", id, r.State, r.Reason, timeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cleanup removes every instance and, as root, the test's bridge and table.
func (h *vmHost) cleanup() {
	r := h.unik("ps", "--json")
	var rows []psRow
	_ = json.Unmarshal([]byte(r.stdout), &rows)
	for _, row := range rows {
		h.unik("rm", "-f", row.ID)
	}
	if os.Geteuid() == 0 {
		if n, err := h.network(); err == nil {
			_ = n.Teardown(context.Background())
			// the bridge's host-wide lease store (only this test used the bridge)
			_ = os.RemoveAll(filepath.Join(n.Config().RunDir, h.env["UNIK_BRIDGE"]))
		}
	}
}

func (h *vmHost) network() (*network.Network, error) {
	return network.New(network.Config{StateDir: filepath.Join(h.stateDir, "network"), Bridge: h.env["UNIK_BRIDGE"],
		Table: h.env["UNIK_TABLE"], Subnet: mustPrefix(h.env["UNIK_SUBNET"]), PortRange: ports(h.env["UNIK_PORTS"])})
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func ports(s string) [2]uint16 {
	var a, b uint16
	fmt.Sscanf(s, "%d-%d", &a, &b)
	return [2]uint16{a, b}
}

// qemuProcesses lists running QEMU processes of the given instance ids (any id when ids is nil).
func qemuProcesses(ids map[string]bool) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			name, ok := strings.CutPrefix(arg, "unik-")
			if !ok || !strings.HasSuffix(name, ",debug-threads=off") {
				continue
			}
			id := strings.TrimSuffix(name, ",debug-threads=off")
			if ids == nil || ids[id] {
				out = append(out, p+" "+id)
			}
		}
	}
	return out
}
