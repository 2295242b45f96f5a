package cli_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/kernel"
)

// These tests boot real microVMs (QEMU; TCG when KVM cannot run guests) through the unik
// command line, run in-process. As root they use a real bridge, taps and nftables.

func TestBootAnswersHTTPWithSeparateLogsAndStops(t *testing.T) {
	h := newVMHost(t)
	out := h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	if !strings.HasPrefix(out, "hello sha256:") {
		t.Fatalf("build printed %q", out)
	}
	r := h.run("hello")
	if r.ID == "" || r.HostPort == 0 || !strings.HasPrefix(r.URL, "http://127.0.0.1:") {
		t.Fatalf("run --json gave %+v", r)
	}
	code, body := get(t, r.URL+"/")
	if code != 200 || !strings.Contains(body, "hello from unik") {
		t.Fatalf("GET / = %d %q", code, body)
	}
	row := h.state(r.ID)
	if row.State != "running" || (row.Accel != "tcg" && row.Accel != "kvm") || row.PID == 0 {
		t.Fatalf("ps: %+v", row)
	}
	table := h.must("ps")
	for _, want := range []string{r.ID, "hello", "running", r.GuestIP, row.Accel} {
		if !strings.Contains(table, want) {
			t.Errorf("ps table lacks %q:\n%s", want, table)
		}
	}
	logs := h.must("logs", r.ID)
	if !strings.Contains(logs, "OUT hello-go: listening on :8080\n") || !strings.Contains(logs, "ERR hello-go: stderr is separate\n") {
		t.Fatalf("logs do not keep stdout and stderr apart:\n%s", logs)
	}
	if strings.Contains(logs, "OUT hello-go: stderr") || strings.Contains(logs, "ERR hello-go: listening") {
		t.Fatalf("a line is on the wrong stream:\n%s", logs)
	}
	if r := h.unik("rm", r.ID); r.code == 0 || !strings.Contains(r.stderr, "running") {
		t.Fatalf("rm of a running instance: exit %d, %q", r.code, r.stderr)
	}
	h.must("stop", r.ID)
	stopped := h.waitState(r.ID, "stopped", 30*time.Second)
	if stopped.ExitCode == nil || *stopped.ExitCode != 143 {
		t.Fatalf("a stopped Go app exits on SIGTERM (143), got %+v", stopped)
	}
	h.must("rm", r.ID)
	if rows := h.ps(); len(rows) != 0 {
		t.Fatalf("ps after rm: %+v", rows)
	}
}

func TestAppExitCodeIsShown(t *testing.T) {
	h := newVMHost(t)
	h.must("build", filepath.Join(h.repo, "examples/exit-code"), "--name", "exits")
	r := h.unik("run", "exits")
	if r.code == 0 || !strings.Contains(r.stderr, "exited(3)") {
		t.Fatalf("run of an app that exits 3: exit %d, stderr %q", r.code, r.stderr)
	}
	rows := h.ps()
	if len(rows) != 1 || rows[0].State != "exited" || rows[0].ExitCode == nil || *rows[0].ExitCode != 3 {
		t.Fatalf("ps: %+v", rows)
	}
	if table := h.must("ps"); !strings.Contains(table, "exited(3)") {
		t.Fatalf("ps table does not say exited(3):\n%s", table)
	}
	for _, args := range [][]string{{"logs", rows[0].ID}, {"logs", "-f", rows[0].ID[:6]}} {
		logs := h.must(args...) // -f returns because the instance has ended
		if !strings.Contains(logs, "OUT exit-code: stdout line") || !strings.Contains(logs, "ERR exit-code: stderr line") {
			t.Fatalf("%v: %q", args, logs)
		}
	}
}

func TestEnvReachesTheAppButNoCommandLineOrFile(t *testing.T) {
	h := newVMHost(t)
	h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	secret := "s3cr3t-" + filepath.Base(h.stateDir)
	r := h.run("hello", "--env", "DB_PASSWORD="+secret, "--env", "GREETING=hi there")
	if _, body := get(t, r.URL+"/env?name=DB_PASSWORD"); !strings.Contains(body, secret) {
		t.Fatalf("the app did not get DB_PASSWORD: %q", body)
	}
	if _, body := get(t, r.URL+"/env?name=GREETING"); !strings.Contains(body, "hi there") {
		t.Fatalf("the app did not get GREETING: %q", body)
	}
	h.assertSecretsOnlyInTheVM(r.ID, secret)
}

