package hostile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/internal/repotest"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
	"github.com/unik-cf/unik/src/vmlog"
)

// dropletProbeSource is the tenant's app: it says who it runs as and what it sees of the
// cell's part of the guest, then exits 0.
const dropletProbeSource = `package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"syscall"
)

func main() {
	groups, _ := os.Getgroups()
	fmt.Printf("uid=%d gid=%d euid=%d egid=%d groups=%v\n", os.Getuid(), os.Getgid(), os.Geteuid(), os.Getegid(), groups)
	if b, err := os.ReadFile("/init"); err == nil {
		fmt.Printf("init=%x\n", sha256.Sum256(b))
	} else {
		fmt.Printf("init=unreadable (%v)\n", err)
	}
	_, err := os.Lstat("/unik/config.json")
	fmt.Printf("config-present=%v\n", err == nil)
	var st syscall.Stat_t
	if syscall.Lstat("/unik", &st) == nil {
		fmt.Printf("unik=%d:%o\n", st.Uid, st.Mode)
	}
	if b, err := os.ReadFile("/etc/passwd"); err == nil {
		fmt.Printf("passwd=%q\n", b)
	}
}
`

// dropletEvilInitSource is the init a tenant would like to run as PID 1: it shouts on the
// console and resets the machine.
const dropletEvilInitSource = `package main

import (
	"os"
	"syscall"
)

func main() {
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		f.WriteString("PWNED: the tenant's init runs as PID 1\n")
	}
	os.Stdout.WriteString("PWNED\n")
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
	select {}
}
`

// dropletBuild compiles a one-file Go program, static, and returns its bytes.
func dropletBuild(t *testing.T, source string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", "prog", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build a test program: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dropletCell is the cell's side: its guest init and an engine in user-mode networking (no
// host ports: the probe only prints), in the test's own state directory.
type dropletCell struct {
	initPath string
	initSum  string // hex sha256 of the cell's init
	engine   *engine.Engine
}

func newDropletCell(t *testing.T) *dropletCell {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the hostile suite runs as root (it boots VMs as the cell does)")
	}
	repo := repotest.MustRoot(t)
	initPath := filepath.Join(repo, "bin", "unik-init")
	b, err := os.ReadFile(initPath)
	if err != nil {
		t.Fatalf("%s is missing: run scripts/setup first (%v)", initPath, err)
	}
	if _, err := kernel.Find(kernel.DefaultCacheDir(), os.Getenv("UNIK_KERNEL")); err != nil {
		t.Fatalf("no guest kernel: run scripts/setup first (%v)", err)
	}
	state := t.TempDir()
	n, err := network.New(network.Config{Mode: network.ModeUser, StateDir: filepath.Join(state, "network"),
		HostIP: netip.MustParseAddr("127.0.0.1"), PortRange: [2]uint16{1024, 65535}})
	if err != nil {
		t.Fatal(err)
	}
	accel := os.Getenv("UNIK_ACCEL")
	if accel == "" {
		accel = "auto"
	}
	e, err := engine.New(engine.Config{StateDir: state, CacheDir: kernel.DefaultCacheDir(), KernelDir: os.Getenv("UNIK_KERNEL"),
		InitPath: initPath, Accel: accel}, qemu.Driver{}, n)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return &dropletCell{initPath: initPath, initSum: hex.EncodeToString(sum[:]), engine: e}
}

// dropletServe serves a file over HTTP, as the blobstore serves droplets.
func dropletServe(t *testing.T, path string) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) }))
	t.Cleanup(s.Close)
	return s.URL
}

// dropletRun is what came out of one boot.
type dropletRun struct {
	info            engine.Info
	stdout, console string
}

// run boots spec's image, waits until the VM has ended and returns its state and output. The
// instance is removed when the test ends.
func (c *dropletCell) run(t *testing.T, spec engine.RunSpec) dropletRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	info, err := c.engine.Run(ctx, spec)
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	t.Cleanup(func() {
		if err := c.engine.Remove(context.Background(), info.ID, true); err != nil {
			t.Errorf("remove instance %s: %v", info.ID, err)
		}
	})
	for {
		cur, err := c.engine.Get(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.State != engine.StateBooting && cur.State != engine.StateRunning {
			info = cur
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("instance %s still %s after 3 minutes", info.ID, cur.State)
		}
		time.Sleep(200 * time.Millisecond) // polling the VM's state, as `unik ps` would
	}
	paths, err := c.engine.LogPaths(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := vmlog.ReadAll(paths.Stdout)
	con, _ := vmlog.ReadAll(paths.Console)
	return dropletRun{info: info, stdout: string(out), console: string(con)}
}

// nothingEscaped checks a boot of a hostile image: the app ran and exited 0 as vcap, with no
// supplementary group; /init was the cell's init, not the tenant's; the config was gone and
// /unik root's; the console shows the cell's init at work and nothing of the tenant's init.
func (c *dropletCell) nothingEscaped(t *testing.T, r dropletRun) {
	t.Helper()
	ctx := "\n--- stdout:\n" + r.stdout + "\n--- console (tail):\n" + tail(r.console, 3000)
	if r.info.State != engine.StateExited || r.info.ExitCode == nil || *r.info.ExitCode != 0 {
		t.Fatalf("instance %s is %s (%s), want exited(0)%s", r.info.ID, r.info.Display(), r.info.Reason, ctx)
	}
	for _, want := range []string{"uid=2000 gid=2000 euid=2000 egid=2000 groups=[]\n", "init=" + c.initSum + "\n",
		"config-present=false\n", "unik=0:40755\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the app does not report %q%s", strings.TrimSpace(want), ctx)
		}
	}
	if strings.Contains(r.console, "PWNED") || strings.Contains(r.stdout, "PWNED") {
		t.Errorf("the tenant's init ran%s", ctx)
	}
	if !strings.Contains(r.console, "unik-init: powering off (app status 0)") {
		t.Errorf("the console does not show the cell's init%s", ctx)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
