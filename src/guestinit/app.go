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

// app is the instance's processes: the app itself (first) and its sidecars, each in its own
// session. They are codependent, as in a Diego container: the first to exit ends them all.
type app struct {
	procs []proc
	grace time.Duration

	mu      sync.Mutex
	stopped bool
}

type proc struct {
	pid  int
	name string // "" for the app, the sidecar's name otherwise
}

type result struct {
	code    int
	signal  string
	stopped bool
	process string // the process whose exit ended the instance ("" = the app)
}

func (r result) event() Event {
	code := r.code
	return Event{Event: EventExited, ExitCode: &code, Signal: r.signal, Stopped: r.stopped, Process: r.process}
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
	grace := time.Duration(c.StopGraceMS) * time.Millisecond
	if grace == 0 {
		grace = 10 * time.Second
	}
	a := &app{grace: grace}
	pid, err := startProcess(m, c, p.stdout, p.stderr)
	if err != nil {
		return nil, err
	}
	a.procs = append(a.procs, proc{pid: pid})
	for i, sc := range c.Sidecars {
		sm := m
		sm.StartCommand = sc.StartCommand
		pid, err := startProcess(sm, c, p.sidecars[i][0], p.sidecars[i][1])
		if err != nil {
			a.killAll(unix.SIGKILL)
			return nil, fmt.Errorf("sidecar %s: %w", sc.Name, err)
		}
		a.procs = append(a.procs, proc{pid: pid, name: sc.Name})
	}
	return a, nil
}

// startProcess starts m's start command as vcap in its own session, with its output on the
// given ports. Init never calls Wait on it: init reaps every child itself (app.wait).
func startProcess(m Manifest, c Config, stdout, stderr *os.File) (int, error) {
	prog, argv, env, err := command(m, c)
	if err != nil {
		return 0, err
	}
	cmd := &exec.Cmd{
		Path:   prog,
		Args:   argv,
		Env:    env,
		Dir:    m.WorkDir,
		Stdout: stdout,
		Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid: true,
			// vcap whatever the manifest says (see appIdentity), with no supplementary groups
			Credential: &syscall.Credential{Uid: AppUID, Gid: AppGID, Groups: []uint32{}},
		},
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", prog, err)
	}
	return cmd.Process.Pid, nil
}

// wait reaps children until one of the instance's processes exits, then ends the others (they
// are codependent) and returns how the first one ended.
func (a *app) wait() result {
	var first *result
	left := len(a.procs)
	for left > 0 {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if first != nil {
				return *first
			}
			return result{code: 255, signal: "lost"}
		}
		i := a.index(pid)
		if i < 0 {
			continue // an orphan the app left: reaped
		}
		left--
		if first != nil {
			continue
		}
		a.mu.Lock()
		stopped := a.stopped
		a.mu.Unlock()
		r := result{code: ws.ExitStatus(), stopped: stopped, process: a.procs[i].name}
		if ws.Signaled() {
			r.code, r.signal = 128+int(ws.Signal()), unix.SignalName(ws.Signal())
		}
		first = &r
		if left > 0 {
			a.stopOthers()
		}
	}
	return *first
}

func (a *app) index(pid int) int {
	for i, p := range a.procs {
		if p.pid == pid {
			return i
		}
	}
	return -1
}

// stop asks every process group to end, and forces them after the grace period.
func (a *app) stop() {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	a.mu.Unlock()
	a.killAll(unix.SIGTERM)
	time.AfterFunc(a.grace, func() { a.killAll(unix.SIGKILL) })
}

// stopOthers ends the processes left once one has exited, without marking the instance as
// stopped by the host.
func (a *app) stopOthers() {
	a.killAll(unix.SIGTERM)
	time.AfterFunc(a.grace, func() { a.killAll(unix.SIGKILL) })
}

func (a *app) killAll(sig unix.Signal) {
	for _, p := range a.procs {
		_ = unix.Kill(-p.pid, sig)
	}
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
