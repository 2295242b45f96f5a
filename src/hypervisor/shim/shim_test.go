package shim

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/hypervisor/shim/cgroup"
	"github.com/unik-cf/unik/src/vmlog"
)

func validConfig(dir string) Config {
	ring := func(n string) vmlog.Files {
		return vmlog.Files{Current: filepath.Join(dir, n+".log"), Previous: filepath.Join(dir, n+".log.1")}
	}
	return Config{Name: "vm1", Dir: dir, Root: filepath.Join(dir, "jail-root"), VMM: "/usr/bin/qemu-system-x86_64",
		Args: []string{"-name", "unik-vm1,debug-threads=off"}, UID: 2000001, GID: 2000001,
		Mounts:  []Mount{{Kind: BindRO, Source: "/usr", Target: "/usr"}, {Kind: Symlink, Source: "usr/lib", Target: "/lib"}},
		Cgroup:  Cgroup{Path: "unik/vm1", Limits: cgroup.Limits{MemoryBytes: 256 << 20, Pids: 13, CPUShares: 1024}},
		Monitor: filepath.Join(dir, "monitor.sock"), PIDFile: filepath.Join(dir, "vmm.pid"),
		Outputs: []Output{{FIFO: filepath.Join(dir, "chan-out"), Ring: ring("out"), Cap: 1024, AppLog: true}},
		VMMLog:  Output{Ring: ring("vmm"), Cap: 1024}}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	if err := validConfig(dir).Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Config){
		"root uid":              func(c *Config) { c.UID = 0 },
		"root gid":              func(c *Config) { c.GID = 0 },
		"relative vmm":          func(c *Config) { c.VMM = "qemu" },
		"no args":               func(c *Config) { c.Args = nil },
		"mount onto /":          func(c *Config) { c.Mounts[0].Target = "/" },
		"mount escape":          func(c *Config) { c.Mounts[0].Target = "/usr/../etc" },
		"mount kind":            func(c *Config) { c.Mounts[0].Kind = "bind-rw" },
		"cgroup escape":         func(c *Config) { c.Cgroup.Path = "../../x" },
		"no memory limit":       func(c *Config) { c.Cgroup.Limits.MemoryBytes = 0 },
		"output without a FIFO": func(c *Config) { c.Outputs[0].FIFO = "" },
		"tiny cap":              func(c *Config) { c.Outputs[0].Cap = 1 },
		"name with slash":       func(c *Config) { c.Name = "a/b" },
	}
	for name, mutate := range bad {
		c := validConfig(dir)
		c.Mounts = append([]Mount{}, c.Mounts...)
		c.Outputs = append([]Output{}, c.Outputs...)
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfigWriteLoad(t *testing.T) {
	dir := t.TempDir()
	c := validConfig(dir)
	c.Tap = "uk1"
	p := filepath.Join(dir, "shim.json")
	if err := c.Write(p); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v", st.Mode())
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Tap != "uk1" || back.TapFD() != 3 || back.MonitorFD() != 4 || back.Outputs[0].Ring != c.Outputs[0].Ring {
		t.Fatalf("%+v", back)
	}
}

// TestPumpsLimitAppLogsAndDrainEverything runs the shim's copy through real FIFOs: the
// stdout and stderr streams share the limit, the notice lands in stdout's ring, a plain
// stream is copied whole, and the copies end when the writers are gone.
func TestPumpsLimitAppLogsAndDrainEverything(t *testing.T) {
	dir := t.TempDir()
	ring := func(n string) vmlog.Files {
		return vmlog.Files{Current: filepath.Join(dir, n+".log"), Previous: filepath.Join(dir, n+".log.1")}
	}
	outs := []Output{
		{FIFO: filepath.Join(dir, "chan-out"), Ring: ring("out"), Cap: 1 << 20, AppLog: true},
		{FIFO: filepath.Join(dir, "chan-err"), Ring: ring("err"), Cap: 1 << 20, AppLog: true},
		{FIFO: filepath.Join(dir, "chan-status"), Ring: ring("status"), Cap: 64},
	}
	var fifos []fifo
	var srcs []io.ReadCloser
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	for _, o := range outs {
		f, err := openFIFO(o.FIFO, uid, gid)
		if err != nil {
			t.Fatal(err)
		}
		fifos, srcs = append(fifos, f), append(srcs, f.r)
	}
	pumps, err := newPumps(outs, srcs, 100)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, p := range pumps {
		wg.Add(1)
		go func() { defer wg.Done(); p.run(t.Logf) }()
	}
	write := func(path, s string) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	write(outs[0].FIFO, strings.Repeat("o", 60)+"\n")                  // 60 of 100
	waitFor(t, outs[0].Ring, 61)                                       // the limiter has counted it
	write(outs[1].FIFO, strings.Repeat("e", 30)+"\n"+"dropped line\n") // 90, then over
	status := strings.Repeat("s", 100)
	write(outs[2].FIFO, status) // more than the status cap of 64
	for _, f := range fifos {
		f.keep.Close()
	}
	wg.Wait()
	closePumps(pumps)
	read := func(f vmlog.Files) string {
		b, err := vmlog.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read(outs[1].Ring); got != strings.Repeat("e", 30)+"\n" {
		t.Errorf("stderr ring %q", got)
	}
	if got := read(outs[0].Ring); got != strings.Repeat("o", 60)+"\n"+vmlog.ExceededNotice(100)+"\n" {
		t.Errorf("stdout ring %q", got)
	}
	if got := read(outs[2].Ring); len(got) > 64 || !strings.HasSuffix(status, got) || len(got) < 32 {
		t.Errorf("status ring holds %d bytes: %q", len(got), got)
	}
}

// waitFor waits until the ring holds n bytes.
func waitFor(t *testing.T, f vmlog.Files, n int) {
	t.Helper()
	r, err := vmlog.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := 0
	for got < n {
		b, _ := io.ReadAll(r)
		got += len(b)
		if got >= n {
			return
		}
		if err := r.Wait(ctx); err != nil {
			t.Fatalf("the ring holds %d bytes, want %d: %v", got, n, err)
		}
	}
}