// Secrets given through --env-file and --env NAME (value from unik's own environment) reach the
// app, and are on no command line: not unik's, not QEMU's.
func TestEnvFileAndInheritedEnvKeepSecretsOffArgv(t *testing.T) {
	h := newVMHost(t)
	h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	fileSecret, envSecret := "f1le-"+filepath.Base(h.stateDir), "inh3rited-"+filepath.Base(h.stateDir)
	envFile := filepath.Join(t.TempDir(), "app.env")
	content := "# the app's secrets\n\nDB_PASSWORD=" + fileSecret + "\nGREETING=from the file\n"
	if err := os.WriteFile(envFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["UNIK_TEST_API_TOKEN"] = envSecret
	args := []string{"hello", "--env-file", envFile, "--env", "UNIK_TEST_API_TOKEN", "--env", "GREETING=from argv"}
	for _, a := range args {
		if strings.Contains(a, fileSecret) || strings.Contains(a, envSecret) {
			t.Fatalf("the test put a secret on unik's argv: %q", a)
		}
	}
	r := h.run(args...)
	for name, want := range map[string]string{"DB_PASSWORD": fileSecret, "UNIK_TEST_API_TOKEN": envSecret, "GREETING": "from argv"} {
		if _, body := get(t, r.URL+"/env?name="+name); !strings.Contains(body, want) {
			t.Errorf("the app's %s is %q, want %q", name, body, want)
		}
	}
	h.assertSecretsOnlyInTheVM(r.ID, fileSecret, envSecret)
}

// assertSecretsOnlyInTheVM: no secret on QEMU's command line or in a file under the state dir
// (the initrd that carried them is gone once the VM runs), and instance files are private.
func (h *vmHost) assertSecretsOnlyInTheVM(id string, secrets ...string) {
	t := h.t
	t.Helper()
	row := h.state(id)
	cmdline, err := os.ReadFile(filepath.Join("/proc", itoa(row.PID), "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cmdline), "-append") {
		t.Fatalf("QEMU's command line was not read: %q", cmdline)
	}
	for _, s := range secrets {
		if strings.Contains(string(cmdline), s) {
			t.Errorf("a secret is on QEMU's command line: %q", cmdline)
		}
	}
	err = filepath.WalkDir(h.stateDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		for _, s := range secrets {
			if err == nil && strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret", p)
			}
		}
		if info, err := d.Info(); err == nil && info.Mode().Perm()&0o004 != 0 && strings.Contains(p, "instances") {
			t.Errorf("%s is world-readable", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(h.stateDir, "instances"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("instances dir mode: %v, %v", st.Mode(), err)
	}
}

func TestVMKilledFromOutsideIsCrashed(t *testing.T) {
	h := newVMHost(t)
	h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	r := h.run("hello")
	row := h.state(r.ID)
	if err := syscall.Kill(row.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	crashed := h.waitState(r.ID, "crashed", 10*time.Second)
	if crashed.ExitCode != nil || !strings.Contains(crashed.Reason, "without an exit status") {
		t.Fatalf("crashed instance: %+v", crashed)
	}
	h.must("rm", r.ID)
}

func TestUserModeNetworking(t *testing.T) {
	h := newVMHost(t)
	h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	h.env["UNIK_NET"] = "user"
	u := h.run("hello")
	if code, body := get(t, u.URL+"/"); code != 200 || !strings.Contains(body, "hello from unik") {
		t.Fatalf("user-mode GET / = %d %q", code, body)
	}
	if u.GuestIP != "10.0.2.15" {
		t.Fatalf("user-mode guest ip %s, want 10.0.2.15", u.GuestIP)
	}
}

func TestFallbackKernelBoots(t *testing.T) {
	h := newVMHost(t)
	k, err := fallbackKernel()
	if err != nil {
		t.Fatalf("Debian cloud kernel missing: run scripts/setup (%v)", err)
	}
	h.env["UNIK_KERNEL"] = k
	h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	r := h.run("hello")
	if code, _ := get(t, r.URL+"/"); code != 200 {
		t.Fatalf("GET / on the fallback kernel = %d", code)
	}
	if out := h.must("info"); !strings.Contains(out, "kernel_fallback: true") || !strings.Contains(out, "debian-cloud") {
		t.Fatalf("info does not name the fallback kernel:\n%s", out)
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	h := newVMHost(t)
	// not an ELF
	script := t.TempDir()
	os.WriteFile(filepath.Join(script, "start.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.WriteFile(filepath.Join(script, "Procfile"), []byte("web: ./start.sh\n"), 0o644)
	if r := h.unik("build", script, "--name", "script"); r.code != 1 || !strings.Contains(r.stderr, "not a Linux ELF") {
		t.Fatalf("build of a shell script: exit %d, %q", r.code, r.stderr)
	}
	// a start command that needs a shell
	if r := h.unik("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "piped", "--start-command", "./hello-go | tee log"); r.code != 1 || !strings.Contains(r.stderr, "pipe") {
		t.Fatalf("build with a pipe: exit %d, %q", r.code, r.stderr)
	}
	if out := h.must("images", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("failed builds stored images: %s", out)
	}
	// unknown image
	if r := h.unik("run", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "image not found") {
		t.Fatalf("run of an unknown image: exit %d, %q", r.code, r.stderr)
	}
	// host port taken
	h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := itoa(l.Addr().(*net.TCPAddr).Port)
	if r := h.unik("run", "--port", port+":8080", "hello"); r.code != 1 || !strings.Contains(r.stderr, "already in use") {
		t.Fatalf("run on a taken port: exit %d, %q", r.code, r.stderr)
	}
	// corrupt image
	blobs, _ := filepath.Glob(filepath.Join(h.stateDir, "blobs", "sha256-*.cpio"))
	if len(blobs) != 1 {
		t.Fatalf("blobs: %v", blobs)
	}
	f, err := os.OpenFile(blobs[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("corrupt"), 4096)
	f.Close()
	if r := h.unik("run", "hello"); r.code != 1 || !strings.Contains(r.stderr, "corrupt") {
		t.Fatalf("run of a corrupt image: exit %d, %q", r.code, r.stderr)
	}
	// bad flags
	if r := h.unik("run", "--env", "NOEQUALS", "hello"); r.code != 2 {
		t.Fatalf("run --env NOEQUALS: exit %d, %q", r.code, r.stderr)
	}
	if r := h.unik("run", "--port", "x:y", "hello"); r.code != 2 {
		t.Fatalf("run --port x:y: exit %d, %q", r.code, r.stderr)
	}
	if r := h.unik("rm", "../../etc"); r.code != 1 || !strings.Contains(r.stderr, "not an instance id") {
		t.Fatalf("rm ../../etc: exit %d, %q", r.code, r.stderr)
	}
	// nothing changed: no instance, no leftovers
	if rows := h.ps(); len(rows) != 0 {
		t.Fatalf("ps after refused runs: %+v", rows)
	}
	h.assertNoLeftovers(nil)
}

func TestRunRmCyclesLeaveNothingBehind(t *testing.T) {
	h := newVMHost(t)
	h.must("build", filepath.Join(h.repo, "examples/hello-go"), "--name", "hello")
	ids := map[string]bool{}
	for i := 0; i < 20; i++ {
		r := h.run("hello")
		ids[r.ID] = true
		if code, _ := get(t, r.URL+"/"); code != 200 {
			t.Fatalf("cycle %d: GET = %d", i, code)
		}
		if i%2 == 0 {
			h.must("stop", r.ID)
			h.must("rm", r.ID)
		} else {
			h.must("rm", "-f", r.ID)
		}
	}
	h.assertNoLeftovers(ids)
}

// assertNoLeftovers: no QEMU of these instances, no tap, rule, lease or instance file.
func (h *vmHost) assertNoLeftovers(ids map[string]bool) {
	t := h.t
	t.Helper()
	if ids != nil {
		if procs := qemuProcesses(ids); len(procs) != 0 {
			t.Errorf("QEMU processes left: %v", procs)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(h.stateDir, "instances"))
	if len(entries) != 0 {
		t.Errorf("instance directories left: %d", len(entries))
	}
	if os.Geteuid() != 0 {
		return
	}
	n, err := h.network()
	if err != nil {
		t.Fatal(err)
	}
	left, err := n.Leftovers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !left.Empty() {
		t.Errorf("network leftovers: %+v", left)
	}
	atts, err := n.Attachments()
	if err != nil || len(atts) != 0 {
		t.Errorf("attachments left: %v %v", atts, err)
	}
	links, _ := net.Interfaces()
	for _, l := range links {
		for id := range ids {
			if strings.HasPrefix(l.Name, "uk"+id[:min(12, len(id))]) {
				t.Errorf("tap %s left", l.Name)
			}
		}
	}
}

func fallbackKernel() (string, error) {
	dirs, _ := filepath.Glob(filepath.Join(kernel.DefaultCacheDir(), "debian-cloud/*/kernel.json"))
	if len(dirs) == 0 {
		return "", errors.New("no debian-cloud kernel in the cache")
	}
	return filepath.Dir(dirs[len(dirs)-1]), nil
}

func itoa(n int) string { return strconv.Itoa(n) }
