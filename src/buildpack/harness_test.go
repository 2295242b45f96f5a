package buildpack_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/unik-cf/unik/src/internal/filetree"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/droplet"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
	"github.com/unik-cf/unik/src/vmlog"
)

// The staging tests run the real buildpack lifecycle builder (scripts/build-lifecycle) the way
// a staging container does, with the packaged buildpack (scripts/package-buildpack) in a
// buildpacks directory laid out like Diego's (one md5(name) directory per buildpack), then boot
// the droplet's payload with the engine (QEMU; TCG when KVM cannot run guests).

const unikBuildpack = "unik_buildpack"

// harness is what every staging test shares; set up once.
type harness struct {
	root       string // the repository
	dir        string // scratch, removed at the end
	builder    string // the lifecycle builder
	buildpacks string // -buildpacksDir
	initPath   string // the packaged guest init
	goroot     string // the host's Go toolchain, for the Go supply stand-in

	runnerOnce sync.Once
	eng        *runner // one engine for all tests: the accelerator probe runs once
	runErr     error
}

var (
	setupOnce sync.Once
	shared    *harness
	setupErr  error
	scratch   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if scratch != "" {
		os.RemoveAll(scratch)
	}
	os.Exit(code)
}

// setup returns the shared harness or fails the test with what is missing.
func setup(t *testing.T) *harness {
	t.Helper()
	setupOnce.Do(func() { shared, setupErr = newHarness() })
	if setupErr != nil {
		t.Fatalf("staging test set-up: %v", setupErr)
	}
	return shared
}

func newHarness() (*harness, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "package-buildpack")); err != nil {
		return nil, fmt.Errorf("not in the repository (run go test from the repository): %w", err)
	}
	if _, err := kernel.Find(kernel.DefaultCacheDir(), os.Getenv("UNIK_KERNEL")); err != nil {
		return nil, fmt.Errorf("no guest kernel to boot droplets: %w", err)
	}
	for _, tool := range []string{"qemu-system-x86_64", "cc", "tar", "cp", "zip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is missing (run scripts/setup; zip: apt-get install zip): %w", tool, err)
		}
	}
	scratch, err = os.MkdirTemp("", "ubp-")
	if err != nil {
		return nil, err
	}
	h := &harness{root: root, dir: scratch, buildpacks: filepath.Join(scratch, "buildpacks")}
	out, err := h.script("build-lifecycle")
	if err != nil {
		return nil, fmt.Errorf("build the buildpack lifecycle builder: %w", err)
	}
	h.builder = out
	zipPath := filepath.Join(scratch, "unik_buildpack.zip")
	if _, err := h.script("package-buildpack", "--out", zipPath); err != nil {
		return nil, fmt.Errorf("package the buildpack: %w", err)
	}
	if err := unzip(zipPath, h.buildpackDir(unikBuildpack)); err != nil {
		return nil, err
	}
	h.initPath = filepath.Join(h.buildpackDir(unikBuildpack), "bin", "unik-init")
	for name, src := range map[string]string{"go_supply": "go-supply-buildpack", "lib_supply": "lib-supply-buildpack"} {
		if err := os.CopyFS(h.buildpackDir(name), os.DirFS(filepath.Join("testdata", src))); err != nil {
			return nil, err
		}
		if err := os.Chmod(filepath.Join(h.buildpackDir(name), "bin", "supply"), 0o755); err != nil {
			return nil, err
		}
	}
	goOut, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	h.goroot = strings.TrimSpace(string(goOut))
	return h, nil
}

