package hostile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/network"
)

// TestJailedQEMUHoldsNothingOfRoot boots a VM on a bridge (tap handed over as a descriptor)
// and checks from /proc what a guest that escaped into QEMU would hold: an unprivileged
// user of its own, no capability in any set, no_new_privs, a seccomp filter, its own
// cgroup with the VM's limits, and a file system of its own without the cell's files.
func TestJailedQEMUHoldsNothingOfRoot(t *testing.T) {
	w := jailNewWorld(t, network.ModeBridge)
	info := w.jailRun(engine.RunSpec{Image: w.jailHello(), MemoryMB: 128, CPUWeight: 50,
		Ports: []network.PortRequest{{GuestPort: 8080}}})
	jailWaitHTTP(t, jailURL(t, info), time.Minute)
	info, err := w.eng.Get(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	pid := info.PID
	st := jailStatus(t, pid)

	uid := strconv.FormatUint(uint64(info.JailID), 10)
	if info.JailID < engine.DefaultJailIDFirst || st["Uid"] != strings.Repeat(uid+"\t", 3)+uid || st["Gid"] != strings.Repeat(uid+"\t", 3)+uid {
		t.Errorf("QEMU runs as uid %q gid %q, want the VM's own id %s", st["Uid"], st["Gid"], uid)
	}
	if st["Groups"] != "" {
		t.Errorf("supplementary groups %q", st["Groups"])
	}
	for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if st[set] != "0000000000000000" {
			t.Errorf("%s = %s", set, st[set])
		}
	}
	if st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
		t.Errorf("NoNewPrivs %s, Seccomp %s", st["NoNewPrivs"], st["Seccomp"])
	}
	if nspid := strings.Fields(st["NSpid"]); len(nspid) != 2 || nspid[1] != "1" {
		t.Errorf("NSpid %q: QEMU is not PID 1 of its own PID namespace", st["NSpid"])
	}

	// its cgroup, with the VM's limits: memory = RAM + overhead (+ TCG cache), pids, shares
	mem := int64(128+qemu.VMMOverheadMB) << 20
	if info.Accel == "tcg" {
		mem += qemu.TCGCacheMB << 20
	}
	if got := w.jailCgroupValue(pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.FormatInt(mem, 10) {
		t.Errorf("memory limit %s, want %d", got, mem)
	}
	if got := w.jailCgroupValue(pid, "pids", "pids.max", "pids.max"); got != strconv.Itoa(qemu.VMMBaseThreads+1) {
		t.Errorf("pids limit %s", got)
	}
	if got := w.jailCgroupValue(pid, "cpu", "cpu.shares", "cpu.weight"); got != "512" && got != "20" { // v1 shares / v2 weight of cpu_weight 50
		t.Errorf("cpu %s", got)
	}
	if cg := w.jailCgroupOf(pid, "memory"); !strings.HasSuffix(cg, "/unik-hostile/"+info.ID) {
		t.Errorf("cgroup %s", cg)
	}

	// its file system: no /etc, no /var (so neither /etc/shadow nor /var/lib/unik), its own
	// directory at /vm read-only, a read-only root, no /dev/net/tun
	root := fmt.Sprintf("/proc/%d/root", pid)
	for _, absent := range []string{"etc/shadow", "etc", "var/lib/unik", "var", "dev/net/tun", "proc/1", "sys/fs/cgroup", "root", "home"} {
		if _, err := os.Lstat(filepath.Join(root, absent)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the jail shows /%s (%v)", absent, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "vm", "instance.json")); err != nil {
		t.Errorf("the jail does not show the VM's own directory at /vm: %v", err)
	}
	entries, _ := os.ReadDir(root)
	var top []string
	for _, e := range entries {
		top = append(top, e.Name())
	}
	sort.Strings(top)
	if !slices.Equal(top, []string{"bin", "dev", "kernel", "lib", "lib64", "sbin", "usr", "vm"}) {
		t.Errorf("the jail's / holds %v", top)
	}
	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, mp := range []string{"/", "/vm", "/usr", "/kernel"} {
		if !mountedReadOnly(string(mounts), mp) {
			t.Errorf("%s is not mounted read-only in the jail:\n%s", mp, mounts)
		}
	}
	for _, ns := range []string{"mnt", "pid", "ipc", "uts"} {
		mine, _ := os.Readlink("/proc/self/ns/" + ns)
		its, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if mine == its {
			t.Errorf("QEMU shares the %s namespace with the host (%s)", ns, its)
		}
	}
	// the VM's directory is traversable by the VM's group only; its files are root's
	dst, _ := os.Stat(filepath.Join(root, "vm"))
	if sys := dst.Sys().(*syscall.Stat_t); dst.Mode().Perm() != 0o710 || sys.Uid != 0 || sys.Gid != info.JailID {
		t.Errorf("the VM's directory is %v %d:%d", dst.Mode(), sys.Uid, sys.Gid)
	}

	// removing the instance removes its cgroup and frees its id
	cg := w.jailCgroupOf(pid, "memory")
	if err := w.eng.Remove(context.Background(), info.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s outlived its instance", cg)
	}
	if _, err := os.Stat(filepath.Join("/run/unik/jail-ids", uid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("jail id %s is still leased", uid)
	}
}

// mountedReadOnly tells whether mountinfo has mount point mp with the ro option.
func mountedReadOnly(mountinfo, mp string) bool {
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == mp {
			return slices.Contains(strings.Split(f[5], ","), "ro")
		}
	}
	return false
}

// TestBusyNeighbourDoesNotStarveAServer: a VM spinning on its CPU beside a serving VM (equal
// weights): the server keeps answering, and each VM's QEMU gets a share of the host.
func TestBusyNeighbourDoesNotStarveAServer(t *testing.T) {
	w := jailNewWorld(t, network.ModeUser)
	busy := w.jailRun(engine.RunSpec{Image: w.jailImage("busy", filepath.Join(w.repo, "examples", "busy-loop")), MemoryMB: 64})
	server := w.jailRun(engine.RunSpec{Image: w.jailHello(), MemoryMB: 128, Ports: []network.PortRequest{{GuestPort: 8080}}})
	url := jailURL(t, server)
	jailWaitHTTP(t, url, 2*time.Minute)
	busyDir := hypervisor.Dir(filepath.Join(w.state, "instances", busy.ID))
	logsWaitFor(t, busyDir.Log("unik.status"), time.Minute, func(l string) bool { return strings.Contains(l, `"started"`) })
	busyPID := mustGet(t, w, busy.ID).PID
	before := jailCPUTime(t, busyPID)
	start := time.Now()
	c := &http.Client{Timeout: 10 * time.Second}
	var worst time.Duration
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	for i := 0; time.Since(start) < 5*time.Second; i++ {
		t0 := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("request %d to the server beside a busy VM: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
		worst = max(worst, time.Since(t0))
		<-pace.C
	}
	spent := jailCPUTime(t, busyPID) - before
	elapsed := time.Since(start)
	t.Logf("5 s of requests beside a busy VM: slowest %s; the busy VM used %s CPU meanwhile", worst, spent)
	// An idle guest uses about 1% of a core under TCG; a spinning one all it is given. On a
	// machine shared with other tests (go test runs packages in parallel) that may be far from a
	// whole core, so a tenth of the time still tells a busy VM from an idle one.
	if spent < elapsed/10 {
		t.Errorf("the busy VM used only %s of CPU in %s: it is not busy, the case proves nothing", spent, elapsed)
	}
	if worst > 5*time.Second {
		t.Errorf("the server took %s to answer beside a busy VM", worst)
	}
	if st := mustGet(t, w, busy.ID).State; st != engine.StateRunning {
		t.Errorf("the busy VM is %s", st)
	}
}

func mustGet(t *testing.T, w *jailWorld, id string) engine.Info {
	t.Helper()
	info, err := w.eng.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestKilledShimTakesItsQEMUAlong: SIGKILL to a VM's unik-shim. QEMU dies with it (its
// parent-death signal), the engine reports the instance crashed, and Remove removes the
// cgroup the shim could not.
func TestKilledShimTakesItsQEMUAlong(t *testing.T) {
	w := jailNewWorld(t, network.ModeUser)
	info := w.jailRun(engine.RunSpec{Image: w.jailHello(), MemoryMB: 64})
	info = mustGet(t, w, info.ID)
	qemuPID := info.PID
	cg := w.jailCgroupOf(qemuPID, "memory")
	dir := hypervisor.Dir(filepath.Join(w.state, "instances", info.ID))
	b, err := os.ReadFile(dir.ShimPIDFile())
	if err != nil {
		t.Fatal(err)
	}
	shimPID, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	pidfd, err := unix.PidfdOpen(qemuPID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	if err := syscall.Kill(shimPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 10_000); err != nil || n != 1 {
		t.Fatalf("QEMU %d still runs 10 s after its shim was killed (%v)", qemuPID, err)
	}
	got := mustGet(t, w, info.ID)
	if got.State != engine.StateCrashed {
		t.Errorf("state %s (%s), want crashed", got.State, got.Reason)
	}
	if _, err := os.Stat(cg); err != nil {
		t.Logf("the cgroup went with the shim already: %v", err)
	}
	if err := w.eng.Remove(context.Background(), info.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s outlived Remove", cg)
	}
}
