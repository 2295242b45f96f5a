// Package repotest finds the UniK checkout for tests that use what scripts/setup builds there
// (bin/unik-init, bin/unik-shim, the examples). It is for tests only.
package repotest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Root is $UNIK_REPO, else the nearest directory above the working directory whose go.mod
// declares the project's module (nested modules such as src/cfplugin have their own go.mod).
func Root() (string, error) {
	if r := os.Getenv("UNIK_REPO"); r != "" {
		return r, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/unik-cf/unik\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no UniK repository above the working directory (set UNIK_REPO)")
		}
		dir = parent
	}
}

// MustRoot is Root for a test: it fails the test when there is no checkout.
func MustRoot(t testing.TB) string {
	t.Helper()
	r, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
