package recipe

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor"

	"github.com/unik-cf/unik/src/cell/healthcheck"
	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/guestinit"
)

// Paths of the buildpack lifecycle inside a Diego container, as Cloud Controller names them.
const (
	LifecycleDir = "/tmp/lifecycle"
	Launcher     = LifecycleDir + "/launcher"
	Healthcheck  = LifecycleDir + "/healthcheck"
	SSHD         = LifecycleDir + "/diego-sshd"
)

// DefaultStartTimeout applies when the LRP gives none.
const DefaultStartTimeout = 60 * time.Second

// ErrUnsupported wraps every reason a run request cannot be honoured on a unik cell.
var ErrUnsupported = errors.New("unsupported on a unik cell")

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, a...))
}

// Spec is what a unik instance does for one run request.
type Spec struct {
	Droplet imagecache.Request
	// LogSource of the app's output (the Run action's, APP/PROC/WEB for CC's apps).
	LogSource string
	// Env is the instance's environment before networking is known: the LRP's (with the rep's
	// INSTANCE_* and CF_INSTANCE_GUID/INDEX), then the Run action's, then what the buildpack
	// launcher would add (HOME, DEPS_DIR, VCAP_APPLICATION's instance fields).
	Env   []string
	Ports []uint16 // container ports, in the LRP's order
	// Checks decide health: all must pass for the instance to be Running, and a failure of
	// any while Running crashes it. None: Running as soon as the app has started.
	Checks []healthcheck.Check
	// Readiness checks decide routability once healthy: none, routable at once; else routable
	// only while they pass (Diego's readiness_checks).
	Readiness    []healthcheck.Check
	StartTimeout time.Duration
	// SSH is diego-sshd's configuration when the action runs it (CC does unless SSH is
	// disabled): the guest init serves port forwarding with these keys.
	SSH *guestinit.SSHConfig
	// Sidecars run beside the app in the same VM; the first process to exit ends the instance.
	Sidecars []Sidecar
	// Launcher: the process is the buildpack launcher's (Cloud Controller's apps), whose
	// start-up work the cell does (CredHub interpolation, DATABASE_URL).
	Launcher bool
	// Notes are things deliberately not done, for the app's log.
	Notes []string
}

// FromRunInfo reads a run request.
func FromRunInfo(ri executor.RunInfo) (Spec, error) {
	s := Spec{StartTimeout: time.Duration(ri.StartTimeoutMs) * time.Millisecond}
	if s.StartTimeout == 0 {
		s.StartTimeout = DefaultStartTimeout
	}
	for _, p := range ri.Ports {
		s.Ports = append(s.Ports, p.ContainerPort)
	}
	if len(ri.VolumeMounts) > 0 {
		return Spec{}, unsupported("volume mounts (%d): a unik instance has no volume services", len(ri.VolumeMounts))
	}
	for _, d := range ri.CachedDependencies {
		if path.Clean(d.To) != LifecycleDir {
			return Spec{}, unsupported("cached dependency %q to %s: an instance's files all come from its droplet", d.Name, d.To)
		}
	}
	fromSetup, err := setup(ri.Setup)
	if err != nil {
		return Spec{}, err
	}
	runs, fromAction, sshd, err := processRuns(ri.Action)
	if err != nil {
		return Spec{}, err
	}
	run := runs[0]
	for _, sc := range ri.Sidecars { // the BBS's own sidecars field
		scRuns, _, _, err := processRuns(sc.Action)
		if err != nil {
			return Spec{}, fmt.Errorf("sidecar: %w", err)
		}
		runs = append(runs, scRuns...)
	}
	if s.Sidecars, err = sidecars(runs[1:]); err != nil {
		return Spec{}, err
	}
	var notes []string
	if sshd != nil {
		if s.SSH, err = sshConfig(sshd); err != nil {
			notes = append(notes, "SSH is not available for this instance: "+err.Error())
		}
	}
	droplet, err := theDroplet(append(fromSetup, fromAction...))
	if err != nil {
		return Spec{}, err
	}
	s.Notes = notes
	s.LogSource = run.LogSource
	droplet.StartCommand = startCommand(run)
	s.Droplet = droplet
	s.Env = env(ri.Env, run)
	s.Launcher = run.Path == Launcher
	if s.Checks, err = checks(ri.CheckDefinition, ri.Monitor); err != nil {
		return Spec{}, err
	}
	s.Readiness = readiness(ri.CheckDefinition)
	return s, nil
}

// setup finds the droplet's Download in the setup action (an LRP's, or a task's image layer).
func setup(a *models.Action) ([]*models.DownloadAction, error) {
	var found []*models.DownloadAction
	err := walk(a, func(a *models.Action) error {
		switch {
		case a.DownloadAction != nil:
			if path.Clean(a.DownloadAction.To) != LifecycleDir { // the lifecycle: the guest init plays the launcher
				found = append(found, a.DownloadAction)
			}
		case a.RunAction != nil:
			return unsupported("a setup that runs %s: a unik image is immutable, nothing runs before the app", a.RunAction.Path)
		case a.UploadAction != nil:
			return unsupported("an upload action")
		}
		return nil
	})
	return found, err
}

