package hostile

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/hypervisor/shim/cgroup"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/internal/repotest"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

// jailWorld is a private unik world for one jail case: its own state directory and engine
// (jail on), and in bridge mode its own bridge, table, subnet (10.213.210.0/24) and ports.
type jailWorld struct {
	t     *testing.T
	repo  string
	state string
	eng   *engine.Engine
	store imagestore.Store
	net   *network.Network
	cg    cgroup.Hierarchy
}

// jailNewWorld fails (never skips: CI runs as root with everything built) unless this host
// can boot jailed microVMs.
func jailNewWorld(t *testing.T, mode network.Mode) *jailWorld {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the jail cases need root (cgroups, namespaces, taps): run `sudo go test ./src/hostile/`")
	}
	repo := repotest.MustRoot(t)
	for _, p := range []string{"bin/unik-init", "bin/unik-shim", "examples/hello-go/hello-go", "examples/busy-loop/busy-loop"} {
		if _, err := os.Stat(filepath.Join(repo, p)); err != nil {
			t.Fatalf("%s is missing: run scripts/setup first (%v)", p, err)
		}
	}
	if _, err := kernel.Find(kernel.DefaultCacheDir(), ""); err != nil {
		t.Fatalf("no guest kernel: run scripts/setup first (%v)", err)
	}
	cg, err := cgroup.Host()
	if err != nil {
		t.Fatal(err)
	}
	// short: the monitor socket's path must fit a sockaddr_un (108 bytes)
	state, err := os.MkdirTemp("", "ujail")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	nc := network.Config{Mode: network.ModeUser, StateDir: filepath.Join(state, "network"),
		HostIP: netip.MustParseAddr("127.0.0.1"), PortRange: [2]uint16{43200, 43299}}
	if mode == network.ModeBridge {
		nc = network.Config{Mode: network.ModeBridge, StateDir: filepath.Join(state, "network"), Bridge: "ukjail0", Table: "unikjail",
			Subnet: netip.MustParsePrefix("10.213.210.0/24"), HostIP: netip.MustParseAddr("127.0.0.1"), PortRange: [2]uint16{43100, 43199}}
	}
	n, err := network.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{StateDir: state, CacheDir: kernel.DefaultCacheDir(), KernelDir: os.Getenv("UNIK_KERNEL"),
		InitPath: filepath.Join(repo, "bin", "unik-init"), ShimPath: filepath.Join(repo, "bin", "unik-shim"), Jail: "on",
		CgroupParent: "unik-hostile"}, qemu.Driver{}, n)
	if err != nil {
		t.Fatal(err)
	}
	w := &jailWorld{t: t, repo: repo, state: state, eng: eng, store: imagestore.Store{Dir: state}, net: n, cg: cg}
	t.Cleanup(w.cleanup)
	return w
}

func (w *jailWorld) cleanup() {
	vms, _ := w.eng.List()
	for _, v := range vms {
		if err := w.eng.Remove(context.Background(), v.ID, true); err != nil {
			w.t.Errorf("cleanup: %v", err)
		}
	}
	if w.net.Mode() == network.ModeBridge {
		_ = w.net.Teardown(context.Background())
	}
	if parent, err := w.cg.Group("unik-hostile"); err == nil {
		_ = parent.Remove() // fails, harmlessly, while another case's VMs are in it
	}
}

// jailImage builds an image from an app directory holding a Procfile.
func (w *jailWorld) jailImage(name, appDir string) imagestore.Image {
	w.t.Helper()
	tmp, err := w.store.TempFile()
	if err != nil {
		w.t.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	res, err := image.Build(context.Background(), image.BuildOptions{AppDir: appDir, InitPath: filepath.Join(w.repo, "bin", "unik-init")}, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.t.Fatalf("build %s: %v", name, err)
	}
	img, err := w.store.Put(name, tmp.Name(), res)
	if err != nil {
		w.t.Fatal(err)
	}
	return img
}

// jailHello is examples/hello-go as an image.
func (w *jailWorld) jailHello() imagestore.Image {
	return w.jailImage("hello", filepath.Join(w.repo, "examples", "hello-go"))
}

// jailGoApp compiles a one-file Go program (static) into an app directory and builds its
// image.
func (w *jailWorld) jailGoApp(name, source string) imagestore.Image {
	w.t.Helper()
	dir := w.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(source), 0o644); err != nil {
		w.t.Fatal(err)
	}
	app := filepath.Join(dir, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(app, name), filepath.Join(dir, "main.go"))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	if err := os.WriteFile(filepath.Join(app, "Procfile"), []byte("web: ./"+name+"\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return w.jailImage(name, app)
}

// jailRun boots spec and returns its instance.
func (w *jailWorld) jailRun(spec engine.RunSpec) engine.Info {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, err := w.eng.Run(ctx, spec)
	if err != nil {
		w.t.Fatalf("run %s: %v", spec.Image.Name, err)
	}
	return info
}

// jailURL is where the instance's port 8080 answers on the host.
func jailURL(t *testing.T, info engine.Info) string {
	t.Helper()
	for _, p := range info.Network.Ports {
		if p.GuestPort == 8080 {
			return fmt.Sprintf("http://%s:%d/", p.HostIP, p.HostPort)
		}
	}
	t.Fatalf("instance %s has no port 8080: %+v", info.ID, info.Network.Ports)
	return ""
}

// jailWaitHTTP polls url until it answers 200 (a readiness probe, like `unik run`'s).
func jailWaitHTTP(t *testing.T, url string, within time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %s: %v", url, within, err)
		}
		<-tick.C
	}
}

// jailStatus reads /proc/PID/status into a map.
func jailStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// jailCgroupOf is the path of pid's cgroup in the hierarchy holding controller (v1), or its
// one cgroup (v2), as /proc/PID/cgroup says.
func (w *jailWorld) jailCgroupOf(pid int, controller string) string {
	w.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		w.t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if w.cg.Version == cgroup.V2 && parts[0] == "0" {
			return filepath.Join(w.cg.Unified, parts[2])
		}
		for _, c := range strings.Split(parts[1], ",") {
			if w.cg.Version == cgroup.V1 && c == controller {
				return filepath.Join(w.cg.V1[controller], parts[2])
			}
		}
	}
	w.t.Fatalf("pid %d is in no %s cgroup:\n%s", pid, controller, b)
	return ""
}

// jailCgroupValue reads one control file of pid's cgroup (the v1 file name is mapped to its
// v2 counterpart on a v2 host).
func (w *jailWorld) jailCgroupValue(pid int, controller, v1File, v2File string) string {
	w.t.Helper()
	file := v1File
	if w.cg.Version == cgroup.V2 {
		file = v2File
	}
	b, err := os.ReadFile(filepath.Join(w.jailCgroupOf(pid, controller), file))
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// jailCPUTime is pid's user+system CPU time.
func jailCPUTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
