package buildpack_test

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/droplet"
)

const goMod = "module example.com/hello-go\n\ngo 1.22\n"

// A Go source app: compiled with the Go toolchain a supply buildpack left in the deps
// directory, booted; restaged with Go from PATH instead, the image digest is the same.
func TestStageGoSourceApp(t *testing.T) {
	h := setup(t)
	app := fixture(t, map[string]string{"go.mod": goMod, "main.go": srcFile(t, h, "examples/hello-go/main.go")})
	first := h.mustStage(t, stageSpec{app: app, buildpacks: []string{"go_supply", unikBuildpack}, skipDetect: true})
	if got := first.result.ProcessTypes["web"]; got != "./bin/hello-go" {
		t.Errorf("result.json web = %q, want ./bin/hello-go\n%s", got, first.log)
	}
	if !strings.Contains(first.log, "Building the Go app with go1.") || !strings.Contains(first.log, "/deps/0/go/bin/go") {
		t.Errorf("the staging log does not say it built with the deps' Go:\n%s", first.log)
	}
	res, code, body := h.runner(t).boot(t, first.droplet)
	if code != http.StatusOK || !strings.Contains(body, "hello from unik") {
		t.Errorf("GET / = %d %q", code, body)
	}
	if res.Manifest.Interpreter != "" || len(res.Manifest.Libraries) != 0 {
		t.Errorf("the Go binary is not static: %+v", res.Manifest)
	}

	// Restage: another build directory, the cache of the first staging, Go from PATH, detect.
	second := h.mustStage(t, stageSpec{app: app, buildpacks: []string{unikBuildpack}, cache: first.cache, goOnPath: true})
	if !strings.Contains(second.log, "detected Go source app") || strings.Contains(second.log, "/deps/") {
		t.Errorf("second staging did not detect a Go app and use Go from PATH:\n%s", second.log)
	}
	a, err := droplet.ReadImageFile(first.droplet, filepath.Join(t.TempDir(), "1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := droplet.ReadImageFile(second.droplet, filepath.Join(t.TempDir(), "2"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest {
		t.Errorf("the same app staged twice gave digests %s and %s", a.Digest, b.Digest)
	}
}

// A prebuilt static Linux binary with no Procfile: detected, its only program is the start
// command, booted.
func TestStageBinaryApp(t *testing.T) {
	h := setup(t)
	src := fixture(t, map[string]string{"go.mod": goMod, "main.go": srcFile(t, h, "examples/hello-go/main.go")})
	app := t.TempDir()
	run(t, src, []string{"CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"}, "go", "build", "-o", filepath.Join(app, "hello-go"), ".")
	st := h.mustStage(t, stageSpec{app: app, buildpacks: []string{unikBuildpack}})
	if got := st.result.ProcessTypes["web"]; got != "./hello-go" {
		t.Errorf("result.json web = %q, want ./hello-go\n%s", got, st.log)
	}
	if !strings.Contains(st.log, "detected Linux program ./hello-go") {
		t.Errorf("detect did not say why:\n%s", st.log)
	}
	_, code, body := h.runner(t).boot(t, st.droplet)
	if code != http.StatusOK || !strings.Contains(body, "hello from unik") {
		t.Errorf("GET / = %d %q", code, body)
	}
}

// A dynamically linked C program with a Procfile: its interpreter and libc come from the
// staging rootfs (the host here, cflinuxfs4 in Cloud Foundry).
func TestStageDynamicCApp(t *testing.T) {
	h := setup(t)
	app := fixture(t, map[string]string{"Procfile": "web: ./hello-c\n", "hello.c": srcFile(t, h, "examples/hello-c/hello.c")})
	run(t, app, nil, "cc", "-O2", "-o", "hello-c", "hello.c")
	st := h.mustStage(t, stageSpec{app: app, buildpacks: []string{unikBuildpack}})
	if got := st.result.ProcessTypes["web"]; got != "./hello-c" {
		t.Errorf("result.json web = %q", got)
	}
	res, code, body := h.runner(t).boot(t, st.droplet)
	if code != http.StatusOK || body != "hello from c\n" {
		t.Errorf("GET / = %d %q", code, body)
	}
	if res.Manifest.Interpreter == "" || !slices.ContainsFunc(res.Manifest.Libraries, func(l string) bool { return strings.Contains(l, "libc.so") }) {
		t.Errorf("manifest lacks the interpreter or libc: %+v", res.Manifest)
	}
}

// greetApp is a C server that needs libgreet.so, which the staging rootfs does not have.
func greetApp(t *testing.T, h *harness) (app, libDir string) {
	t.Helper()
	libDir = fixture(t, map[string]string{"greet.c": "const char *greet(void) { return \"hello\"; }\n"})
	run(t, libDir, nil, "cc", "-shared", "-fPIC", "-Wl,-soname,libgreet.so", "-o", "libgreet.so", "greet.c")
	app = fixture(t, map[string]string{"Procfile": "web: ./hello-greet\n"})
	run(t, app, nil, "cc", "-O2", "-o", "hello-greet", filepath.Join(h.root, "examples/hello-c/hello.c"),
		"-L"+libDir, "-Wl,--no-as-needed", "-lgreet")
	return app, libDir
}

// An app a supply buildpack prepared: the library it supplies (DEPS/0/lib, a link into its
// own tree) goes into the image with the app; the program boots.
func TestStageAppPreparedBySupplyBuildpack(t *testing.T) {
	h := setup(t)
	app, libDir := greetApp(t, h)
	st := h.mustStage(t, stageSpec{app: app, buildpacks: []string{"lib_supply", unikBuildpack}, skipDetect: true,
		env: []string{"UNIK_TEST_LIBDIR=" + libDir}})
	for _, want := range []string{"Copied deps 0", "profile.d scripts: they do not run"} {
		if !strings.Contains(st.log, want) {
			t.Errorf("staging log lacks %q:\n%s", want, st.log)
		}
	}
	res, code, _ := h.runner(t).boot(t, st.droplet)
	if code != http.StatusOK {
		t.Errorf("GET / = %d", code)
	}
	if !slices.ContainsFunc(res.Manifest.Libraries, func(l string) bool { return strings.HasSuffix(l, "/libgreet.so") }) ||
		res.Manifest.Env["DEPS_DIR"] != "/home/vcap/app/.unik-deps" {
		t.Errorf("manifest: %+v", res.Manifest)
	}
}

// Each staging failure fails the builder with the buildpack's message in the staging log.
func TestStagingFailures(t *testing.T) {
	h := setup(t)
	greet, _ := greetApp(t, h)
	cases := []struct {
		name  string
		spec  stageSpec
		code  int
		wants []string
	}{
		{"unsupported app", stageSpec{app: fixture(t, map[string]string{"index.html": "<p>hi</p>\n"}), buildpacks: []string{unikBuildpack}},
			222, []string{"not a unik app: no go.mod, no Procfile and no executable", "None of the buildpacks detected a compatible application"}},
		{"compile error", stageSpec{app: fixture(t, map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() { undefinedThing() }\n"}),
			buildpacks: []string{unikBuildpack}, goOnPath: true},
			223, []string{"**ERROR** go build", "main.go:3:15: undefined: undefinedThing", "Failed to compile droplet"}},
		{"Go modules missing offline", stageSpec{app: fixture(t, map[string]string{"go.mod": goMod + "\nrequire example.invalid/nothere v1.0.0\n",
			"main.go": "package main\n\nimport _ \"example.invalid/nothere\"\n\nfunc main() {}\n"}), buildpacks: []string{unikBuildpack}, goOnPath: true},
			223, []string{"Go modules are missing", "GOPROXY=off", "go mod vendor"}},
		{"no Go toolchain", stageSpec{app: fixture(t, map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() {}\n"}),
			buildpacks: []string{unikBuildpack}},
			223, []string{"no Go toolchain", "-b go_buildpack -b unik_buildpack"}},
		{"no start command", stageSpec{app: fixture(t, map[string]string{"Procfile": "worker: ./x\n", "data.txt": "x"}),
			buildpacks: []string{unikBuildpack}, skipDetect: true},
			223, []string{"no start command: the Procfile has no web: line", "Add a Procfile with a web: line"}},
		{"missing library", stageSpec{app: greet, buildpacks: []string{unikBuildpack}},
			223, []string{"./hello-greet needs libgreet.so, not found in", "ship the library in the app's lib/ directory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := h.stage(t, c.spec)
			if st.code != c.code {
				t.Errorf("exit status %d, want %d", st.code, c.code)
			}
			for _, w := range c.wants {
				if !strings.Contains(st.log, w) {
					t.Errorf("staging log lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("staging log:\n%s", st.log)
			}
		})
	}
}
