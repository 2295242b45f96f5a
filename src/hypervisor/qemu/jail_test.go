package qemu

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/hypervisor/shim"
)

func jailedSpec(dir string) hypervisor.Spec {
	s := spec()
	s.Dir = hypervisor.Dir(dir)
	s.Initrd = filepath.Join(dir, "initrd")
	s.Channels = []hypervisor.Channel{{Name: "unik.stdout", AppLog: true, CapBytes: 1 << 20}, {Name: "unik.stderr", AppLog: true},
		{Name: "unik.status", CapBytes: 4096}, {Name: "unik.control", Input: true}}
	s.CPUWeight, s.LogRateLimit = 25, 1000
	s.Jail = &hypervisor.Jail{Shim: "/bin/unik-shim", UID: 2000007, GID: 2000007}
	return s
}

func TestArgsJailedUsesInheritedDescriptorsAndFIFOs(t *testing.T) {
	args, err := Args(JailView(jailedSpec("/var/lib/unik/instances/abc123")), &Jailed{TapFD: 3, MonitorFD: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := values(args, "-netdev"); len(got) != 1 || got[0] != "tap,id=net0,fd=3,vhost=off" {
		t.Errorf("-netdev %v", got)
	}
	chardevs := strings.Join(values(args, "-chardev"), " ")
	for _, want := range []string{"socket,id=qmp,fd=4,server=on,wait=off", "file,id=console,path=/vm/chan-console",
		"file,id=ch0,path=/vm/chan-unik.stdout", "pipe,id=ch3,path=/vm/chan-unik.control"} {
		if !strings.Contains(chardevs, want) {
			t.Errorf("chardevs lack %s: %s", want, chardevs)
		}
	}
	if got := values(args, "-mon"); !slices.Equal(got, []string{"chardev=qmp,mode=control"}) {
		t.Errorf("-mon %v", got)
	}
	if got := values(args, "-kernel"); !slices.Equal(got, []string{"/kernel"}) {
		t.Errorf("-kernel %v", got)
	}
	if got := values(args, "-initrd"); !slices.Equal(got, []string{"/vm/initrd"}) {
		t.Errorf("-initrd %v", got)
	}
	for _, absent := range []string{"-pidfile", "-qmp"} {
		if slices.Contains(args, absent) {
			t.Errorf("jailed QEMU got %s", absent)
		}
	}
	if sb := values(args, "-sandbox"); len(sb) != 1 || !strings.HasPrefix(sb[0], "on,") || !strings.Contains(sb[0], "spawn=deny") {
		t.Errorf("-sandbox %v", sb)
	}
	if got := values(args, "-name"); !slices.Equal(got, []string{"unik-abc123,debug-threads=off"}) {
		t.Errorf("-name %v", got)
	}
	for _, a := range args {
		if strings.Contains(a, "/var/lib/unik") || strings.Contains(a, "exec:") {
			t.Errorf("argument %q names a host path or an exec: URI", a)
		}
	}
}

func TestShimConfigOfAJailedVM(t *testing.T) {
	dir := t.TempDir()
	s := jailedSpec(dir)
	s.Kernel = "/boot/vmlinuz-test"
	c, err := Driver{Binary: "/usr/bin/true"}.shimConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.UID != 2000007 || c.Cgroup.Path != "unik/abc123" || c.Tap != "ukabc123" || c.LogRateLimit != 1000 {
		t.Errorf("%+v", c)
	}
	if l := c.Cgroup.Limits; l.MemoryBytes != int64(128+VMMOverheadMB+TCGCacheMB)<<20 || l.Pids != int64(VMMBaseThreads+1) || l.CPUShares != 256 {
		t.Errorf("limits %+v", l)
	}
	if c.TapFD() != 3 || c.MonitorFD() != 4 || !slices.Contains(c.Args, "tap,id=net0,fd=3,vhost=off") {
		t.Errorf("descriptors: tap %d monitor %d, args %v", c.TapFD(), c.MonitorFD(), c.Args)
	}
	var targets []string
	for _, m := range c.Mounts {
		targets = append(targets, m.Kind+":"+m.Target)
		if m.Target == "/kernel" && m.Source != "/boot/vmlinuz-test" {
			t.Errorf("kernel from %s", m.Source)
		}
	}
	for _, want := range []string{"bind-ro:/usr", "bind-ro:/kernel", "device:/dev/null", "device:/dev/urandom"} {
		if !slices.Contains(targets, want) {
			t.Errorf("mounts lack %s: %v", want, targets)
		}
	}
	for _, never := range []string{"device:/dev/kvm", "device:/dev/net/tun", "bind-ro:/etc", "bind-ro:/var"} {
		if slices.Contains(targets, never) {
			t.Errorf("mounts hold %s", never)
		}
	}
	caps := map[string]int64{}
	for _, o := range c.Outputs {
		caps[filepath.Base(o.Ring.Current)] = o.Cap
		if o.AppLog != strings.HasPrefix(filepath.Base(o.FIFO), "chan-unik.std") {
			t.Errorf("%s app log %v", o.FIFO, o.AppLog)
		}
	}
	want := map[string]int64{"console.log": hypervisor.DefaultConsoleCap, "unik.stdout.log": 1 << 20,
		"unik.stderr.log": hypervisor.DefaultLogCap, "unik.status.log": 4096}
	for name, cp := range want {
		if caps[name] != cp {
			t.Errorf("%s cap %d, want %d (all: %v)", name, caps[name], cp, caps)
		}
	}
	if !slices.Equal(c.Inputs, []string{filepath.Join(dir, "chan-unik.control")}) || !slices.Equal(c.Readable, []string{s.Initrd}) {
		t.Errorf("inputs %v readable %v", c.Inputs, c.Readable)
	}
	if err := c.Write(filepath.Join(dir, "shim.json")); err != nil {
		t.Fatal(err)
	}
	back, err := shim.Load(filepath.Join(dir, "shim.json"))
	if err != nil || back.Cgroup != c.Cgroup || len(back.Outputs) != len(c.Outputs) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestUserNetworkJailedHasNoTapDescriptor(t *testing.T) {
	s := jailedSpec(t.TempDir())
	s.Net = hypervisor.Net{Kind: "user"}
	c, err := Driver{Binary: "/usr/bin/true"}.shimConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tap != "" || c.MonitorFD() != 3 || !slices.Contains(c.Args, "socket,id=qmp,fd=3,server=on,wait=off") {
		t.Errorf("tap %q monitor fd %d", c.Tap, c.MonitorFD())
	}
}

// TestOrphanedQEMUIsKilledAndTheVMCountsAsEnded is the decision for a jailed VM whose shim
// is gone: QEMU's output has no reader and its cgroup no owner, so the driver kills it and
// reports the VM ended (the engine shows it crashed). A stand-in process carries QEMU's
// identity; the shim pid names a process that has exited.
func TestOrphanedQEMUIsKilledAndTheVMCountsAsEnded(t *testing.T) {
	dir := hypervisor.Dir(t.TempDir())
	fakeQEMU, stdin := startStandIn(t, "unik-orphan1,debug-threads=off")
	defer stdin.Close()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir.PIDFile(), []byte(strconv.Itoa(fakeQEMU.Process.Pid)), 0o644)
	os.WriteFile(dir.ShimPIDFile(), []byte(strconv.Itoa(gone.Process.Pid)), 0o644)

	m, err := Driver{}.Open(dir, "orphan1")
	if err != nil {
		t.Fatal(err)
	}
	if m.PID() != fakeQEMU.Process.Pid {
		t.Fatalf("the stand-in was not recognised as the VM's QEMU (pid %d)", m.PID())
	}
	if m.Alive() {
		t.Fatal("a VM without its shim counts as alive")
	}
	err = fakeQEMU.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.String() != "signal: killed" {
		t.Fatalf("the orphaned QEMU was not killed: %v", err)
	}
	if err := m.Release(); err != nil { // no shim config: nothing to release
		t.Fatal(err)
	}
}

func TestUnjailedVMIsAliveWithoutAShim(t *testing.T) {
	dir := hypervisor.Dir(t.TempDir())
	fake, stdin := startStandIn(t, "unik-plain1,debug-threads=off")
	os.WriteFile(dir.PIDFile(), []byte(strconv.Itoa(fake.Process.Pid)), 0o644)
	m, _ := Driver{}.Open(dir, "plain1")
	if !m.Alive() {
		t.Fatal("an unjailed QEMU without a shim is not alive")
	}
	stdin.Close()
	fake.Wait()
	if m.Alive() {
		t.Fatal("alive after its process ended")
	}
}

// startStandIn starts a process whose command line carries arg (a VM's identity) and returns
// once that command line is readable: exec returns to the parent before the new program's
// arguments are in place, so a /proc/<pid>/cmdline read right after Start can be empty.
// The stand-in ends when stdin is closed.
func startStandIn(t *testing.T, arg string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "echo up; read x", arg)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "up\n" {
		t.Fatalf("the stand-in did not start: %q %v", line, err)
	}
	return cmd, stdin
}
