package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

func TestBridgeAttachCreatesIsolatedTap(t *testing.T) {
	n := rootNetwork(t)
	ctx := context.Background()
	id := testIDPrefix + "-0f8e7d6c-5b4a-4a3b"
	a, err := n.Attach(ctx, id, []PortRequest{{GuestPort: 8080}})
	if err != nil {
		t.Fatal(err)
	}
	want := Attachment{
		ID: id, Mode: ModeBridge, Tap: "ukzt0f8e7d6c5b", MAC: "52:54:0a:d5:fa:02",
		GuestIP: netip.MustParsePrefix("10.213.250.2/24"), Gateway: netip.MustParseAddr("10.213.250.1"),
		Ports: []PortMapping{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: n.cfg.PortRange[0], GuestPort: 8080}},
	}
	if len(a.Ports) == 1 && a.Ports[0].HostPort > n.cfg.PortRange[0] && a.Ports[0].HostPort <= n.cfg.PortRange[1] {
		want.Ports[0].HostPort = a.Ports[0].HostPort // the range's first port was taken meanwhile
	}
	if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", want) {
		t.Errorf("attachment\n got %+v\nwant %+v", a, want)
	}
	portLease := portLeaseName(want.Ports[0].HostPort)

	br, err := netlink.LinkByName(n.cfg.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := netlink.AddrList(br, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "10.213.250.1/24" {
		t.Errorf("bridge addresses: %v, %v", addrs, err)
	}
	if v, _ := os.ReadFile("/proc/sys/net/ipv4/conf/" + n.cfg.Bridge + "/route_localnet"); strings.TrimSpace(string(v)) != "1" {
		t.Errorf("route_localnet on the bridge = %q", v)
	}
	tap, err := netlink.LinkByName(a.Tap)
	if err != nil {
		t.Fatal(err)
	}
	if tap.Type() != "tuntap" || tap.Attrs().MasterIndex != br.Attrs().Index || tap.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("tap: type %s, master %d (bridge %d), flags %v", tap.Type(), tap.Attrs().MasterIndex, br.Attrs().Index, tap.Attrs().Flags)
	}
	if tt, ok := tap.(*netlink.Tuntap); !ok || tt.Mode != netlink.TUNTAP_MODE_TAP || tt.NonPersist {
		t.Errorf("tap is not a persistent TAP: %+v", tap)
	}
	// IFF_NO_PI|IFF_PERSIST|IFF_TAP: no IFF_MULTI_QUEUE, no IFF_VNET_HDR
	// (QEMU sets the latter itself when it opens the tap).
	if f := tunFlags(t, a.Tap); f != "0x1802" {
		t.Errorf("tun_flags = %s, want 0x1802", f)
	}
	pi, err := netlink.LinkGetProtinfo(tap)
	if err != nil || !pi.Isolated {
		t.Errorf("bridge port isolation: %+v, %v", pi, err)
	}
	rules, err := n.nft().commented()
	if err != nil {
		t.Fatal(err)
	}
	chains := []string{}
	for _, r := range rules {
		if r.ID == id {
			chains = append(chains, r.Chain)
		}
	}
	if fmt.Sprint(chains) != "[prerouting output]" {
		t.Errorf("DNAT rules in chains %v, want prerouting and output", chains)
	}
	if taps, err := n.nft().guardTaps(); err != nil || fmt.Sprint(taps) != "["+a.Tap+"]" {
		t.Errorf("guard sets name %v, %v; want only %s", taps, err, a.Tap)
	}
	for _, lease := range []string{"ip-10.213.250.2", portLease} {
		if b, err := os.ReadFile(n.dir.lease(lease)); err != nil || string(b) != id {
			t.Errorf("lease %s: %q, %v", lease, b, err)
		}
	}

	if err := n.Detach(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(a.Tap); !isNotFound(err) {
		t.Errorf("tap still there after Detach: %v", err)
	}
	if rules, err := n.nft().commented(); err != nil || len(rules) != 0 {
		t.Errorf("rules after Detach: %+v, %v", rules, err)
	}
	if taps, err := n.nft().guardTaps(); err != nil || len(taps) != 0 {
		t.Errorf("guard elements after Detach: %v, %v", taps, err)
	}
	assertStateEmpty(t, n)
	if err := n.Detach(ctx, id); err != nil {
		t.Errorf("second Detach: %v", err)
	}
}

// The DNAT data path end to end: a "guest" in its own netns, plugged into
// the bridge through a veth instead of a tap, serves HTTP; the host reaches
// it on 127.0.0.1:hostPort. The guest cannot open a connection to the host.
func TestBridgeDNATReachesGuest(t *testing.T) {
	n := rootNetwork(t)
	ctx := context.Background()
	ns := newNetns(t)
	hostEnd, peer := fakeGuestLink(t)
	id := testIDPrefix + "-dnat"
	a, err := n.attach(ctx, id, []PortRequest{{GuestPort: 8080}, {HostPort: freePort(t), GuestPort: 8081}}, nil, hostEnd)
	if err != nil {
		t.Fatal(err)
	}
	configureGuest(t, ns, peer, a)
	for _, port := range []int{8080, 8081} {
		var l net.Listener
		addr := netip.AddrPortFrom(a.GuestIP.Addr(), uint16(port)).String()
		if err := inNetns(ns, func() (err error) { l, err = net.Listen("tcp4", addr); return err }); err != nil {
			t.Fatalf("listen in guest netns: %v", err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s:%d", id, port)
		})}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
	}

	client := &http.Client{Timeout: 5 * time.Second}
	for i, p := range a.Ports {
		url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(p.HostIP, p.HostPort))
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want := fmt.Sprintf("hello from %s:%d", id, 8080+i); err != nil || string(body) != want {
			t.Errorf("GET %s: %q, %v; want %q", url, body, err, want)
		}
	}

	// A host service on the bridge address is out of the guest's reach.
	hostSvc, err := net.Listen("tcp4", netip.AddrPortFrom(a.Gateway, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer hostSvc.Close()
	err = inNetns(ns, func() error {
		c, err := net.DialTimeout("tcp4", hostSvc.Addr().String(), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err
	})
	if err == nil {
		t.Errorf("guest opened a connection to the host at %s", hostSvc.Addr())
	}

	// After Detach the mapping is gone, and so are its conntrack entries:
	// the client's kept-alive connection fails at once rather than hanging.
	if err := n.Detach(ctx, id); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", a.Ports[0].HostPort)); err == nil {
		t.Error("host port still forwarded after Detach")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("request after Detach took %v: stale conntrack entry?", d)
	}
}

func TestBridgeBusyPortFailsAndLeavesNothing(t *testing.T) {
	n := rootNetwork(t)
	ctx := context.Background()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := netip.MustParseAddrPort(l.Addr().String()).Port()

	leased := freePort(t)
	holder, err := n.Attach(ctx, testIDPrefix+"-holder", []PortRequest{{HostPort: leased, GuestPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []uint16{busy, leased} {
		id := testIDPrefix + "-loser"
		_, err := n.Attach(ctx, id, []PortRequest{{GuestPort: 22}, {HostPort: port, GuestPort: 80}})
		if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), fmt.Sprintf("host port %d is already in use", port)) {
			t.Errorf("Attach on port %d: %v, want ErrPortInUse", port, err)
		}
		if _, err := netlink.LinkByName(TapName(id)); !isNotFound(err) {
			t.Errorf("failed Attach left tap %s: %v", TapName(id), err)
		}
	}
	// A failure after the tap exists is rolled back too: a bridge cannot be
	// plugged into a bridge, so plug fails on this "tap".
	la := netlink.NewLinkAttrs()
	la.Name = testBridgePrefix + "x" + randomHex(t, 2)
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deleteLink(la.Name) })
	if _, err := n.attach(ctx, testIDPrefix+"-late", []PortRequest{{GuestPort: 80}}, nil, la.Name); err == nil {
		t.Fatal("plugging a bridge into the bridge succeeded")
	}
	if _, err := netlink.LinkByName(la.Name); !isNotFound(err) {
		t.Errorf("failed Attach did not delete its link: %v", err)
	}

	assertOnly(t, n, holder.ID)
	if err := n.Detach(ctx, holder.ID); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, n)
}

