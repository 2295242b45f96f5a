package qemu

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/unik-cf/unik/src/hypervisor"
)

func spec() hypervisor.Spec {
	return hypervisor.Spec{Name: "abc123", Dir: "/run/vm", Kernel: "/k/vmlinux", Initrd: "/run/vm/initrd",
		Transport: "mmio", MemoryMB: 128, CPUs: 1, Accel: hypervisor.AccelTCG,
		Net:      hypervisor.Net{Kind: "tap", Tap: "ukabc123", MAC: "52:54:0a:d5:00:02"},
		Channels: []hypervisor.Channel{{Name: "unik.stdout"}, {Name: "unik.control", Input: true}}}
}

// value returns the argument after flag's n-th occurrence.
func values(args []string, flag string) []string {
	var out []string
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			out = append(out, args[i+1])
		}
	}
	return out
}

func TestArgsMicrovmTCG(t *testing.T) {
	args, err := Args(spec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(args, "-machine"); len(got) != 1 || !strings.HasPrefix(got[0], "microvm,") || !strings.Contains(got[0], "acpi=off") {
		t.Errorf("-machine %v", got)
	}
	if got := values(args, "-accel"); !slices.Equal(got, []string{"tcg,tb-size=64"}) {
		t.Errorf("-accel %v", got)
	}
	if got := values(args, "-cpu"); !slices.Equal(got, []string{"max"}) {
		t.Errorf("-cpu %v", got)
	}
	appendArg := values(args, "-append")[0]
	for _, want := range []string{"tsc_early_khz=2000000", "no_timer_check", "lpj=8000000", "pci=off", "panic=-1", "rdinit=/init"} {
		if !strings.Contains(appendArg, want) {
			t.Errorf("kernel command line lacks %s: %s", want, appendArg)
		}
	}
	for _, want := range []string{"-no-reboot", "-nodefaults"} {
		if !slices.Contains(args, want) {
			t.Errorf("missing %s", want)
		}
	}
	if got := values(args, "-m"); !slices.Equal(got, []string{"128M"}) {
		t.Errorf("-m %v", got)
	}
	if got := values(args, "-netdev"); len(got) != 1 || got[0] != "tap,id=net0,ifname=ukabc123,script=no,downscript=no,vhost=off" {
		t.Errorf("-netdev %v", got)
	}
	devs := strings.Join(values(args, "-device"), " ")
	for _, want := range []string{"virtio-net-device,netdev=net0,mac=52:54:0a:d5:00:02", "virtio-serial-device", "virtserialport,chardev=ch0,name=unik.stdout", "virtio-rng-device"} {
		if !strings.Contains(devs, want) {
			t.Errorf("devices lack %s: %s", want, devs)
		}
	}
	chardevs := strings.Join(values(args, "-chardev"), " ")
	if !strings.Contains(chardevs, "file,id=ch0,path=/run/vm/unik.stdout.log") || !strings.Contains(chardevs, "pipe,id=ch1,path=/run/vm/chan-unik.control") {
		t.Errorf("chardevs: %s", chardevs)
	}
	if got := values(args, "-name"); !slices.Equal(got, []string{"unik-abc123,debug-threads=off"}) {
		t.Errorf("-name %v (the process identity check depends on it)", got)
	}
	if sb := values(args, "-sandbox"); len(sb) != 1 || !strings.Contains(sb[0], "spawn=deny") {
		t.Errorf("-sandbox %v", sb)
	}
}

func TestArgsKVMAndPCI(t *testing.T) {
	s := spec()
	s.Accel, s.Transport = hypervisor.AccelKVM, "pci"
	args, err := Args(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(args, "-cpu"); !slices.Equal(got, []string{"host"}) {
		t.Errorf("-cpu %v", got)
	}
	appendArg := values(args, "-append")[0]
	if strings.Contains(appendArg, "tsc_early_khz") || strings.Contains(appendArg, "pci=off") {
		t.Errorf("kvm/pci command line: %s", appendArg)
	}
	if m := values(args, "-machine")[0]; !strings.Contains(m, "pcie=on") || !strings.Contains(m, "acpi=on") {
		t.Errorf("-machine %s", m)
	}
	if devs := strings.Join(values(args, "-device"), " "); !strings.Contains(devs, "virtio-net-pci") || strings.Contains(devs, "-device,") {
		t.Errorf("devices: %s", devs)
	}
}

func TestArgsUserNetworkForwards(t *testing.T) {
	s := spec()
	s.Net = hypervisor.Net{Kind: "user", Forwards: []hypervisor.Forward{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 40001, GuestPort: 8080}}}
	args, err := Args(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(args, "-netdev"); len(got) != 1 || got[0] != "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40001-:8080" {
		t.Errorf("-netdev %v", got)
	}
	s.Net.Forwards[0].HostIP = netip.MustParseAddr("::1")
	if _, err := Args(s, nil); err == nil {
		t.Error("an IPv6 forward was accepted")
	}
}

func TestArgsEscapesCommasInPaths(t *testing.T) {
	s := spec()
	s.Dir = "/tmp/a,b"
	args, err := Args(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q := values(args, "-qmp")[0]; q != "unix:/tmp/a,,b/monitor.sock,server=on,wait=off" {
		t.Errorf("-qmp %s", q)
	}
}

func TestArgsRejectsBadSpecs(t *testing.T) {
	cases := map[string]func(*hypervisor.Spec){
		"no name":       func(s *hypervisor.Spec) { s.Name = "" },
		"no kernel":     func(s *hypervisor.Spec) { s.Kernel = "" },
		"tiny memory":   func(s *hypervisor.Spec) { s.MemoryMB = 16 },
		"no cpus":       func(s *hypervisor.Spec) { s.CPUs = 0 },
		"bad accel":     func(s *hypervisor.Spec) { s.Accel = "hvf" },
		"bad transport": func(s *hypervisor.Spec) { s.Transport = "isa" },
		"tap no name":   func(s *hypervisor.Spec) { s.Net.Tap = "" },
		"bad net":       func(s *hypervisor.Spec) { s.Net.Kind = "vde" },
	}
	for name, mutate := range cases {
		s := spec()
		mutate(&s)
		if _, err := Args(s, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