func (h *harness) script(name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(h.root, "scripts", name), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/%s: %w\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// buildpackDir is where Diego puts a buildpack: BUILDPACKS/md5(name) (the builder's legacy
// path; it tries xxhash(name) first).
func (h *harness) buildpackDir(name string) string {
	return filepath.Join(h.buildpacks, fmt.Sprintf("%x", md5.Sum([]byte(name))))
}

func unzip(zipPath, dst string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		p := filepath.Join(dst, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, f.Mode().Perm())
		if err == nil {
			_, err = io.Copy(w, r)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		r.Close()
		if err != nil {
			return fmt.Errorf("unzip %s: %w", f.Name, err)
		}
	}
	return nil
}

// stageSpec is one staging task.
type stageSpec struct {
	app        string   // fixture directory, copied to a fresh build directory
	buildpacks []string // in order; the last is the final buildpack
	skipDetect bool     // as Cloud Controller does when buildpacks are named
	cache      string   // build artifacts cache directory to reuse; "" = a fresh one
	goOnPath   bool     // the host's Go on PATH
	env        []string
}

// staging is the outcome of the builder.
type staging struct {
	code    int
	log     string
	droplet string
	result  struct {
		ProcessTypes map[string]string `json:"process_types"`
	}
	buildDir, cache string
	took            time.Duration
}

var seq atomic.Int64

// stage runs the lifecycle builder like a staging container: its own TMPDIR, a small
// environment (no Go unless asked), the buildpacks directory, fresh output paths.
func (h *harness) stage(t *testing.T, s stageSpec) staging {
	t.Helper()
	dir := filepath.Join(h.dir, fmt.Sprintf("s%d", seq.Add(1)))
	st := staging{buildDir: filepath.Join(dir, "app"), cache: s.cache}
	if st.cache == "" {
		st.cache = filepath.Join(dir, "cache")
	}
	for _, d := range []string{st.buildDir, st.cache, filepath.Join(dir, "tmp"), filepath.Join(dir, "out")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(st.buildDir, os.DirFS(s.app)); err != nil {
		t.Fatalf("copy the app: %v", err)
	}
	st.droplet = filepath.Join(dir, "out", "droplet.tgz")
	args := []string{
		"-buildDir=" + st.buildDir, "-buildpacksDir=" + h.buildpacks, "-buildpackOrder=" + strings.Join(s.buildpacks, ","),
		"-outputDroplet=" + st.droplet, "-outputMetadata=" + filepath.Join(dir, "out", "result.json"),
		"-outputBuildArtifactsCache=" + filepath.Join(dir, "out", "cache.tgz"), "-buildArtifactsCacheDir=" + st.cache,
		"-buildpacksDownloadDir=" + filepath.Join(dir, "downloads"), fmt.Sprintf("-skipDetect=%t", s.skipDetect),
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if s.goOnPath {
		path = filepath.Join(h.goroot, "bin") + ":" + path
	}
	cmd := exec.Command(h.builder, args...)
	cmd.Env = append([]string{"PATH=" + path, "HOME=" + dir, "TMPDIR=" + filepath.Join(dir, "tmp"), "LANG=en_US.UTF-8",
		"CF_STACK=unik", "UNIK_TEST_GOROOT=" + h.goroot}, s.env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	began := time.Now()
	err := cmd.Run()
	st.took = time.Since(began)
	st.log = log.String()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		st.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run the builder: %v", err)
	}
	if st.code == 0 {
		b, err := os.ReadFile(filepath.Join(dir, "out", "result.json"))
		if err != nil {
			t.Fatalf("staging succeeded without result.json: %v\n%s", err, st.log)
		}
		if err := json.Unmarshal(b, &st.result); err != nil {
			t.Fatalf("result.json: %v", err)
		}
	}
	t.Logf("staged %s with %v in %s (exit %d)", t.Name(), s.buildpacks, st.took.Round(time.Millisecond), st.code)
	return st
}

// mustStage stages and fails the test unless staging succeeded.
func (h *harness) mustStage(t *testing.T, s stageSpec) staging {
	t.Helper()
	st := h.stage(t, s)
	if st.code != 0 {
		t.Fatalf("staging failed with exit status %d:\n%s", st.code, st.log)
	}
	return st
}

// runner boots droplets.
type runner struct {
	e     *engine.Engine
	store imagestore.Store
}

func (h *harness) runner(t *testing.T) *runner {
	t.Helper()
	h.runnerOnce.Do(func() { h.eng, h.runErr = h.newRunner() })
	if h.runErr != nil {
		t.Fatalf("engine: %v", h.runErr)
	}
	return h.eng
}

func (h *harness) newRunner() (*runner, error) {
	state := filepath.Join(h.dir, "engine")
	n, err := network.New(network.Config{Mode: network.ModeUser, StateDir: filepath.Join(state, "network"),
		HostIP: netip.MustParseAddr("127.0.0.1"), PortRange: [2]uint16{47600, 47699}})
	if err != nil {
		return nil, err
	}
	e, err := engine.New(engine.Config{StateDir: state, CacheDir: kernel.DefaultCacheDir(), KernelDir: os.Getenv("UNIK_KERNEL"),
		InitPath: h.initPath, Accel: or(os.Getenv("UNIK_ACCEL"), "auto"), ShimPath: filepath.Join(h.root, "bin", "unik-shim")}, qemu.Driver{}, n)
	if err != nil {
		return nil, err
	}
	return &runner{e: e, store: imagestore.Store{Dir: state}}, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// boot extracts and verifies the droplet's payload (package droplet, as the cell does), boots
// it with PORT=8080 and returns the response to GET / once the app answers. The VM is removed
// when the test ends, failed or not.
func (r *runner) boot(t *testing.T, dropletPath string) (image.Result, int, string) {
	t.Helper()
	tmp, err := r.store.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	res, err := droplet.ReadImageFile(dropletPath, tmp.Name())
	if err != nil {
		t.Fatalf("read the droplet's image: %v", err)
	}
	img, err := r.store.Put(fmt.Sprintf("app-%d", seq.Add(1)), tmp.Name(), res)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	info, err := r.e.Run(ctx, engine.RunSpec{Image: img, Env: []string{"PORT=8080"},
		Ports: []network.PortRequest{{GuestPort: 8080}}, MemoryMB: 128})
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	t.Cleanup(func() {
		if err := r.e.Remove(context.Background(), info.ID, true); err != nil {
			t.Errorf("remove instance %s: %v", info.ID, err)
		}
	})
	p := info.Network.Ports[0]
	url := fmt.Sprintf("http://%s:%d/", p.HostIP, p.HostPort)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Logf("booted %s (%s, %s): GET / = %d", res.Manifest.StartCommand, info.Accel, info.ID, resp.StatusCode)
			return res, resp.StatusCode, string(body)
		}
		cur, gerr := r.e.Get(info.ID)
		if gerr == nil && cur.State != engine.StateBooting && cur.State != engine.StateRunning {
			t.Fatalf("instance %s is %s before answering HTTP%s", info.ID, cur.Display(), r.logs(info.ID))
		}
		if ctx.Err() != nil {
			t.Fatalf("instance %s did not answer %s in time%s", info.ID, url, r.logs(info.ID))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logs returns the tail of an instance's output, for failure messages.
func (r *runner) logs(id string) string {
	paths, err := r.e.LogPaths(id)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range []vmlog.Files{paths.Stdout, paths.Stderr, paths.Console} {
		data, _ := vmlog.ReadAll(p)
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "\n--- %s:\n%s", filepath.Base(p.Current), data)
	}
	return b.String()
}

// fixture writes files into a new directory (see filetree.Write); "x:" names are executable.
func fixture(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	filetree.Write(t, dir, files)
	return dir
}

// run runs a command and fails the test with its output.
func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func srcFile(t *testing.T, h *harness, rel string) string {
	t.Helper()
	return readFile(t, filepath.Join(h.root, rel))
}