func TestBridgeAttachDetachCyclesLeaveNothing(t *testing.T) {
	n := rootNetwork(t)
	ctx := context.Background()
	start := time.Now()
	for i := range 20 {
		id := fmt.Sprintf("%s-cycle-%02d", testIDPrefix, i)
		a, err := n.Attach(ctx, id, []PortRequest{{GuestPort: 8080}, {GuestPort: 2222}})
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if a.GuestIP.Addr() != netip.MustParseAddr("10.213.250.2") {
			t.Errorf("cycle %d: guest IP %v was not reused", i, a.GuestIP)
		}
		if err := n.Detach(ctx, id); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
	}
	t.Logf("20 attach/detach cycles in %v", time.Since(start))
	assertOnly(t, n)

	if err := n.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(n.cfg.Bridge); !isNotFound(err) {
		t.Errorf("bridge after Teardown: %v", err)
	}
	c, _ := n.nft().conn()
	if ok, err := n.nft().exists(c); ok || err != nil {
		t.Errorf("table after Teardown: %v, %v", ok, err)
	}
	if tables, err := c.ListTablesOfFamily(nftables.TableFamilyBridge); err != nil ||
		slices.ContainsFunc(tables, func(x *nftables.Table) bool { return x.Name == n.cfg.Table }) {
		t.Errorf("bridge table after Teardown: %v", err)
	}
}

