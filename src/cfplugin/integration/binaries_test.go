package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const cliModule = "code.cloudfoundry.org/cli/v8"

// binaries are the programs every test uses.
var binaries struct {
	cf, plugin string
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "unik-cfplugin-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if binaries.cf, err = cachedCF(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: build cf:", err)
		return 1
	}
	binaries.plugin = filepath.Join(tmp, "unik-plugin")
	if err := goBuild(binaries.plugin, "github.com/unik-cf/unik/src/cfplugin"); err != nil {
		fmt.Fprintln(os.Stderr, "integration: build plugin:", err)
		return 1
	}
	return m.Run()
}

// cliVersion is the version of the cf CLI module this module pins (test
// binaries carry no dependency list in their build info, so ask go list).
func cliVersion() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", cliModule).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", cliModule, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", fmt.Errorf("go list -m %s: no version", cliModule)
	}
	return v, nil
}

// cachedCF builds the cf CLI's main package once per version and keeps it in
// $TMPDIR/unik-cfplugin-cf-cache/<version>-<go>-<os>-<arch>/cf.
func cachedCF() (string, error) {
	v, err := cliVersion()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), "unik-cfplugin-cf-cache",
		fmt.Sprintf("%s-%s-%s-%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH))
	bin := filepath.Join(dir, "cf")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "integration: building cf %s (cached in %s for later runs)...\n", v, dir)
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	ldflags := "-X " + cliModule + "/version.binaryVersion=" + strings.TrimPrefix(v, "v")
	if err := goBuild(tmp, cliModule, "-ldflags", ldflags); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil { // atomic: concurrent runs never see half a binary
		return "", err
	}
	fmt.Fprintf(os.Stderr, "integration: built cf in %s\n", time.Since(start).Round(time.Second))
	return bin, nil
}

func goBuild(out, pkg string, flags ...string) error {
	args := append([]string{"build", "-buildvcs=false", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(cmd.Args[1:], " "), err)
	}
	return nil
}
