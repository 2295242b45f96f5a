package hostile

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/unik-cf/unik/src/devenv/outside"
	"github.com/unik-cf/unik/src/network"
	"github.com/unik-cf/unik/src/network/dnsfwd"
)

const dnsName = "egress-probe.unik.test"

// dnsServe runs a DNS server in the outside world that knows dnsName, and the forwarder on
// the world's gateway (as the cell does) with that server as its one upstream.
func dnsServe(t *testing.T, w *egressWorld) (want netip.Addr, upstream netip.AddrPort, queries *outside.Queries) {
	t.Helper()
	want = w.out.Addrs[1]
	upstream, queries, err := w.out.ServeDNS(map[string]netip.Addr{dnsName + ".": want})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f, err := dnsfwd.New(ctx, dnsfwd.Config{Listen: netip.AddrPortFrom(w.cfg.Gateway(), 53),
		Upstreams: []netip.AddrPort{upstream}, Allow: []netip.Prefix{w.cfg.Subnet}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns forwarder: %v", err)
		}
	})
	return want, upstream, queries
}

// A VM without any egress rule resolves a name served by the DNS server the forwarder on its
// gateway asks; an unknown name fails; the server itself is out of the VM's reach.
func TestDNSResolvesInTheGuest(t *testing.T) {
	w := egressNewWorld(t, true)
	want, upstream, queries := dnsServe(t, w)
	info, c := w.egressBoot(t, nil)
	if got := info.Network.DNS; len(got) != 1 || got[0] != w.cfg.Gateway() {
		t.Errorf("the guest's DNS servers are %v, want its gateway %v", got, w.cfg.Gateway())
	}
	ctx := context.Background()
	addrs, err := c.Resolve(ctx, dnsName)
	if err != nil || !slices.Equal(addrs, []string{want.String()}) {
		t.Errorf("resolve %s in the guest: %v, %v; want %v", dnsName, addrs, err, want)
	}
	if addrs, err := c.Resolve(ctx, "nowhere.unik.test"); err == nil {
		t.Errorf("an unknown name resolved to %v", addrs)
	}
	if udp, _ := queries.Count(); udp == 0 {
		t.Error("the upstream DNS server answered no query: the guest's names came from elsewhere")
	}
	// The forwarder is the way to DNS: the upstream itself is egress, which this VM has none of.
	if res := egressDial(t, c, "udp", upstream, false); !egressDropped(res) {
		t.Errorf("udp from a VM without rules to the upstream %v was not dropped: %+v", upstream, res)
	}
}

// A VM allowed everything beyond the host reaches the outside world and DNS on its gateway,
// and no other port of the host, on the gateway or on the host's other addresses: every such
// attempt is dropped (a refusal would mean the host's stack answered).
func TestDNSGuestReachesNoOtherHostPort(t *testing.T) {
	w := egressNewWorld(t, true)
	want, _, _ := dnsServe(t, w)
	gw := w.cfg.Gateway()
	_, c := w.egressBoot(t, []network.EgressRule{network.AllowAll()}) // the bridge (and gw) exist from here
	type target struct {
		net string
		ap  netip.AddrPort
	}
	var targets []target
	for _, host := range []netip.Addr{gw, w.out.Host} {
		l, err := net.Listen("tcp4", netip.AddrPortFrom(host, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		pc, err := net.ListenPacket("udp4", netip.AddrPortFrom(host, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		targets = append(targets, target{"tcp", netip.MustParseAddrPort(l.Addr().String())},
			target{"udp", netip.MustParseAddrPort(pc.LocalAddr().String())})
	}
	for _, port := range []uint16{22, 1800, 1801, 8080, 8889} { // listening or not
		targets = append(targets, target{"tcp", netip.AddrPortFrom(gw, port)})
	}

	out := netip.AddrPortFrom(w.out.Addrs[0], w.tcp[0])
	if res := egressDial(t, c, "tcp", out, true); !res.OK || res.Reply != outside.Banner(out) {
		t.Fatalf("a VM allowed everything cannot reach %v: %+v", out, res)
	}
	if addrs, err := c.Resolve(context.Background(), dnsName); err != nil || !slices.Equal(addrs, []string{want.String()}) {
		t.Errorf("resolve %s: %v, %v", dnsName, addrs, err)
	}
	for _, tc := range targets {
		if res := egressDial(t, c, tc.net, tc.ap, false); !egressDropped(res) {
			t.Errorf("%s from the VM to the host's %v was not dropped: %+v", tc.net, tc.ap, res)
		}
	}
}
