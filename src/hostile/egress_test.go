package hostile

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/devenv/outside"
	"github.com/unik-cf/unik/src/network"
)

// A real VM allowed tcp to one address and port and udp to one address and port reaches
// those, and is refused another port and another address of the same servers. Its app is
// unprivileged and cannot send ICMP, so ICMP is played by a root guest on a tap of its own:
// echo to the allowed address is answered, echo elsewhere and another ICMP type are not.
func TestEgressVMReachesOnlyWhatItsRulesAllow(t *testing.T) {
	w := egressNewWorld(t, false)
	a, b := w.out.Addrs[0], w.out.Addrs[1]
	_, c := w.egressBoot(t, []network.EgressRule{
		egressTo(network.ProtocolTCP, a, w.tcp[0]),
		egressTo(network.ProtocolUDP, a, w.udp[0]),
	})
	for _, tc := range []struct {
		net  string
		ap   netip.AddrPort
		pass bool
	}{
		{"tcp", netip.AddrPortFrom(a, w.tcp[0]), true},
		{"tcp", netip.AddrPortFrom(a, w.tcp[1]), false},
		{"tcp", netip.AddrPortFrom(b, w.tcp[0]), false},
		{"udp", netip.AddrPortFrom(a, w.udp[0]), true},
		{"udp", netip.AddrPortFrom(a, w.udp[1]), false},
		{"udp", netip.AddrPortFrom(b, w.udp[0]), false},
	} {
		res := egressDial(t, c, tc.net, tc.ap, tc.pass)
		switch {
		case tc.pass && (!res.OK || res.Reply != outside.Banner(tc.ap)):
			t.Errorf("%s to %v, which a rule allows: %+v", tc.net, tc.ap, res)
		case !tc.pass && !egressDropped(res):
			t.Errorf("%s to %v, which no rule allows, was not dropped: %+v", tc.net, tc.ap, res)
		}
	}

	icmp := network.EgressRule{Protocol: network.ProtocolICMP, Destinations: []network.AddrRange{{First: a, Last: a}},
		ICMP: &network.ICMPMatch{Type: 8, Code: 0}}
	root, err := w.net.Attach(context.Background(), "hostile-icmp-"+netRandomHex(t, 2), nil, icmp)
	if err != nil {
		t.Fatal(err)
	}
	tap := egressTap(t, root.Tap)
	w.egressNeighbour(t, root)
	if !egressICMP(t, tap, root, a, 8) {
		t.Errorf("ICMP echo to %v, which a rule allows, got no reply", a)
	}
	if egressICMP(t, tap, root, b, 8) {
		t.Errorf("ICMP echo to %v, which no rule allows, was answered", b)
	}
	if egressICMP(t, tap, root, a, 13) {
		t.Errorf("ICMP timestamp to %v, which no rule allows (echo only), was answered", a)
	}
}

// 5,000 rules install with the VM and apply: the one allowing the outside server (in the
// middle) lets the VM through, a port none allows is dropped; removing the instance removes
// every object its rules made.
func TestEgressVMWith5000Rules(t *testing.T) {
	w := egressNewWorld(t, false)
	target := netip.AddrPortFrom(w.out.Addrs[0], w.tcp[0])
	rules := make([]network.EgressRule, 5000)
	for i := range rules {
		a := netip.AddrFrom4([4]byte{10, 214, byte(i >> 8), byte(i)}) // never dialled
		rules[i] = egressTo(network.ProtocolTCP, a, uint16(1000+i))
	}
	rules[2500] = egressTo(network.ProtocolTCP, target.Addr(), target.Port())
	start := time.Now()
	info, c := w.egressBoot(t, rules)
	t.Logf("booted with %d rules in %v", len(rules), time.Since(start))
	if res := egressDial(t, c, "tcp", target, true); !res.OK || res.Reply != outside.Banner(target) {
		t.Errorf("tcp to %v, allowed by rule 2500: %+v", target, res)
	}
	other := netip.AddrPortFrom(w.out.Addrs[0], w.tcp[1])
	if res := egressDial(t, c, "tcp", other, false); !egressDropped(res) {
		t.Errorf("tcp to %v, which none of the 5000 rules allows, was not dropped: %+v", other, res)
	}
	tap := info.Network.Tap
	if objs := w.egressObjects(t, tap); len(objs) != 3 { // chain, tcp map, dispatch element
		t.Errorf("egress objects of %s: %v", tap, objs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.eng.Remove(ctx, info.ID, true); err != nil {
		t.Fatal(err)
	}
	if objs := w.egressObjects(t, tap); len(objs) != 0 {
		t.Errorf("egress objects left after the instance was removed: %v", objs)
	}
	if l, err := w.net.Leftovers(ctx); err != nil || len(l.Egress) != 0 {
		t.Errorf("leftovers after removal: %+v, %v", l, err)
	}
}
