package localdiego

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Postgres is a private PostgreSQL cluster on 127.0.0.1:Port, run by the postgres user when
// this process is root (initdb refuses root), with trust authentication.
type Postgres struct {
	Dir  string
	Port int
	proc *Process
}

// PostgresBinDir finds PostgreSQL's server programs (Debian: /usr/lib/postgresql/<v>/bin).
func PostgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("PostgreSQL is not installed: no initdb on PATH nor in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// StartPostgres initialises a cluster in dir and starts it; databases are created by name.
func StartPostgres(ctx context.Context, dir string, port int, databases ...string) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	logPath := filepath.Join(dir, "postgres.log")
	p := &Postgres{Dir: dir, Port: port}
	p.proc, err = startAs(cred, syscall.SIGQUIT, "postgres", logPath, filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir, "-c", "fsync=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB")
	if err != nil {
		return nil, err
	}
	// A listening socket is not readiness: while it recovers or starts up, the server accepts
	// connections only to refuse them ("the database system is starting up"). pg_isready
	// says when it accepts them.
	ready := func() bool {
		return exec.CommandContext(ctx, filepath.Join(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port)).Run() == nil
	}
	if err := waitFor(ctx, p.proc, 60*time.Second, ready); err != nil {
		p.Stop()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	for _, db := range databases {
		create := exec.CommandContext(ctx, filepath.Join(bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres", db)
		if out, err := create.CombinedOutput(); err != nil {
			p.Stop()
			return nil, fmt.Errorf("createdb %s: %w\n%s", db, err, out)
		}
	}
	return p, nil
}

// URL of a database, for the BBS's and locket's database_connection_string.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// Stop ends the server (fast shutdown).
func (p *Postgres) Stop() {
	if p.proc != nil {
		_ = p.proc.Signal(syscall.SIGINT) // fast shutdown
		if p.proc.Wait(20*time.Second) != nil {
			p.proc.Kill()
		}
	}
}

func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres user, which does not exist: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startAs starts a process as cred (nil: as this process), with deathSig sent to it if this
// process dies first.
func startAs(cred *syscall.Credential, deathSig syscall.Signal, name, logPath string, argv ...string) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig, Credential: cred}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}
