// Package egressbench measures what application security groups cost (scripts/bench-egress),
// in one run on this machine, side by side:
//
//   - connection set-up time to an allowed address with 10 and with 5,000 egress rules
//     installed, from inside VMs and from namespaces standing in for VMs (no emulation
//     around the host's path); the goal is medians within 10%;
//   - rule installation (and removal) time per instance: network.Attach with 10 and with
//     5,000 rules, without a VM.
//
// It builds its own bridge, table and subnet, and an outside world (package outside) holding
// the allowed server; traffic never leaves this host.
package egressbench

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/devenv/outside"
	"github.com/unik-cf/unik/src/devenv/probe"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

// Options of a run.
type Options struct {
	Repo    string // the checkout (bin/unik-init built)
	Work    string // a private working directory
	Rounds  int    // turns of connection measurements per VM
	PerTurn int    // connections per turn
	Attach  int    // Attach/Detach measurements per rule count
	Few     int    // the small rule count (10)
	Many    int    // the large one (5000)
}

// lab is the machinery of a run.
type lab struct {
	net    *network.Network
	eng    *engine.Engine
	img    imagestore.Image
	out    *outside.World
	target netip.AddrPort
	// closers undo what the run added after setup (namespaces), before the teardown.
	closers []func() error
}

// Run measures and prints to w.
func Run(ctx context.Context, o Options, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return fmt.Errorf("bench-egress needs root (bridge, taps, nftables)")
	}
	unlock, err := lockHost()
	if err != nil {
		return err
	}
	defer unlock()
	l, cleanup, err := setup(ctx, o)
	defer func() { err = joinErr(err, cleanup()) }()
	if err != nil {
		return err
	}
	few, many := Rules(o.Few, l.target), Rules(o.Many, l.target)

	fmt.Fprintf(w, "booting two probe VMs (%d and %d rules)...\n", o.Few, o.Many)
	var vms, nss [2]guest
	for i, rules := range [][]network.EgressRule{few, many} {
		start := time.Now()
		if vms[i], err = l.vmGuest(ctx, rules); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %5d rules: booted and answering in %v\n", len(rules), time.Since(start).Round(time.Millisecond))
		if nss[i], err = l.nsGuest(ctx, fmt.Sprintf("bench-ns-%d", len(rules)), rules); err != nil {
			return err
		}
	}
	var res [2]setupTimes
	for k, gs := range [][2]guest{vms, nss} {
		if res[k].conn, res[k].perGuest, err = l.measure(ctx, o, gs); err != nil {
			return err
		}
	}
	install, remove, err := l.attachTimes(ctx, o, few, many)
	if err != nil {
		return err
	}
	report(w, o, res, install, remove)
	return nil
}

// Rules is n tcp rules to distinct addresses of 10.214.0.0/16 (never dialled), one port
// each, except the one in the middle, which allows target.
func Rules(n int, target netip.AddrPort) []network.EgressRule {
	rules := make([]network.EgressRule, n)
	for i := range rules {
		a := netip.AddrFrom4([4]byte{10, 214, byte(i >> 8), byte(i)})
		p := uint16(1000 + i%60000)
		rules[i] = network.EgressRule{Protocol: network.ProtocolTCP, Destinations: []network.AddrRange{{First: a, Last: a}},
			Ports: []network.PortRange{{First: p, Last: p}}}
	}
	rules[n/2] = network.EgressRule{Protocol: network.ProtocolTCP,
		Destinations: []network.AddrRange{{First: target.Addr(), Last: target.Addr()}},
		Ports:        []network.PortRange{{First: target.Port(), Last: target.Port()}}}
	return rules
}

// attachTimes times Attach and Detach of an attachment (no VM) with few and many rules,
// in turns.
func (l *lab) attachTimes(ctx context.Context, o Options, few, many []network.EgressRule) (install, remove map[int][]time.Duration, err error) {
	install, remove = map[int][]time.Duration{}, map[int][]time.Duration{}
	for i := range o.Attach {
		for _, rules := range [][]network.EgressRule{few, many} {
			id := fmt.Sprintf("bench-attach-%d-%d", len(rules), i)
			start := time.Now()
			if _, err := l.net.Attach(ctx, id, nil, rules...); err != nil {
				return nil, nil, err
			}
			mid := time.Now()
			if err := l.net.Detach(ctx, id); err != nil {
				return nil, nil, err
			}
			install[len(rules)] = append(install[len(rules)], mid.Sub(start))
			remove[len(rules)] = append(remove[len(rules)], time.Since(mid))
		}
	}
	return install, remove, nil
}

