// Command unik-bench-isolation measures what the jail (unik-shim) gives and costs, in one
// run, side by side: a serving VM's HTTP latency alone, beside busy-looping VMs with equal CPU
// weights, and with the server at 4x their weight (and, for reference, beside busy VMs
// without the jail); and cold boot time (Run -> first HTTP 200) jailed and not, boots
// interleaved. Run it through scripts/bench-isolation, as root.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

func main() {
	repo := flag.String("repo", ".", "the repository (bin/, examples/)")
	boots := flag.Int("boots", 10, "boots per variant")
	requests := flag.Int("requests", 200, "requests per latency scenario")
	busy := flag.Int("busy", runtime.NumCPU(), "busy-looping VMs beside the server (one vCPU each)")
	flag.Parse()
	if err := run(*repo, *boots, *requests, *busy); err != nil {
		fmt.Fprintln(os.Stderr, "unik-bench-isolation:", err)
		os.Exit(1)
	}
}

type bench struct {
	jailed, plain *engine.Engine
	hello, spin   imagestore.Image
	requests      int
}

func run(repo string, boots, requests, busy int) error {
	state, err := os.MkdirTemp("", "ubiso")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	net, err := network.New(network.Config{Mode: network.ModeBridge, StateDir: filepath.Join(state, "network"), Bridge: "ukbiso",
		Table: "unikbiso", Subnet: netip.MustParsePrefix("10.213.220.0/24"), HostIP: netip.MustParseAddr("127.0.0.1"),
		PortRange: [2]uint16{43300, 43399}})
	if err != nil {
		return err
	}
	defer net.Teardown(context.Background())
	b := &bench{requests: requests}
	for _, e := range []struct {
		eng  **engine.Engine
		jail string
	}{{&b.jailed, "on"}, {&b.plain, "off"}} {
		*e.eng, err = engine.New(engine.Config{StateDir: filepath.Join(state, "engine-"+e.jail), CacheDir: kernel.DefaultCacheDir(),
			KernelDir: os.Getenv("UNIK_KERNEL"), InitPath: filepath.Join(repo, "bin", "unik-init"),
			ShimPath: filepath.Join(repo, "bin", "unik-shim"), Jail: e.jail, CgroupParent: "unik-bench"}, qemu.Driver{}, net)
		if err != nil {
			return err
		}
	}
	store := imagestore.Store{Dir: filepath.Join(state, "engine-on")}
	if b.hello, err = build(store, repo, "hello", "examples/hello-go"); err != nil {
		return err
	}
	if b.spin, err = build(store, repo, "busy", "examples/busy-loop"); err != nil {
		return err
	}
	fmt.Printf("host: %d CPUs; VMs: 1 vCPU, 128 MiB; accelerator as `unik info` says\n\n", runtime.NumCPU())
	if err := b.fairness(busy); err != nil {
		return err
	}
	fmt.Println()
	return b.bootTimes(boots)
}

func build(store imagestore.Store, repo, name, dir string) (imagestore.Image, error) {
	tmp, err := store.TempFile()
	if err != nil {
		return imagestore.Image{}, err
	}
	defer os.Remove(tmp.Name())
	res, err := image.Build(context.Background(), image.BuildOptions{AppDir: filepath.Join(repo, dir),
		InitPath: filepath.Join(repo, "bin", "unik-init")}, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return imagestore.Image{}, fmt.Errorf("build %s: %w", dir, err)
	}
	return store.Put(name, tmp.Name(), res)
}

// fairness: the server's latency alone, beside busy VMs at equal weight, at 4x their
// weight, and beside busy VMs without the jail.
func (b *bench) fairness(busy int) error {
	type scenario struct {
		label        string
		eng          *engine.Engine
		busy, weight int // busy VMs and their cpu weight; the server's is 100
		median, p95  time.Duration
	}
	scenarios := []*scenario{
		{label: "server alone (jailed)", eng: b.jailed},
		{label: fmt.Sprintf("beside %d busy, equal weights", busy), eng: b.jailed, busy: busy, weight: 100},
		{label: fmt.Sprintf("beside %d busy, server 4x", busy), eng: b.jailed, busy: busy, weight: 25},
		{label: fmt.Sprintf("beside %d busy, no jail", busy), eng: b.plain, busy: busy, weight: 100},
	}
	for _, s := range scenarios {
		lat, err := b.latencies(s.eng, s.busy, s.weight)
		if err != nil {
			return fmt.Errorf("%s: %w", s.label, err)
		}
		s.median, s.p95 = pct(lat, 50), pct(lat, 95)
	}
	fmt.Printf("CPU fairness: %d sequential GET / to a jailed-or-not hello-go VM\n", b.requests)
	fmt.Printf("%-34s %10s %10s\n", "scenario", "median", "p95")
	for _, s := range scenarios {
		fmt.Printf("%-34s %10s %10s\n", s.label, ms(s.median), ms(s.p95))
	}
	return nil
}

