package unikplugin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExecCFRunsTheBinaryAndReportsItsExitStatus(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "cf")
	script := "#!/bin/sh\necho \"args: $*\"\n[ \"$2\" = ok ]\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	run := ExecCF{Path: fake, Stdout: &out, Stderr: &out}
	if err := run.RunCF(context.Background(), []string{"push", "ok", "-s", "unik"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "args: push ok -s unik\n" {
		t.Errorf("cf saw %q", got)
	}
	err := run.RunCF(context.Background(), []string{"push", "bad"})
	if err == nil || !strings.Contains(err.Error(), "cf push exited with status 1") {
		t.Errorf("err = %v", err)
	}
}
