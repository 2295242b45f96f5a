//go:build linux

package guestinit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/startcmd"
)

const defaultPath = "/usr/local/bin:/usr/bin:/bin"

type app struct {
	pid   int
	grace time.Duration

	mu      sync.Mutex
	stopped bool
}

type result struct {
	code    int
	signal  string
	stopped bool
}

func (r result) event() Event {
	code := r.code
	return Event{Event: EventExited, ExitCode: &code, Signal: r.signal, Stopped: r.stopped}
}

// appEnv layers the environment: defaults, then the image's, then the instance's.
func appEnv(m Manifest, c Config) map[string]string {
	env := map[string]string{
		"PATH":   defaultPath,
		"HOME":   m.WorkDir,
		"USER":   m.User,
		"TMPDIR": "/tmp",
		"LANG":   "C.UTF-8",
	}
	for k, v := range m.Env {
		env[k] = v
	}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// command turns the start command into an absolute program, argv and environment.
func command(m Manifest, c Config) (string, []string, []string, error) {
	cmd, err := startcmd.Parse(m.StartCommand)
	if err != nil {
		return "", nil, nil, fmt.Errorf("start command: %w", err)
	}
	env := appEnv(m, c)
	assign, argv, err := cmd.Expand(func(name string) (string, bool) { v, ok := env[name]; return v, ok })
	if err != nil {
		return "", nil, nil, fmt.Errorf("start command: %w", err)
	}
	for _, kv := range assign {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	prog, err := lookPath(argv[0], m.WorkDir, env["PATH"])
	if err != nil {
		return "", nil, nil, err
	}
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return prog, argv, list, nil
}

func lookPath(name, dir, path string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("start command: %s is not an executable file", name)
	}
	// a bare name: the app directory, then its bin/, then PATH, as the image builder resolved it
	for _, d := range append([]string{dir, filepath.Join(dir, "bin")}, filepath.SplitList(path)...) {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("start command: %s not found in PATH %s", name, path)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func startApp(m Manifest, c Config, p *ports) (*app, error) {
	prog, argv, env, err := command(m, c)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:   prog,
		Args:   argv,
		Env:    env,
		Dir:    m.WorkDir,
		Stdout: p.stdout,
		Stderr: p.stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid: true,
			// vcap whatever the manifest says (see appIdentity), with no supplementary groups
			Credential: &syscall.Credential{Uid: AppUID, Gid: AppGID, Groups: []uint32{}},
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", prog, err)
	}
	grace := time.Duration(c.StopGraceMS) * time.Millisecond
	if grace == 0 {
		grace = 10 * time.Second
	}
	// Never cmd.Wait: init reaps every child itself (wait), and the app is one of them.
	return &app{pid: cmd.Process.Pid, grace: grace}, nil
}

// wait reaps children until the app itself exits.
func (a *app) wait() result {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return result{code: 255, signal: "lost"}
		}
		if pid != a.pid {
			continue
		}
		a.mu.Lock()
		stopped := a.stopped
		a.mu.Unlock()
		if ws.Signaled() {
			return result{code: 128 + int(ws.Signal()), signal: unix.SignalName(ws.Signal()), stopped: stopped}
		}
		return result{code: ws.ExitStatus(), stopped: stopped}
	}
}

// stop asks the app's process group to end, and forces it after the grace period.
func (a *app) stop() {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	a.mu.Unlock()
	_ = unix.Kill(-a.pid, unix.SIGTERM)
	time.AfterFunc(a.grace, func() { _ = unix.Kill(-a.pid, unix.SIGKILL) })
}

// watchControl obeys the host's control channel: "stop" ends the app. A port whose host end
// is not connected reads EOF; then it waits and reads again.
func watchControl(r io.Reader, a *app) {
	for {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 2*MaxFilesBytes)
		for sc.Scan() {
			handleControl(sc.Text(), a)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
