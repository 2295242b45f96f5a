package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// the mountinfo of this project's Debian machines (v1 controllers, an empty cgroup2)
const hybrid = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// a v2-only stemcell
const unified = `25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestParseHybridIsV1(t *testing.T) {
	h, err := Parse(strings.NewReader(hybrid))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != V1 || h.V1["cpu"] != "/sys/fs/cgroup/cpu,cpuacct" || h.V1["memory"] != "/sys/fs/cgroup/memory" || h.V1["pids"] != "/sys/fs/cgroup/pids" {
		t.Fatalf("%+v", h)
	}
}

func TestParseUnifiedIsV2(t *testing.T) {
	h, err := Parse(strings.NewReader(unified))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != V2 || h.Unified != "/sys/fs/cgroup" {
		t.Fatalf("%+v", h)
	}
}

func TestParseRefusesHalfAV1Set(t *testing.T) {
	partial := "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	if _, err := Parse(strings.NewReader(partial)); err == nil || !strings.Contains(err.Error(), "cpu, pids") {
		t.Fatalf("got %v", err)
	}
	if _, err := Parse(strings.NewReader("22 1 0:5 / /proc rw - proc proc rw\n")); err == nil {
		t.Fatal("no cgroups at all was accepted")
	}
}

func TestParseUnescapesMountPoints(t *testing.T) {
	h, err := Parse(strings.NewReader(`25 22 0:23 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n"))
	if err != nil || h.Unified != "/sys/fs/my cgroup" {
		t.Fatalf("%+v %v", h, err)
	}
}

