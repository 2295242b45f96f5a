package buildpack

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoEnv(t *testing.T) {
	d := testDirs(t)
	files(t, d.Build, map[string]string{"vendor/modules.txt": "# none\n"})
	g := goBuild{goCmd: "go", dir: d.Build, cache: d.Cache, env: environ{"GOFLAGS=-tags=x", "GOPROXY=https://proxy.example"}}
	env := g.goEnv()
	for k, v := range map[string]string{"GOPROXY": "off", "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-tags=x -mod=vendor",
		"GOCACHE": filepath.Join(d.Cache, "go-build"), "GOPATH": filepath.Join(d.Cache, "gopath")} {
		if got, _ := env.get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	g.env = environ{"GOMODCACHE=/m", "GOFLAGS=-mod=mod"}
	env = g.goEnv()
	if _, ok := env.get("GOPATH"); ok {
		t.Error("GOPATH set although GOMODCACHE is")
	}
	if got, _ := env.get("GOFLAGS"); got != "-mod=mod" {
		t.Errorf("GOFLAGS = %q", got)
	}
}

func TestGoBuildPackage(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	d := testDirs(t)
	files(t, d.Build, map[string]string{"go.mod": "module example.com/lib\n\ngo 1.22\n", "lib.go": "package lib\n",
		"cmd/srv/main.go": "package main\n\nfunc main() {}\n"})
	g := goBuild{goCmd: goCmd, dir: d.Build, cache: d.Cache}
	if _, err := g.build(context.Background()); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "GO_INSTALL_PACKAGE_SPEC") {
		t.Errorf("build of a library: %v", err)
	}
	g.env = environ{"GO_INSTALL_PACKAGE_SPEC=./cmd/srv ./cmd/other"}
	if _, err := g.build(context.Background()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("two packages: %v", err)
	}
	g.env = environ{"GO_INSTALL_PACKAGE_SPEC=./cmd/srv"}
	rel, err := g.build(context.Background())
	if err != nil || rel != "bin/srv" || !isExecutable(filepath.Join(d.Build, rel)) {
		t.Errorf("build ./cmd/srv = %q, %v", rel, err)
	}
}
