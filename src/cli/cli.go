package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

// Env is the world a command sees.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Args           []string // without the program name
	Getenv         func(string) string
	// LookupEnv tells an unset variable from an empty one (run --env NAME); if nil, Getenv
	// stands in and an empty value counts as unset.
	LookupEnv func(string) (string, bool)
	// Terminal: stderr is a terminal, so long steps may show progress.
	Terminal bool
}

// usageError is bad command-line input: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const usage = `usage: unik [global flags] COMMAND [flags] [args]

Commands:
  build DIR --name NAME [--start-command CMD]   build an image from an app directory
  run NAME [--env NAME[=VALUE]]... [--env-file FILE]... [--port HOST:GUEST]... [--memory MB] [--json]
                                                boot an instance; prints its id and URL once it answers HTTP.
                                                --env NAME takes the value from unik's own environment and
                                                --env-file reads NAME=value lines (# comments), so that
                                                secrets need not be on the command line
  ps [--json]                                   list instances
  logs [-f] ID                                  the app's stdout (OUT) and stderr (ERR)
  stop ID...                                    stop instances (SIGTERM, then forced)
  rm [-f] ID...                                 remove ended instances (-f: running ones too)
  images [--json]                               list images
  rmi NAME...                                   remove images
  info [--json]                                 kernel, accelerator and network this host uses

Global flags: --state-dir DIR --cache-dir DIR --kernel DIR --accel auto|kvm|tcg --net auto|bridge|user --init PATH
`

// Main runs one command and returns the process exit status.
func Main(ctx context.Context, env Env) int {
	err := run(ctx, env)
	if err == nil {
		return 0
	}
	fmt.Fprintf(env.Stderr, "unik: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprint(env.Stderr, "\n"+usage)
		return 2
	}
	return 1
}

// settings are the global flags.
type settings struct {
	stateDir, cacheDir, kernelDir, accel, netMode, initPath string
}

func run(ctx context.Context, env Env) error {
	s := settings{
		stateDir: engine.DefaultStateDir(), cacheDir: kernel.DefaultCacheDir(),
		kernelDir: env.Getenv("UNIK_KERNEL"), accel: or(env.Getenv("UNIK_ACCEL"), "auto"),
		netMode: or(env.Getenv("UNIK_NET"), "auto"), initPath: env.Getenv("UNIK_INIT"),
	}
	if d := env.Getenv("UNIK_STATE_DIR"); d != "" {
		s.stateDir = d
	}
	if d := env.Getenv("UNIK_CACHE_DIR"); d != "" {
		s.cacheDir = d
	}
	fs := flag.NewFlagSet("unik", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.stateDir, "state-dir", s.stateDir, "")
	fs.StringVar(&s.cacheDir, "cache-dir", s.cacheDir, "")
	fs.StringVar(&s.kernelDir, "kernel", s.kernelDir, "")
	fs.StringVar(&s.accel, "accel", s.accel, "")
	fs.StringVar(&s.netMode, "net", s.netMode, "")
	fs.StringVar(&s.initPath, "init", s.initPath, "")
	if err := fs.Parse(env.Args); err != nil {
		return usagef("%v", err)
	}
	args := fs.Args()
	if len(args) == 0 {
		return usagef("no command")
	}
	if s.initPath == "" {
		if exe, err := os.Executable(); err == nil {
			s.initPath = filepath.Join(filepath.Dir(exe), "unik-init")
		}
	}
	c := &cmdCtx{env: env, s: s}
	cmds := map[string]func(context.Context, *cmdCtx, []string) error{
		"build": cmdBuild, "run": cmdRun, "ps": cmdPs, "logs": cmdLogs, "stop": cmdStop,
		"rm": cmdRm, "images": cmdImages, "rmi": cmdRmi, "info": cmdInfo,
	}
	f, ok := cmds[args[0]]
	if !ok {
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(env.Stdout, usage)
			return nil
		}
		return usagef("unknown command %q", args[0])
	}
	return f(ctx, c, args[1:])
}

// cmdCtx builds what a command needs, lazily.
type cmdCtx struct {
	env Env
	s   settings
}

func (c *cmdCtx) lookupEnv(name string) (string, bool) {
	if c.env.LookupEnv != nil {
		return c.env.LookupEnv(name)
	}
	v := c.env.Getenv(name)
	return v, v != ""
}

func (c *cmdCtx) store() imagestore.Store { return imagestore.Store{Dir: c.s.stateDir} }

func (c *cmdCtx) network() (*network.Network, error) {
	mode := network.Mode("")
	switch c.s.netMode {
	case "auto", "":
	case "bridge", "user":
		mode = network.Mode(c.s.netMode)
	default:
		return nil, usagef("--net %q is not auto, bridge or user", c.s.netMode)
	}
	cfg := network.Config{Mode: mode, StateDir: filepath.Join(c.s.stateDir, "network"), HostIP: netip.MustParseAddr("127.0.0.1"),
		Bridge: c.env.Getenv("UNIK_BRIDGE"), Table: c.env.Getenv("UNIK_TABLE")}
	if s := c.env.Getenv("UNIK_SUBNET"); s != "" {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("UNIK_SUBNET %q: %w", s, err)
		}
		cfg.Subnet = p
	}
	if s := c.env.Getenv("UNIK_PORTS"); s != "" {
		lo, hi, ok := strings.Cut(s, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("UNIK_PORTS %q is not LOW-HIGH", s)
		}
		cfg.PortRange = [2]uint16{uint16(a), uint16(b)}
	}
	return network.New(cfg)
}

func (c *cmdCtx) engine() (*engine.Engine, error) {
	n, err := c.network()
	if err != nil {
		return nil, err
	}
	return engine.New(engine.Config{StateDir: c.s.stateDir, CacheDir: c.s.cacheDir, KernelDir: c.s.kernelDir,
		InitPath: c.s.initPath, Accel: c.s.accel, Jail: c.env.Getenv("UNIK_JAIL"), ShimPath: c.env.Getenv("UNIK_SHIM")}, qemu.Driver{}, n)
}

// progress prints a step on a terminal only.
func (c *cmdCtx) progress(format string, a ...any) {
	if c.env.Terminal {
		fmt.Fprintf(c.env.Stderr, format+"\n", a...)
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parse parses a command's flags, allowing them before and after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