func TestSharesAndWeights(t *testing.T) {
	cases := []struct {
		weight int
		shares uint64
	}{{100, 1024}, {0, 1024}, {50, 512}, {25, 256}, {1, 10}}
	for _, c := range cases {
		if got := SharesFromWeight(c.weight); got != c.shares {
			t.Errorf("weight %d: %d shares, want %d", c.weight, got, c.shares)
		}
	}
	// runc's conversion: 2 -> 1, 1024 -> 39, 262144 -> 10000
	for shares, weight := range map[uint64]uint64{2: 1, 1024: 39, 262144: 10000, 4096: 157} {
		if got := WeightFromShares(shares); got != weight {
			t.Errorf("%d shares: weight %d, want %d", shares, got, weight)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateV1WritesEachHierarchy(t *testing.T) {
	root := t.TempDir()
	h := Hierarchy{Version: V1, V1: map[string]string{}}
	for _, c := range []string{"cpu", "memory", "pids"} {
		h.V1[c] = filepath.Join(root, c)
	}
	// memsw exists only where swap accounting is on: pretend it is
	os.MkdirAll(filepath.Join(root, "memory", "unik", "vm1"), 0o755)
	os.WriteFile(filepath.Join(root, "memory", "unik", "vm1", "memory.memsw.limit_in_bytes"), nil, 0o644)
	g, err := h.Create("unik/vm1", Limits{MemoryBytes: 300 << 20, Pids: 20, CPUShares: 4096})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory/unik/vm1/memory.limit_in_bytes":       "314572800",
		"memory/unik/vm1/memory.memsw.limit_in_bytes": "314572800",
		"pids/unik/vm1/pids.max":                      "20",
		"cpu/unik/vm1/cpu.shares":                     "4096",
	}
	for f, v := range want {
		if got := read(t, filepath.Join(root, f)); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
	procs := g.ProcsFiles()
	if len(procs) != 3 || procs[1] != filepath.Join(root, "memory", "unik", "vm1", "cgroup.procs") {
		t.Errorf("procs files %v", procs)
	}
}

func TestCreateV2EnablesControllersAndWritesWeight(t *testing.T) {
	root := t.TempDir()
	h := Hierarchy{Version: V2, Unified: root}
	g, err := h.Create("unik/vm2", Limits{MemoryBytes: 200 << 20, Pids: 12, CPUShares: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cgroup.subtree_control", "unik/cgroup.subtree_control"} {
		if got := read(t, filepath.Join(root, f)); got != "+cpu +memory +pids" {
			t.Errorf("%s = %q", f, got)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "unik", "vm2", "cgroup.subtree_control")); err == nil {
		t.Error("the leaf enabled controllers for children it must not have")
	}
	want := map[string]string{"memory.max": "209715200", "pids.max": "12", "cpu.weight": "39"}
	for f, v := range want {
		if got := read(t, filepath.Join(root, "unik", "vm2", f)); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
	if len(g.Dirs) != 1 || g.Dirs[0] != filepath.Join(root, "unik", "vm2") {
		t.Errorf("dirs %v", g.Dirs)
	}
}

func TestParentWeighsAsManyProcessesAsItHoldsVMs(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		root := t.TempDir()
		h := Hierarchy{Version: v, Unified: root, V1: map[string]string{"cpu": filepath.Join(root, "cpu"),
			"memory": filepath.Join(root, "memory"), "pids": filepath.Join(root, "pids")}}
		cpuRoot, file, one := filepath.Join(root, "cpu"), "cpu.shares", 1024
		if v == V2 {
			cpuRoot, file, one = root, "cpu.weight", 100
		}
		l := Limits{MemoryBytes: 64 << 20, Pids: 8, CPUShares: 256}
		for _, name := range []string{"unik/a", "unik/b", "unik/c"} {
			if _, err := h.Create(name, l); err != nil {
				t.Fatal(err)
			}
		}
		if got := read(t, filepath.Join(cpuRoot, "unik", file)); got != strconv.Itoa(3*one) {
			t.Errorf("v%d: parent %s = %s with three VMs", v, file, got)
		}
		for _, name := range []string{"unik/a", "unik/b", "unik/c"} { // a temp dir's group is not empty: empty it as the kernel would
			for _, d := range mustGroup(t, h, name).Dirs {
				entries, _ := os.ReadDir(d)
				for _, e := range entries {
					os.Remove(filepath.Join(d, e.Name()))
				}
			}
		}
		if err := h.Release("unik/a"); err != nil {
			t.Fatal(err)
		}
		if got := read(t, filepath.Join(cpuRoot, "unik", file)); got != strconv.Itoa(2*one) {
			t.Errorf("v%d: parent %s = %s after one of three left", v, file, got)
		}
	}
}

func mustGroup(t *testing.T, h Hierarchy, path string) Group {
	t.Helper()
	g, err := h.Group(path)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGroupRefusesEscapingPathsAndBadLimits(t *testing.T) {
	h := Hierarchy{Version: V2, Unified: t.TempDir()}
	for _, p := range []string{"", "/etc", "../x", "."} {
		if _, err := h.Group(p); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	bad := []Limits{{MemoryBytes: 1 << 20, Pids: 1, CPUShares: 2}, {MemoryBytes: 64 << 20, Pids: 0, CPUShares: 2}, {MemoryBytes: 64 << 20, Pids: 1, CPUShares: 1}}
	for _, l := range bad {
		if _, err := h.Create("unik/x", l); err == nil {
			t.Errorf("limits %+v accepted", l)
		}
	}
}

func TestRemoveOfAGoneGroupIsFine(t *testing.T) {
	root := t.TempDir()
	g := Group{Dirs: []string{filepath.Join(root, "a"), filepath.Join(root, "b")}}
	os.Mkdir(g.Dirs[0], 0o755)
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Dirs[0]); !os.IsNotExist(err) {
		t.Fatal("the group's directory is still there")
	}
}

// TestHostHierarchy checks detection on this machine, and that a real group can be made,
// joined by nothing, and removed (root only: CI runs as root).
func TestHostHierarchy(t *testing.T) {
	h, err := Host()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (it creates a real cgroup)")
	}
	path := "unik-test/" + filepath.Base(t.TempDir())
	g, err := h.Create(path, Limits{MemoryBytes: 64 << 20, Pids: 8, CPUShares: 512})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, d := range g.Dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s remains", d)
		}
		os.Remove(filepath.Dir(d))
	}
}
