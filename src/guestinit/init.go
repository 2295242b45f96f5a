//go:build linux

package guestinit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Manifest is the part of the image manifest init needs. The image package writes the full
// manifest; the JSON field names are the contract.
type Manifest struct {
	StartCommand string            `json:"start_command"`
	WorkDir      string            `json:"work_dir"`
	User         string            `json:"user"`
	UID          int               `json:"uid"`
	GID          int               `json:"gid"`
	Env          map[string]string `json:"env"`
}

// Main is PID 1. It never returns: whatever happens, the VM powers off at the end, after
// reporting on the status channel (when it could be opened) and on the console.
func Main() {
	console := openConsole()
	code := run(console)
	fmt.Fprintf(console, "unik-init: powering off (app status %d)\n", code)
	powerOff()
}

func run(console io.Writer) int {
	if err := mountAll(); err != nil {
		fmt.Fprintf(console, "unik-init: %v\n", err)
	}
	if err := loadModules(ModulesDir); err != nil {
		fmt.Fprintf(console, "unik-init: %v\n", err)
	}
	ports, err := openPorts(2 * time.Second)
	if err != nil {
		fmt.Fprintf(console, "unik-init: %v\n", err)
		return 126
	}
	defer ports.Close()
	status := newReporter(ports.status)

	cfg, err := readConfig()
	if err != nil {
		return status.fail(console, err)
	}
	if cfg.Mode == ModeSmoke {
		status.emit(Event{Event: EventSmokeOK})
		return 0
	}
	var m Manifest
	if err := readJSON(ManifestPath, &m); err != nil {
		return status.fail(console, fmt.Errorf("read image manifest: %w", err))
	}
	m, note := appIdentity(m)
	if note != "" {
		fmt.Fprintf(console, "unik-init: %s\n", note)
	}
	if err := setupSystem(cfg); err != nil {
		return status.fail(console, err)
	}
	startSSH(cfg.SSH, console)
	if err := writeFiles(cfg.Files); err != nil {
		return status.fail(console, err)
	}
	if err := ports.openSidecars(len(cfg.Sidecars), 2*time.Second); err != nil {
		return status.fail(console, err)
	}
	app, err := startApp(m, cfg, ports)
	if err != nil {
		return status.fail(console, err)
	}
	status.emit(Event{Event: EventStarted, PID: app.procs[0].pid})
	go watchControl(ports.control, app)
	res := app.wait()
	killAll()
	if cfg.ResultFile != "" {
		status.emit(resultEvent(cfg.ResultFile))
	}
	status.emit(res.event())
	return res.code
}

// readConfig reads the per-instance config and removes it, so the app (which runs as vcap,
// but shares the root filesystem) cannot find it later.
func readConfig() (Config, error) {
	var c Config
	if err := readJSON(ConfigPath, &c); err != nil {
		return c, fmt.Errorf("read instance config: %w", err)
	}
	if err := os.Remove(ConfigPath); err != nil {
		return c, fmt.Errorf("remove instance config: %w", err)
	}
	if c.Mode == "" {
		c.Mode = ModeRun
	}
	return c, c.Validate()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func openConsole() io.Writer {
	f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		return io.Discard
	}
	return f
}

func powerOff() {
	unix.Sync()
	// QEMU runs with -no-reboot: a reset ends the process. Power-off needs ACPI, which the
	// minimal kernel does not have.
	for {
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
		time.Sleep(time.Second)
	}
}

type reporter struct{ w io.Writer }

func newReporter(w io.Writer) *reporter { return &reporter{w: w} }

func (r *reporter) emit(e Event) {
	b, _ := json.Marshal(e)
	_, _ = r.w.Write(append(b, '\n'))
}

func (r *reporter) fail(console io.Writer, err error) int {
	fmt.Fprintf(console, "unik-init: %v\n", err)
	r.emit(Event{Event: EventInitError, Error: err.Error()})
	return 127
}
