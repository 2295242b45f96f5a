package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
)

// testAllocator has a fake busy probe: ports in busy cannot be bound.
func testAllocator(t *testing.T, subnet string, lo, hi uint16, busy ...uint16) allocator {
	t.Helper()
	dir := stateDir(t.TempDir())
	if err := dir.ensure(); err != nil {
		t.Fatal(err)
	}
	return allocator{
		dir:       dir,
		subnet:    netip.MustParsePrefix(subnet),
		hostIP:    netip.MustParseAddr("127.0.0.1"),
		portRange: [2]uint16{lo, hi},
		busy: func(ap netip.AddrPort) bool {
			for _, p := range busy {
				if ap.Port() == p {
					return true
				}
			}
			return false
		},
	}
}

func TestLeaseIPSkipsReservedAndExhausts(t *testing.T) {
	a := testAllocator(t, "10.213.9.0/29", 40000, 40010)
	var got []string
	for i := range 5 {
		ip, lease, err := a.leaseIP(fmt.Sprintf("vm%d", i))
		if err != nil {
			t.Fatalf("lease %d: %v", i, err)
		}
		if lease != "ip-"+ip.String() {
			t.Errorf("lease name %q for %v", lease, ip)
		}
		got = append(got, ip.String())
	}
	want := []string{"10.213.9.2", "10.213.9.3", "10.213.9.4", "10.213.9.5", "10.213.9.6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("leased %v, want %v (no .0, .1 or .7)", got, want)
	}
	if _, _, err := a.leaseIP("vm5"); !errors.Is(err, ErrExhausted) {
		t.Errorf("sixth lease in a /29: %v, want ErrExhausted", err)
	}
	if err := a.release("vm2", []string{"ip-10.213.9.4"}); err != nil {
		t.Fatal(err)
	}
	if ip, _, err := a.leaseIP("vm6"); err != nil || ip.String() != "10.213.9.4" {
		t.Errorf("lease after release: %v, %v; want 10.213.9.4", ip, err)
	}
	// release only drops leases held by the given id.
	if err := a.release("intruder", []string{"ip-10.213.9.2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.dir.lease("ip-10.213.9.2")); err != nil {
		t.Errorf("lease of vm0 released by another id: %v", err)
	}
}

func TestLeasePort(t *testing.T) {
	a := testAllocator(t, "10.213.9.0/24", 40000, 40003, 40001)
	p, _, err := a.leasePort("a", 0)
	if err != nil || p != 40000 {
		t.Fatalf("first pick: %d, %v", p, err)
	}
	// 40001 is busy on the host, so the next pick skips it.
	if p, _, err = a.leasePort("b", 0); err != nil || p != 40002 {
		t.Fatalf("second pick: %d, %v; want 40002", p, err)
	}
	// An explicit port held by a lease or busy on the host is refused.
	for _, want := range []uint16{40000, 40001} {
		_, _, err := a.leasePort("c", want)
		if !errors.Is(err, ErrPortInUse) {
			t.Errorf("explicit %d: %v, want ErrPortInUse", want, err)
		} else if msg := fmt.Sprintf("host port %d is already in use", want); err.Error() != msg {
			t.Errorf("explicit %d: message %q, want %q", want, err, msg)
		}
	}
	if _, err := os.Stat(a.dir.lease("port-40001")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused busy port left its lease: %v", err)
	}
	// An explicit port outside the range is fine.
	if p, _, err = a.leasePort("c", 8080); err != nil || p != 8080 {
		t.Errorf("explicit 8080: %d, %v", p, err)
	}
	if p, _, err = a.leasePort("d", 0); err != nil || p != 40003 {
		t.Fatalf("third pick: %d, %v; want 40003", p, err)
	}
	if _, _, err = a.leasePort("e", 0); !errors.Is(err, ErrExhausted) {
		t.Errorf("pick from a full range: %v, want ErrExhausted", err)
	}
}

func TestPortBusyProbe(t *testing.T) {
	l, err := netListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(l.Addr().String())
	if !portBusy(ap) {
		t.Errorf("portBusy(%v) = false while listening", ap)
	}
	_ = l.Close()
	if portBusy(ap) {
		t.Errorf("portBusy(%v) = true after close", ap)
	}
}

// Goroutines, each with its own allocator as separate processes would have,
// take the StateDir lock and lease: every address is distinct.
func TestConcurrentLeasesAreDistinct(t *testing.T) {
	base := testAllocator(t, "10.213.9.0/24", 41000, 41999)
	const workers = 32
	var wg sync.WaitGroup
	ips := make([]netip.Addr, workers)
	ports := make([]uint16, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			a := base // a copy
			unlock, err := a.dir.lock(context.Background())
			if err != nil {
				errs[i] = err
				return
			}
			defer unlock()
			id := fmt.Sprintf("vm%d", i)
			if ips[i], _, errs[i] = a.leaseIP(id); errs[i] == nil {
				ports[i], _, errs[i] = a.leasePort(id, 0)
			}
		})
	}
	wg.Wait()
	seenIP, seenPort := map[netip.Addr]int{}, map[uint16]int{}
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if j, dup := seenIP[ips[i]]; dup {
			t.Errorf("workers %d and %d both got %v", j, i, ips[i])
		}
		if j, dup := seenPort[ports[i]]; dup {
			t.Errorf("workers %d and %d both got port %d", j, i, ports[i])
		}
		seenIP[ips[i]], seenPort[ports[i]] = i, i
	}
	held, err := base.dir.leases()
	if err != nil || len(held) != 2*workers {
		t.Errorf("%d lease files, want %d (%v)", len(held), 2*workers, err)
	}
}

// Without the lock, O_EXCL alone still keeps leases unique.
func TestLeasesUniqueWithoutLock(t *testing.T) {
	base := testAllocator(t, "10.213.9.0/24", 41000, 41999)
	const workers = 16
	var wg sync.WaitGroup
	ips := make([]netip.Addr, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() { ips[i], _, errs[i] = base.leaseIP(fmt.Sprintf("vm%d", i)) })
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i := range workers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[ips[i]] {
			t.Errorf("%v leased twice", ips[i])
		}
		seen[ips[i]] = true
	}
}

func TestLockHonoursContext(t *testing.T) {
	dir := stateDir(t.TempDir())
	unlock, err := dir.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dir.lock(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("second lock with a cancelled context: %v", err)
	}
}

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{
		"10.213.0.0/24": "10.213.0.255",
		"10.213.9.0/29": "10.213.9.7",
		"10.0.0.0/8":    "10.255.255.255",
		"10.213.0.0/30": "10.213.0.3",
	} {
		if got := lastAddr(netip.MustParsePrefix(p)); got.String() != want {
			t.Errorf("lastAddr(%s) = %v, want %s", p, got, want)
		}
	}
}