// theDroplet is the one droplet download of a run request: in the setup (an LRP, a task with
// image layers) or before the Run in the action (a task as Cloud Controller builds it without
// declarative asset downloads).
func theDroplet(downloads []*models.DownloadAction) (imagecache.Request, error) {
	switch len(downloads) {
	case 0:
		return imagecache.Request{}, unsupported("no droplet: the run request downloads nothing to boot")
	case 1:
	default:
		d := downloads[1]
		return imagecache.Request{}, unsupported("a second download (%s to %s): an instance's files all come from its droplet", redact(d.From), d.To)
	}
	d := downloads[0]
	return imagecache.Request{URL: d.From, ChecksumAlgorithm: d.ChecksumAlgorithm,
		ChecksumValue: d.ChecksumValue, CacheKey: d.CacheKey}, nil
}

// processRuns finds the processes of the action (the app first, then its sidecars, as
// Cloud Controller orders its codependent action) and the droplet downloads that come before
// them (a task's action is a serial download of the droplet, then the launcher's Run).
func processRuns(a *models.Action) ([]*models.RunAction, []*models.DownloadAction, *models.RunAction, error) {
	var runs []*models.RunAction
	var downloads []*models.DownloadAction
	var sshd *models.RunAction
	err := walk(a, func(a *models.Action) error {
		switch {
		case a.RunAction != nil && a.RunAction.Path == SSHD:
			sshd = a.RunAction
		case a.RunAction != nil:
			runs = append(runs, a.RunAction)
		case a.DownloadAction != nil && path.Clean(a.DownloadAction.To) == LifecycleDir:
		case a.DownloadAction != nil && len(runs) == 0:
			downloads = append(downloads, a.DownloadAction)
		case a.DownloadAction != nil:
			return unsupported("a download after the process starts (%s to %s): an instance's files all come from its droplet",
				redact(a.DownloadAction.From), a.DownloadAction.To)
		case a.UploadAction != nil:
			return unsupported("an upload action")
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, nil, nil, err
	case len(runs) == 0:
		return nil, nil, nil, unsupported("the action runs no process")
	}
	return runs, downloads, sshd, nil
}

// Sidecar is a process beside the app in the same VM.
type Sidecar struct {
	Name         string
	StartCommand string
	LogSource    string // as Cloud Controller names it (APP/PROC/WEB/SIDECAR/NAME)
}

// sidecars describes the processes after the app.
func sidecars(runs []*models.RunAction) ([]Sidecar, error) {
	if len(runs) > guestinit.MaxSidecars {
		return nil, unsupported("%d sidecars (%s): a unik instance runs at most %d beside the app", len(runs), runPaths(runs), guestinit.MaxSidecars)
	}
	var out []Sidecar
	for i, r := range runs {
		name := fmt.Sprintf("sidecar-%d", i+1)
		if _, n, ok := strings.Cut(r.LogSource, "SIDECAR/"); ok && n != "" {
			name = strings.ToLower(n)
		}
		cmd := startCommand(r)
		if cmd == "" {
			return nil, unsupported("sidecar %s has no command", name)
		}
		out = append(out, Sidecar{Name: name, StartCommand: cmd, LogSource: r.LogSource})
	}
	return out, nil
}

func runPaths(runs []*models.RunAction) string {
	var p []string
	for _, r := range runs {
		p = append(p, r.Path)
	}
	return strings.Join(p, ", ")
}

// startCommand is the launcher's start command argument, or the program and its arguments.
func startCommand(r *models.RunAction) string {
	if r.Path == Launcher {
		if len(r.Args) >= 2 {
			return r.Args[1]
		}
		return ""
	}
	words := append([]string{r.Path}, r.Args...)
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>(){}*?[]#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// walk visits every action of the tree, depth first.
func walk(a *models.Action, visit func(*models.Action) error) error {
	if a == nil {
		return nil
	}
	if err := visit(a); err != nil {
		return err
	}
	var children []*models.Action
	switch {
	case a.TimeoutAction != nil:
		children = []*models.Action{a.TimeoutAction.Action}
	case a.EmitProgressAction != nil:
		children = []*models.Action{a.EmitProgressAction.Action}
	case a.TryAction != nil:
		children = []*models.Action{a.TryAction.Action}
	case a.ParallelAction != nil:
		children = a.ParallelAction.Actions
	case a.SerialAction != nil:
		children = a.SerialAction.Actions
	case a.CodependentAction != nil:
		children = a.CodependentAction.Actions
	}
	for _, c := range children {
		if err := walk(c, visit); err != nil {
			return err
		}
	}
	return nil
}

func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// sshConfig reads diego-sshd's flags as Cloud Controller gives them: -address, -hostKey,
// -authorizedKey (the others, -inheritDaemonEnv and -logLevel, mean nothing without a shell).
func sshConfig(r *models.RunAction) (*guestinit.SSHConfig, error) {
	c := &guestinit.SSHConfig{Address: "0.0.0.0:2222"}
	for _, a := range r.Args {
		name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "address":
			c.Address = value
		case "hostKey":
			c.HostKey = value
		case "authorizedKey":
			c.AuthorizedKey = value
		}
	}
	if c.HostKey == "" || c.AuthorizedKey == "" {
		return nil, fmt.Errorf("diego-sshd was given no host key or no authorized key")
	}
	if err := (guestinit.Config{InstanceID: "x", SSH: c}).Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
