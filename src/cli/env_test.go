package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	in := "# database\n\nDB_URL=postgres://u:p@h/db?x=1\r\n  # indented comment\nEMPTY=\n_X1= spaced value \n"
	got, err := parseEnvFile("app.env", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DB_URL=postgres://u:p@h/db?x=1", "EMPTY=", "_X1= spaced value "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("parsed %q, want %q", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{"A=1\n\nNOEQUALS_s3cr3t\n", "env file app.env line 3: no '='"},
		{"# c\n1X=s3cr3t\n", `env file app.env line 2: "1X" is not a variable name`},
		{"A=1\nexport B=s3cr3t\n", `line 2: "export B" is not a variable name`},
		{"=s3cr3t\n", "line 1:"},
	} {
		_, err := parseEnvFile("app.env", strings.NewReader(tc.in))
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a usage error with %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%q: the error shows the value: %v", tc.in, err)
		}
	}
}

func TestAppEnvOrderAndLookup(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(file, []byte("TOKEN=from-file\nMODE=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := func(name string) (string, bool) {
		v, ok := map[string]string{"TOKEN": "from-env", "EMPTY": ""}[name]
		return v, ok
	}
	got, err := appEnv([]envSource{
		{value: "A=1"}, {file: true, value: file}, {value: "TOKEN"}, {value: "EMPTY"}, {value: "A=2"},
	}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	// a later source wins; a name keeps its first position
	want := "A=2|TOKEN=from-env|MODE=file|EMPTY="
	if strings.Join(got, "|") != want {
		t.Errorf("env %q, want %s", got, want)
	}
	for _, tc := range []struct {
		src  envSource
		want string
	}{
		{envSource{value: "UNSET_NAME"}, "--env UNSET_NAME: UNSET_NAME is not set"},
		{envSource{value: "BAD NAME"}, "is not a variable name"},
		{envSource{value: "=x"}, "has no name"},
		{envSource{file: true, value: filepath.Join(t.TempDir(), "missing.env")}, "--env-file"},
	} {
		if _, err := appEnv([]envSource{tc.src}, lookup); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Bad env input is refused before anything else happens, with a usage error (exit 2) that names
// the line but never shows a value.
func TestRunRefusesBadEnvInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.env")
	if err := os.WriteFile(file, []byte("OK=1\nPASSWORD s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--env-file", file, "hello"},
		{"run", "--env", "UNIK_TEST_SURELY_UNSET", "hello"},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), Env{Stdout: &out, Stderr: &errb, Args: append([]string{"--state-dir", t.TempDir()}, args...),
			Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false }})
		if code != 2 || !strings.Contains(errb.String(), "line 2") && !strings.Contains(errb.String(), "is not set") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
		if strings.Contains(errb.String(), "s3cr3t") {
			t.Errorf("%v: stderr shows the value: %q", args, errb.String())
		}
	}
}
