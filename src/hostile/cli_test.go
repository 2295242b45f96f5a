package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/cli"
	"github.com/unik-cf/unik/src/internal/repotest"
	"github.com/unik-cf/unik/src/network"
)

// cliHost is one unik CLI state directory, run in-process.
type cliHost struct {
	stateDir string
	env      map[string]string
}

func cliNewHost(t *testing.T, shared map[string]string) *cliHost {
	t.Helper()
	h := &cliHost{stateDir: t.TempDir(), env: map[string]string{}}
	for k, v := range shared {
		h.env[k] = v
	}
	h.env["UNIK_STATE_DIR"] = h.stateDir
	return h
}

// unik runs one command; it is safe to call from several goroutines.
func (h *cliHost) unik(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code = cli.Main(ctx, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Args: args,
		Getenv: func(k string) string {
			if v, ok := h.env[k]; ok {
				return v
			}
			return os.Getenv(k)
		}})
	return code, out.String(), errb.String()
}

func (h *cliHost) must(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := h.unik(args...)
	if code != 0 {
		t.Fatalf("unik %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

type cliRun struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	HostPort int    `json:"host_port"`
	GuestIP  string `json:"guest_ip"`
}

// Two CLI state directories used at once on one bridge: the bridge, its nftables tables, its
// subnet and the host ports are host-wide, so their leases must be too. Each instance gets its
// own address and port, both answer, and each state directory sees only its own instance.
func TestCliTwoStateDirsOnOneBridgeNeverShare(t *testing.T) {
	repo := netRequireVMs(t)
	netLockHost(t)
	suffix := netRandomHex(t, 3)
	ports := netFreeRange(t)
	shared := map[string]string{
		"UNIK_INIT": filepath.Join(repo, "bin", "unik-init"), "UNIK_NET": "bridge",
		"UNIK_BRIDGE": "ukh" + suffix, "UNIK_TABLE": "unikh" + suffix,
		"UNIK_SUBNET": netFreeSubnet(t).String(), "UNIK_PORTS": fmt.Sprintf("%d-%d", ports[0], ports[1]),
	}
	hosts := []*cliHost{cliNewHost(t, shared), cliNewHost(t, shared)}
	t.Cleanup(func() { cliTeardown(t, hosts) })
	for _, h := range hosts {
		h.must(t, "build", filepath.Join(repo, "examples", "hello-go"), "--name", "hello")
	}

	runs := make([]cliRun, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			code, out, stderr := h.unik("run", "--json", "hello")
			if code != 0 {
				errs[i] = fmt.Errorf("state dir %d: unik run: exit %d: %s", i, code, stderr)
				return
			}
			errs[i] = json.Unmarshal([]byte(out), &runs[i])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if runs[0].GuestIP == runs[1].GuestIP || runs[0].HostPort == runs[1].HostPort {
		t.Errorf("two state dirs share an address or a port: %+v and %+v", runs[0], runs[1])
	}
	for i, r := range runs {
		if _, err := netGet(r.URL+"/", 10*time.Second); err != nil {
			t.Errorf("state dir %d's instance: %v", i, err)
		}
		if _, err := netGet(fmt.Sprintf("http://%s:8080/", r.GuestIP), 10*time.Second); err != nil {
			t.Errorf("state dir %d's instance on its address: %v", i, err)
		}
		var rows []struct{ ID string }
		if err := json.Unmarshal([]byte(hosts[i].must(t, "ps", "--json")), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].ID != r.ID {
			t.Errorf("state dir %d lists %+v, want only %s", i, rows, r.ID)
		}
	}
	// the leases of both live in the one store of the bridge
	leases, err := os.ReadDir(filepath.Join(network.DefaultRunDir, shared["UNIK_BRIDGE"], "leases"))
	if err != nil {
		t.Fatal(err)
	}
	holders := map[string]int{}
	for _, l := range leases {
		b, err := os.ReadFile(filepath.Join(network.DefaultRunDir, shared["UNIK_BRIDGE"], "leases", l.Name()))
		if err != nil {
			t.Fatal(err)
		}
		holders[string(b)]++
	}
	if holders[runs[0].ID] != 2 || holders[runs[1].ID] != 2 {
		t.Errorf("the bridge's store holds leases %v, want an address and a port for each of %s and %s",
			holders, runs[0].ID, runs[1].ID)
	}
	// one state dir removing its instance leaves the other's alone
	hosts[0].must(t, "rm", "-f", runs[0].ID)
	if _, err := netGet(runs[1].URL+"/", 10*time.Second); err != nil {
		t.Errorf("after the other state dir's rm: %v", err)
	}
}

// cliTeardown removes the instances of every state dir, then the bridge, its tables and store.
func cliTeardown(t *testing.T, hosts []*cliHost) {
	for _, h := range hosts {
		_, out, _ := h.unik("ps", "--json")
		var rows []struct{ ID string }
		_ = json.Unmarshal([]byte(out), &rows)
		for _, r := range rows {
			if code, _, stderr := h.unik("rm", "-f", r.ID); code != 0 {
				t.Errorf("cleanup: rm %s: %s", r.ID, stderr)
			}
		}
	}
	e := hosts[0].env
	n, err := network.New(network.Config{Mode: network.ModeBridge, StateDir: filepath.Join(hosts[0].stateDir, "network"),
		Bridge: e["UNIK_BRIDGE"], Table: e["UNIK_TABLE"]})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	if err := n.Teardown(context.Background()); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(network.DefaultRunDir, e["UNIK_BRIDGE"])); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// An image holds the app's files; another local user must not read them, even when the state
// directory itself is world-traversable.
func TestCliImageBlobsUnreadableByOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this case needs root to play another user: run `sudo go test ./src/hostile/`")
	}
	repo := repotest.MustRoot(t)
	h := cliNewHost(t, map[string]string{"UNIK_INIT": filepath.Join(repo, "bin", "unik-init")})
	// t.TempDir and its parent are 0700: open both as an operator's /var/lib/unik would be
	for _, d := range []string{filepath.Dir(h.stateDir), h.stateDir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.must(t, "build", filepath.Join(repo, "examples", "hello-go"), "--name", "hello")
	var files []string
	err := filepath.WalkDir(h.stateDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && (strings.Contains(p, "/blobs/") || strings.Contains(p, "/images/")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 2 {
		t.Fatalf("image files %v, %v", files, err)
	}
	for _, f := range files {
		cmd := exec.Command("cat", f)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("user nobody read %s: %v, %.80q", f, err, out)
		}
	}
}
