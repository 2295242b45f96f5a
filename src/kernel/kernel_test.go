package kernel

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyMatchesBuildScript(t *testing.T) {
	out, err := exec.Command("../../scripts/kernel-key").Output()
	if err != nil {
		t.Fatalf("scripts/kernel-key: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != Key() {
		t.Fatalf("scripts/kernel-key says %s, the package computes %s: they must agree", got, Key())
	}
}

func TestRecipeVersionMatchesBuildScript(t *testing.T) {
	b, err := os.ReadFile("build.sh")
	if err != nil {
		t.Fatal(err)
	}
	want := `recipe="` + strings.TrimSpace(recipe) + `"`
	if !strings.Contains(string(b), want) {
		t.Fatalf("src/kernel/build.sh must say %s, like the package and scripts/kernel-key", want)
	}
}

func writeKernel(t *testing.T, dir, json string, files ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, "kernel.json") {
		content := "x"
		if f == "kernel.json" {
			content = json
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindPrefersMinimalThenFallback(t *testing.T) {
	cache := t.TempDir()
	if _, err := Find(cache, ""); !errors.Is(err, ErrNoKernel) {
		t.Fatalf("empty cache: want ErrNoKernel, got %v", err)
	}
	writeKernel(t, filepath.Join(cache, "debian-cloud", "6.1.0-1"), `{"name":"deb","image":"vmlinuz","initrd_prefix":"m.cpio","transport":"pci","fallback":true}`, "vmlinuz", "m.cpio")
	k, err := Find(cache, "")
	if err != nil || !k.Fallback || k.PrefixPath() == "" {
		t.Fatalf("want the fallback, got %+v, %v", k, err)
	}
	writeKernel(t, filepath.Join(cache, "kernel", Key()), `{"name":"min","image":"vmlinux","transport":"mmio"}`, "vmlinux")
	k, err = Find(cache, "")
	if err != nil || k.Fallback || k.Name != "min" {
		t.Fatalf("want the minimal kernel, got %+v, %v", k, err)
	}
}

func TestLoadRejectsBadKernelDirs(t *testing.T) {
	cases := map[string]string{
		"no image":       `{"name":"x","transport":"mmio"}`,
		"bad transport":  `{"name":"x","image":"vmlinux","transport":"isa"}`,
		"missing file":   `{"name":"x","image":"nothere","transport":"mmio"}`,
		"not json":       `{`,
		"missing prefix": `{"name":"x","image":"vmlinux","initrd_prefix":"gone.cpio","transport":"pci"}`,
	}
	for name, js := range cases {
		dir := filepath.Join(t.TempDir(), "k")
		writeKernel(t, dir, js, "vmlinux")
		if _, err := Load(dir); err == nil {
			t.Errorf("%s: Load accepted %s", name, js)
		}
	}
}