// A second Network on the same StateDir, as another process would have,
// sees the first's attachments and leases and can detach them.
func TestBridgeSecondInstanceSeesLeases(t *testing.T) {
	n1 := rootNetwork(t)
	ctx := context.Background()
	a1, err := n1.Attach(ctx, testIDPrefix+"-one", []PortRequest{{GuestPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	n2, err := New(n1.Config())
	if err != nil {
		t.Fatal(err)
	}
	if list, err := n2.Attachments(); err != nil || len(list) != 1 || list[0].ID != a1.ID {
		t.Fatalf("second instance Attachments: %+v, %v", list, err)
	}
	a2, err := n2.Attach(ctx, testIDPrefix+"-two", []PortRequest{{GuestPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	if a2.GuestIP == a1.GuestIP || a2.Ports[0].HostPort == a1.Ports[0].HostPort {
		t.Errorf("second instance reused a lease: %+v vs %+v", a2, a1)
	}
	if err := n2.Detach(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, n1, a2.ID)
}

func TestBridgeLeftoversFindsStrays(t *testing.T) {
	n := rootNetwork(t)
	ctx := context.Background()
	kept, err := n.Attach(ctx, testIDPrefix+"-kept", []PortRequest{{GuestPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	// Strays as a crash or a hand would leave them: a tap on the bridge,
	// DNAT rules and a lease of an id that has no record.
	stray := tapPrefix + testIDPrefix + "stray"
	l := links{bridge: n.cfg.Bridge}
	tap, err := l.createTap(stray)
	if err != nil {
		t.Fatal(err)
	}
	br, _ := netlink.LinkByName(n.cfg.Bridge)
	if err := l.plug(tap, br); err != nil {
		t.Fatal(err)
	}
	ghostPort := freePort(t)
	ghost := []PortMapping{{HostIP: n.cfg.HostIP, HostPort: ghostPort, GuestPort: 80}}
	if err := n.nft().addDNAT("ghost", netip.MustParseAddr("10.213.250.99"), ghost); err != nil {
		t.Fatal(err)
	}
	if _, err := n.dir.createLease(portLeaseName(ghostPort), "ghost"); err != nil {
		t.Fatal(err)
	}
	if err := n.nft().addGuard(stray, "52:54:0a:d5:fa:63", netip.MustParseAddr("10.213.250.99")); err != nil {
		t.Fatal(err)
	}
	got, err := n.Leftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Taps) != "["+stray+"]" || len(got.Rules) != 2 || got.Rules[0].ID != "ghost" ||
		fmt.Sprint(got.Leases) != "["+portLeaseName(ghostPort)+"]" || fmt.Sprint(got.Guards) != "["+stray+"]" {
		t.Errorf("Leftovers: %+v", got)
	}
	if _, err := n.RemoveLeftovers(ctx); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, n, kept.ID)
	if taps, err := n.nft().guardTaps(); err != nil || fmt.Sprint(taps) != "["+kept.Tap+"]" {
		t.Errorf("guard after RemoveLeftovers: %v, %v; want only %s", taps, err, kept.Tap)
	}
}

// assertOnly checks that the network holds exactly the attachments ids:
// records, leases, taps and rules, and no leftovers.
func assertOnly(t *testing.T, n *Network, ids ...string) {
	t.Helper()
	left, err := n.Leftovers(context.Background())
	if err != nil || !left.Empty() {
		t.Errorf("leftovers: %+v, %v", left, err)
	}
	list, err := n.Attachments()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, a.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("attachments %v, want %v", got, ids)
	}
	held, err := n.dir.leases()
	if err != nil {
		t.Fatal(err)
	}
	for name, holder := range held {
		if !slices.Contains(ids, holder) {
			t.Errorf("lease %s held by %s", name, holder)
		}
	}
	rules, err := n.nft().commented()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !slices.Contains(ids, r.ID) {
			t.Errorf("rule %+v", r)
		}
	}
	all, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		name := l.Attrs().Name
		if l.Type() == "tuntap" && strings.HasPrefix(name, tapPrefix+testIDPrefix) &&
			!slices.ContainsFunc(ids, func(id string) bool { return TapName(id) == name }) {
			t.Errorf("tap %s", name)
		}
	}
}

// Two owners (two CLI state directories, or a CLI and a cell) on one
// bridge share its host-wide store: their leases never collide, each lists
// and detaches only its own attachments, and Teardown leaves the bridge to
// the one still using it.
func TestBridgeOwnersShareOneStore(t *testing.T) {
	a := rootNetwork(t)
	ctx := context.Background()
	cfg := a.Config()
	cfg.StateDir = t.TempDir()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := b.Attachments()
		for _, x := range list {
			_ = b.Detach(ctx, x.ID)
		}
	})
	var got []Attachment
	for i, n := range []*Network{a, b, a, b} {
		att, err := n.Attach(ctx, fmt.Sprintf("%s-owner-%d", testIDPrefix, i), []PortRequest{{GuestPort: 8080}})
		if err != nil {
			t.Fatal(err)
		}
		for _, prev := range got {
			if prev.GuestIP == att.GuestIP || prev.Ports[0].HostPort == att.Ports[0].HostPort {
				t.Errorf("%s and %s share an address or port: %v %v, %v %v", prev.ID, att.ID,
					prev.GuestIP, prev.Ports, att.GuestIP, att.Ports)
			}
		}
		got = append(got, att)
	}
	ids := func(n *Network) string {
		list, err := n.Attachments()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return fmt.Sprint(out)
	}
	if ids(a) != fmt.Sprint([]string{got[0].ID, got[2].ID}) || ids(b) != fmt.Sprint([]string{got[1].ID, got[3].ID}) {
		t.Errorf("Attachments: a %s, b %s", ids(a), ids(b))
	}
	if err := a.Detach(ctx, got[1].ID); !errors.Is(err, ErrNotOwner) {
		t.Errorf("a detached b's attachment: %v", err)
	}
	if left, err := a.Leftovers(ctx); err != nil || !left.Empty() {
		t.Errorf("b's objects are leftovers to a: %+v, %v", left, err)
	}
	for _, x := range []Attachment{got[0], got[2]} {
		if err := a.Detach(ctx, x.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(got[1].Tap); err != nil {
		t.Errorf("Teardown by a removed b's tap: %v", err)
	}
	if _, err := netlink.LinkByName(cfg.Bridge); err != nil {
		t.Errorf("Teardown by a removed the bridge b still uses: %v", err)
	}
	assertOnly(t, b, got[1].ID, got[3].ID)
}