// latencies boots the server and n busy VMs of weight w on eng, lets them settle, times
// the requests, and removes every VM.
func (b *bench) latencies(eng *engine.Engine, n, w int) ([]time.Duration, error) {
	ctx := context.Background()
	defer removeAll(eng)
	server, err := eng.Run(ctx, engine.RunSpec{Image: b.hello, MemoryMB: 128, CPUWeight: 100,
		Ports: []network.PortRequest{{GuestPort: 8080}}})
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", server.Network.Ports[0].HostPort)
	if _, err := firstOK(url, 2*time.Minute); err != nil {
		return nil, err
	}
	for range n {
		vm, err := eng.Run(ctx, engine.RunSpec{Image: b.spin, MemoryMB: 64, CPUWeight: w})
		if err != nil {
			return nil, err
		}
		if err := untilRunning(eng, vm.ID); err != nil {
			return nil, err
		}
	}
	warm := time.NewTimer(time.Second) // warm-up: the server's translated code under contention
	<-warm.C
	c := &http.Client{Timeout: 30 * time.Second}
	var out []time.Duration
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for range b.requests {
		t0 := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		out = append(out, time.Since(t0))
		<-pace.C
	}
	return out, nil
}

// bootTimes: Run -> first HTTP 200, jailed and not, interleaved; and how long Run itself
// took (until QEMU's monitor answered: the part the jail adds to).
func (b *bench) bootTimes(n int) error {
	type variant struct {
		label       string
		eng         *engine.Engine
		boot, spawn []time.Duration
	}
	vs := []*variant{{label: "jailed (unik-shim)", eng: b.jailed}, {label: "not jailed (QEMU directly)", eng: b.plain}}
	for i := range n {
		for _, v := range vs {
			boot, spawn, err := b.boot(v.eng)
			if err != nil {
				return fmt.Errorf("boot %d: %w", i+1, err)
			}
			v.boot, v.spawn = append(v.boot, boot), append(v.spawn, spawn)
		}
	}
	fmt.Printf("cold boot, Run -> first HTTP 200 (hello-go, %d boots each, interleaved)\n", n)
	fmt.Printf("%-34s %10s %10s %10s   %s\n", "variant", "median", "p95", "min", "Run returned (QEMU up): median")
	for _, v := range vs {
		fmt.Printf("%-34s %10s %10s %10s   %s\n", v.label, ms(pct(v.boot, 50)), ms(pct(v.boot, 95)), ms(pct(v.boot, 0)), ms(pct(v.spawn, 50)))
	}
	j, p := vs[0], vs[1]
	fmt.Printf("jail cost: median %+.1f%%, min %+.1f%%, Run %+.1f ms (median)\n",
		100*(float64(pct(j.boot, 50))/float64(pct(p.boot, 50))-1), 100*(float64(pct(j.boot, 0))/float64(pct(p.boot, 0))-1),
		float64(pct(j.spawn, 50)-pct(p.spawn, 50))/float64(time.Millisecond))
	return nil
}

// boot returns Run -> first HTTP 200, and Run's own duration.
func (b *bench) boot(eng *engine.Engine) (time.Duration, time.Duration, error) {
	defer removeAll(eng)
	start := time.Now()
	info, err := eng.Run(context.Background(), engine.RunSpec{Image: b.hello, MemoryMB: 128, Ports: []network.PortRequest{{GuestPort: 8080}}})
	if err != nil {
		return 0, 0, err
	}
	spawned := time.Since(start)
	at, err := firstOK(fmt.Sprintf("http://127.0.0.1:%d/", info.Network.Ports[0].HostPort), 2*time.Minute)
	if err != nil {
		return 0, 0, err
	}
	return at.Sub(start), spawned, nil
}

// firstOK polls url every 10 ms and returns when it first answered 200.
func firstOK(url string, within time.Duration) (time.Time, error) {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s did not answer within %s", url, within)
		}
		<-tick.C
	}
}

// untilRunning polls the instance until its app has started (what `unik run` waits for).
func untilRunning(eng *engine.Engine, id string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info, err := eng.Get(id)
		if err != nil {
			return err
		}
		if info.State == engine.StateRunning {
			return nil
		}
		if info.State != engine.StateBooting || time.Now().After(deadline) {
			return fmt.Errorf("busy VM %s is %s (%s)", id, info.State, info.Reason)
		}
		<-tick.C
	}
}

func removeAll(eng *engine.Engine) {
	vms, _ := eng.List()
	for _, v := range vms {
		_ = eng.Remove(context.Background(), v.ID, true)
	}
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100 // nearest rank
	if i > 0 {
		i--
	}
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
