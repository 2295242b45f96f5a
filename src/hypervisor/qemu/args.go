package qemu

import (
	"fmt"
	"strings"

	"github.com/unik-cf/unik/src/hypervisor"
)

// tcgCmdline: under TCG on microvm the kernel cannot calibrate the TSC and hangs without these.
var tcgCmdline = []string{"tsc_early_khz=2000000", "no_timer_check", "lpj=8000000", "tsc=reliable"}

// baseCmdline is every boot's: serial console, quiet, reset (which ends QEMU) on reboot or
// panic, no work the single-app guest does not need.
var baseCmdline = []string{
	"console=ttyS0", "quiet", "reboot=t", "panic=-1", "nokaslr", "mitigations=off",
	"cryptomgr.notests", "random.trust_cpu=on", "i8042.noaux", "i8042.nomux", "i8042.nopnp",
	"i8042.dumbkbd", "rdinit=/init",
}

// TCGCacheMB bounds TCG's translation cache (QEMU's default reserves up to 1 GiB), so that a
// VM's memory is bounded by its RAM plus a known overhead.
const TCGCacheMB = 64

// Jailed says how QEMU, inside unik-shim's jail, reaches what the shim prepared: the tap and
// the monitor's listening socket are inherited descriptors, output streams are the shim's
// FIFOs (Dir.Channel), and the shim writes the pid file (QEMU is PID 1 of its namespace).
type Jailed struct {
	TapFD     int
	MonitorFD int
}

// Args builds QEMU's command line for spec. It starts nothing and touches no file. With jail
// nil, QEMU runs on its own: it opens the tap by name, creates its monitor socket, writes
// its pid file and writes output streams straight into their log files (unbounded). With
// jail, spec must be the jail's view of the VM (JailView).
func Args(spec hypervisor.Spec, jail *Jailed) ([]string, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	d := spec.Dir
	output := func(stream string) string { return d.Log(stream).Current }
	if jail != nil {
		output = d.Channel
	}
	machine := "microvm,x-option-roms=off,isa-serial=on,rtc=on"
	dev := func(kind string) string { return kind + "-device" } // virtio-mmio device names
	cmdline := append([]string{}, baseCmdline...)
	if spec.Transport == "pci" {
		machine += ",acpi=on,pcie=on"
		dev = func(kind string) string { return kind + "-pci" }
	} else {
		machine += ",acpi=off,pcie=off"
		cmdline = append(cmdline, "pci=off")
	}
	a := []string{
		"-name", "unik-" + spec.Name + ",debug-threads=off",
		"-machine", machine,
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-m", fmt.Sprintf("%dM", spec.MemoryMB),
		"-smp", fmt.Sprint(spec.CPUs),
	}
	switch spec.Accel {
	case hypervisor.AccelKVM:
		a = append(a, "-accel", "kvm", "-cpu", "host")
	default:
		a = append(a, "-accel", fmt.Sprintf("tcg,tb-size=%d", TCGCacheMB), "-cpu", "max")
		cmdline = append(cmdline, tcgCmdline...)
	}
	a = append(a, "-kernel", spec.Kernel)
	if spec.Initrd != "" {
		a = append(a, "-initrd", spec.Initrd)
	}
	a = append(a, "-append", strings.Join(append(cmdline, spec.Cmdline...), " "))
	a = append(a,
		"-chardev", "file,id=console,path="+escape(output(hypervisor.ConsoleStream)),
		"-serial", "chardev:console",
		"-object", "rng-random,id=rng0,filename=/dev/urandom",
		"-device", dev("virtio-rng")+",rng=rng0",
	)
	if len(spec.Channels) > 0 {
		a = append(a, "-device", dev("virtio-serial")+",max_ports="+fmt.Sprint(len(spec.Channels)+1))
		for i, ch := range spec.Channels {
			id := fmt.Sprintf("ch%d", i)
			if ch.Input {
				// a pipe chardev: QEMU holds the FIFOs open, so the guest always sees a
				// connected host and blocks in read (a socket without a client reads EOF)
				a = append(a, "-chardev", "pipe,id="+id+",path="+escape(d.Channel(ch.Name)))
			} else {
				a = append(a, "-chardev", "file,id="+id+",path="+escape(output(ch.Name)))
			}
			a = append(a, "-device", "virtserialport,chardev="+id+",name="+escape(ch.Name))
		}
	}
	tapFD := 0
	if jail != nil {
		tapFD = jail.TapFD
	}
	netArgs, err := netArgs(spec.Net, dev, tapFD)
	if err != nil {
		return nil, err
	}
	a = append(a, netArgs...)
	if jail != nil {
		a = append(a, "-chardev", fmt.Sprintf("socket,id=qmp,fd=%d,server=on,wait=off", jail.MonitorFD),
			"-mon", "chardev=qmp,mode=control")
	} else {
		a = append(a, "-qmp", "unix:"+escape(d.MonitorSocket())+",server=on,wait=off")
	}
	a = append(a, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny")
	if jail == nil {
		a = append(a, "-pidfile", d.PIDFile())
	}
	return a, nil
}

// netArgs: with tapFD > 0 QEMU uses that inherited tap descriptor instead of opening the
// tap by name.
func netArgs(n hypervisor.Net, dev func(string) string, tapFD int) ([]string, error) {
	nic := dev("virtio-net") + ",netdev=net0"
	if n.MAC != "" {
		nic += ",mac=" + n.MAC
	}
	switch n.Kind {
	case "", "none":
		return nil, nil
	case "tap":
		if tapFD > 0 {
			return []string{"-netdev", fmt.Sprintf("tap,id=net0,fd=%d,vhost=off", tapFD), "-device", nic}, nil
		}
		return []string{"-netdev", "tap,id=net0,ifname=" + escape(n.Tap) + ",script=no,downscript=no,vhost=off", "-device", nic}, nil
	case "user":
		// restrict=on: the guest reaches nothing but its forwarded ports.
		opt := "user,id=net0,restrict=on"
		for _, f := range n.Forwards {
			if !f.HostIP.Is4() {
				return nil, fmt.Errorf("user network: forward host address %s is not IPv4", f.HostIP)
			}
			opt += fmt.Sprintf(",hostfwd=tcp:%s:%d-:%d", f.HostIP, f.HostPort, f.GuestPort)
		}
		return []string{"-netdev", opt, "-device", nic}, nil
	}
	return nil, fmt.Errorf("net kind %q is not none, tap or user", n.Kind)
}

// escape doubles commas, QEMU's option separator.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
