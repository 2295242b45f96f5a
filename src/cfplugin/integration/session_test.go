package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccstandin"
)

// session is one cf CLI home logged in to one stand-in, with the plugin installed.
type session struct {
	t    *testing.T
	cc   *ccstandin.Server
	home string
}

// result is one cf run.
type result struct {
	stdout, stderr string
	exitCode       int
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.exitCode) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// newSession starts a stand-in and runs, with the real cf binary,
// `cf api URL --skip-ssl-validation`, `cf auth`, `cf target -o -s` and
// `cf install-plugin -f`, failing the test if any of them fails.
func newSession(t *testing.T) *session {
	t.Helper()
	s := &session{t: t, cc: ccstandin.Start(), home: t.TempDir()}
	t.Cleanup(s.cc.Close)
	s.mustCF("api", s.cc.URL(), "--skip-ssl-validation")
	s.mustCF("auth", s.cc.User.Name, s.cc.User.Password)
	s.mustCF("target", "-o", s.cc.Org.Name, "-s", s.cc.Space.Name)
	s.mustCF("install-plugin", "-f", binaries.plugin)
	s.cc.Take() // tests assert only on what their own commands send
	return s
}

// cf runs the real cf binary with this session's CF_HOME.
func (s *session) cf(args ...string) result {
	s.t.Helper()
	cmd := exec.Command(binaries.cf, args...)
	cmd.Dir = s.home
	cmd.Env = append(os.Environ(),
		"CF_HOME="+s.home, "CF_PLUGIN_HOME="+s.home, "HOME="+s.home,
		"CF_COLOR=false", "CF_STAGING_TIMEOUT=1", "NO_PROXY=127.0.0.1,localhost",
		"CF_TRACE="+filepath.Join(s.home, "trace.log"),
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("run cf %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func (s *session) mustCF(args ...string) result {
	s.t.Helper()
	r := s.cf(args...)
	if r.exitCode != 0 {
		s.t.Fatalf("cf %s failed:\n%s\nstand-in saw:\n%s", strings.Join(args, " "), r, dump(s.cc.Requests()))
	}
	return r
}

func dump(reqs []ccstandin.Request) string {
	var b strings.Builder
	for _, r := range reqs {
		b.WriteString("  " + r.String())
		if len(r.Body) > 0 && len(r.Body) < 2000 {
			b.WriteString(" " + string(r.Body))
		}
		b.WriteString("\n")
	}
	return b.String()
}