// setupTimes are the connection set-up times of one kind of guest, by rule count, and each
// guest's ratio of medians.
type setupTimes struct {
	conn     map[int][]int64
	perGuest [2]float64
}

func report(w io.Writer, o Options, res [2]setupTimes, install, remove map[int][]time.Duration) {
	us := func(v []int64, p float64) time.Duration {
		s := slices.Clone(v)
		slices.Sort(s)
		return time.Duration(s[int(p*float64(len(s)-1))]) * time.Microsecond
	}
	dur := func(v []time.Duration, p float64) time.Duration {
		s := slices.Clone(v)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))].Round(10 * time.Microsecond)
	}
	cols := func(name string, a, b any) {
		fmt.Fprintf(w, "%-30s %12v %12v\n", name, a, b)
	}
	fmt.Fprintf(w, "\nTCP connection set-up to the allowed address (connect(); two guests of each kind, each\n")
	fmt.Fprintf(w, "looked up in either rule set in alternate turns, so the guests' own differences cancel)\n")
	cols("", fmt.Sprintf("%d rules", o.Few), fmt.Sprintf("%d rules", o.Many))
	for k, kind := range []string{"from a VM (TCG; guest clock)", "from a namespace (no VM)"} {
		r := res[k]
		fmt.Fprintf(w, "%s\n", kind)
		cols("  connections", len(r.conn[o.Few]), len(r.conn[o.Many]))
		cols("  median", us(r.conn[o.Few], 0.5), us(r.conn[o.Many], 0.5))
		cols("  p95", us(r.conn[o.Few], 0.95), us(r.conn[o.Many], 0.95))
		ratio := float64(us(r.conn[o.Many], 0.5)) / float64(us(r.conn[o.Few], 0.5))
		fmt.Fprintf(w, "%-30s %25.3f  (goal: within 10%%, 0.900-1.100)\n", "  median ratio many/few", ratio)
		fmt.Fprintf(w, "%-30s %12.3f %12.3f  (each guest against itself)\n", "  per guest ratio many/few", r.perGuest[0], r.perGuest[1])
	}
	fmt.Fprintf(w, "\nRule installation per instance (network.Attach / Detach, no VM; %d each)\n", o.Attach)
	cols("", fmt.Sprintf("%d rules", o.Few), fmt.Sprintf("%d rules", o.Many))
	cols("Attach median", dur(install[o.Few], 0.5), dur(install[o.Many], 0.5))
	cols("Attach max", dur(install[o.Few], 1), dur(install[o.Many], 1))
	cols("Detach median", dur(remove[o.Few], 0.5), dur(remove[o.Many], 0.5))
	fmt.Fprintf(w, "%-30s %25v\n", "installing the rules (median)", (dur(install[o.Many], 0.5) - dur(install[o.Few], 0.5)).Round(10*time.Microsecond))
}

// lockHost takes the lock the hostile network tests take: both pick free subnets.
func lockHost() (func(), error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "unik-hostile-net.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { _ = f.Close() }, nil
}

func joinErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// buildProbe builds the probe image into a store under work.
func buildProbe(ctx context.Context, repo, work string) (imagestore.Image, error) {
	app := filepath.Join(work, "probe-app")
	if err := probe.BuildApp(ctx, repo, app); err != nil {
		return imagestore.Image{}, err
	}
	store := imagestore.Store{Dir: filepath.Join(work, "images")}
	tmp, err := store.TempFile()
	if err != nil {
		return imagestore.Image{}, err
	}
	res, err := image.Build(ctx, image.BuildOptions{AppDir: app, InitPath: filepath.Join(repo, "bin", "unik-init")}, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return imagestore.Image{}, fmt.Errorf("build the probe image: %w", err)
	}
	return store.Put("egress-probe", tmp.Name(), res)
}

func newEngine(repo, work string, n *network.Network) (*engine.Engine, error) {
	return engine.New(engine.Config{StateDir: filepath.Join(work, "engine"), CacheDir: kernel.DefaultCacheDir(),
		InitPath: filepath.Join(repo, "bin", "unik-init")}, qemu.Driver{}, n)
}
