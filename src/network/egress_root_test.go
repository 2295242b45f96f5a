package network

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/devenv/outside"
)

func egressTo(a netip.Addr) []AddrRange { return []AddrRange{{a, a}} }

// A guest allowed tcp to one address and port, udp likewise and ICMP echo to the same
// address reaches exactly those: not another port, not another address, not another ICMP
// type. The logged rule logs with the instance's prefix; the others do not.
func TestBridgeEgressFollowsRules(t *testing.T) {
	n := rootNetwork(t)
	w, tcp, udp := egressOutside(t)
	a, b := w.Addrs[0], w.Addrs[1]
	id := testIDPrefix + "-asg"
	rules := []EgressRule{
		{Protocol: ProtocolTCP, Destinations: egressTo(a), Ports: []PortRange{{tcp[0], tcp[0]}}, Log: true},
		{Protocol: ProtocolUDP, Destinations: egressTo(a), Ports: []PortRange{{udp[0], udp[0]}}},
		{Protocol: ProtocolICMP, Destinations: egressTo(a), ICMP: &ICMPMatch{Type: 8, Code: -1}},
	}
	kmsg := egressKernelLog(t)
	_, ns := egressGuest(t, n, id, rules)

	allowed := netip.AddrPortFrom(a, tcp[0])
	if got, err := egressTCP(ns, allowed, egressPass); err != nil || got != outside.Banner(allowed) {
		t.Errorf("tcp to the allowed %v: %q, %v", allowed, got, err)
	}
	for _, ap := range []netip.AddrPort{netip.AddrPortFrom(a, tcp[1]), netip.AddrPortFrom(b, tcp[0])} {
		if got, err := egressTCP(ns, ap, egressDrop); err == nil {
			t.Errorf("tcp to %v, which no rule allows, connected: %q", ap, got)
		}
	}
	allowedUDP := netip.AddrPortFrom(a, udp[0])
	if got, err := egressUDP(ns, allowedUDP, egressPass); err != nil || got != outside.Banner(allowedUDP) {
		t.Errorf("udp to the allowed %v: %q, %v", allowedUDP, got, err)
	}
	for _, ap := range []netip.AddrPort{netip.AddrPortFrom(a, udp[1]), netip.AddrPortFrom(b, udp[0])} {
		if got, err := egressUDP(ns, ap, egressDrop); err == nil {
			t.Errorf("udp to %v, which no rule allows, was answered: %q", ap, got)
		}
	}
	if !egressICMP(t, ns, a, 8) {
		t.Errorf("ICMP echo to the allowed %v got no reply", a)
	}
	if egressICMP(t, ns, b, 8) {
		t.Errorf("ICMP echo to %v, which no rule allows, was answered", b)
	}
	if egressICMP(t, ns, a, 13) {
		t.Errorf("ICMP timestamp to %v, which no rule allows (echo only), was answered", a)
	}

	logged := kmsg.lines(t, "unik egress "+id+": ")
	tcpLogged := false
	for _, l := range logged {
		tcpLogged = tcpLogged || strings.Contains(l, fmt.Sprintf("DST=%v ", a)) && strings.Contains(l, fmt.Sprintf("DPT=%d ", tcp[0]))
		if strings.Contains(l, "PROTO=UDP") || strings.Contains(l, "PROTO=ICMP") {
			t.Errorf("an unlogged rule logged: %s", l)
		}
	}
	if !tcpLogged {
		t.Errorf("the logged tcp rule left no log line with the prefix %q; lines: %q", "unik egress "+id+": ", logged)
	}
}

// Rules allowing everything still open neither the host's own addresses (but the gateway's
// DNS port) nor the bridge subnet; Config.Egress gives a guest without rules the same.
func TestBridgeEgressNeverOpensHostOrBridge(t *testing.T) {
	n := rootNetwork(t)
	w, tcp, _ := egressOutside(t)
	_, open := egressGuest(t, n, testIDPrefix+"-open", []EgressRule{AllowAll()})
	neighbour, neighbourNS := egressGuest(t, n, testIDPrefix+"-neighbour", nil)
	gw := neighbour.Gateway

	reach := netip.AddrPortFrom(w.Addrs[0], tcp[0])
	if _, err := egressTCP(open, reach, egressPass); err != nil {
		t.Fatalf("a guest allowed everything cannot reach %v: %v", reach, err)
	}
	if _, err := egressTCP(neighbourNS, reach, egressDrop); err == nil {
		t.Errorf("a guest with no rules reached %v", reach)
	}

	var targets []netip.AddrPort
	for _, host := range []netip.Addr{w.Host, gw} {
		l, err := net.Listen("tcp4", netip.AddrPortFrom(host, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		targets = append(targets, netip.MustParseAddrPort(l.Addr().String()))
	}
	for _, ap := range targets {
		if _, err := egressTCP(open, ap, egressDrop); err == nil {
			t.Errorf("a guest allowed everything connected to %v", ap)
		}
	}

	// Another VM, routed through the gateway (its bridge port is isolated anyway): a datagram
	// never reaches it. (A TCP attempt would fail even if the SYN got through, since the
	// answer could not come back over the isolated ports.)
	var pc net.PacketConn
	if err := inNetns(neighbourNS, func() (err error) {
		pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(neighbour.GuestIP.Addr(), 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	nb := netip.MustParseAddrPort(pc.LocalAddr().String())
	if err := inNetns(open, func() error { return egressRouteVia(nb.Addr(), gw) }); err != nil {
		t.Fatal(err)
	}
	if err := inNetns(open, func() error {
		c, err := net.Dial("udp4", nb.String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("from another VM"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_ = pc.SetReadDeadline(time.Now().Add(egressDrop))
	if n, from, err := pc.ReadFrom(make([]byte, 64)); err == nil {
		t.Errorf("a guest allowed everything reached another VM: %d bytes from %v", n, from)
	}

	// The one host port a guest may open: DNS on its gateway.
	dns, err := net.Listen("tcp4", netip.AddrPortFrom(gw, 53).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dns.Close() })
	if err := inNetns(neighbourNS, func() error {
		c, err := net.DialTimeout("tcp4", dns.Addr().String(), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err
	}); err != nil {
		t.Errorf("a guest with no rules cannot reach DNS on its gateway: %v", err)
	}

	cfg := n.cfg
	cfg.Egress = true
	n2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, legacy := egressGuest(t, n2, testIDPrefix+"-legacy", nil)
	if _, err := egressTCP(legacy, reach, egressPass); err != nil {
		t.Errorf("Config.Egress: a guest without rules cannot reach %v: %v", reach, err)
	}
}

// 5,000 rules install in one Attach and apply (the one allowing the outside server lies in
// the middle); Detach removes every object they made.
func TestBridgeEgressManyRulesAndRemoval(t *testing.T) {
	n := rootNetwork(t)
	w, tcp, _ := egressOutside(t)
	target := netip.AddrPortFrom(w.Addrs[0], tcp[0])
	rules := egressManyRules(5000, target)
	id := testIDPrefix + "-many"
	start := time.Now()
	_, ns := egressGuest(t, n, id, rules)
	t.Logf("Attach with %d rules (and a veth) took %v", len(rules), time.Since(start))
	if got, err := egressTCP(ns, target, egressPass); err != nil || got != outside.Banner(target) {
		t.Errorf("tcp to %v, allowed by rule 2500 of 5000: %q, %v", target, got, err)
	}
	if _, err := egressTCP(ns, netip.AddrPortFrom(w.Addrs[0], tcp[1]), egressDrop); err == nil {
		t.Errorf("tcp to port %d, which none of 5000 rules allows, connected", tcp[1])
	}
	c, err := n.nft().conn()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := n.nft().listEgress(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.chains) != 1 || len(objs.sets) != 1 || len(objs.dispatch) != 1 {
		t.Errorf("egress objects with one guest: %+v", objs)
	}
	if err := n.Detach(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if objs, err = n.nft().listEgress(c); err != nil || len(objs.chains)+len(objs.sets)+len(objs.dispatch) != 0 {
		t.Errorf("egress objects after Detach: %+v, %v", objs, err)
	}
}

// egressManyRules is n tcp rules to distinct addresses of 10.214.0.0/16 and ports, but rule
// n/2, which allows target. No traffic goes to the other addresses.
func egressManyRules(n int, target netip.AddrPort) []EgressRule {
	rules := make([]EgressRule, n)
	for i := range rules {
		a := u32Addr(0x0ad60000 + uint32(i))
		p := uint16(1000 + i%5000)
		rules[i] = EgressRule{Protocol: ProtocolTCP, Destinations: egressTo(a), Ports: []PortRange{{p, p}}}
	}
	rules[n/2] = EgressRule{Protocol: ProtocolTCP, Destinations: egressTo(target.Addr()), Ports: []PortRange{{target.Port(), target.Port()}}}
	return rules
}

// Egress objects no record accounts for are leftovers, and RemoveLeftovers deletes them.
func TestBridgeEgressLeftovers(t *testing.T) {
	n := rootNetwork(t)
	ctx := context.Background()
	kept, err := n.Attach(ctx, testIDPrefix+"-kept", nil, AllowAll())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := compileEgress([]EgressRule{{Protocol: ProtocolUDP, Destinations: egressTo(netip.MustParseAddr("10.214.0.1")), Log: true}})
	if err != nil {
		t.Fatal(err)
	}
	ghost := netip.MustParseAddr("10.213.250.99")
	if err := n.nft().addEgress("ghost", "ukghost", ghost, plan); err != nil {
		t.Fatal(err)
	}
	l, err := n.Leftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "[eg-ukghost eg-ukghost-log eg-ukghost-udp egress 10.213.250.99]"
	if fmt.Sprint(l.Egress) != want {
		t.Errorf("egress leftovers %v, want %s", l.Egress, want)
	}
	if _, err := n.RemoveLeftovers(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := n.nft().conn()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := n.nft().listEgress(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.chains) != 1 || len(objs.sets) != 1 || objs.dispatch[kept.GuestIP.Addr()] != kept.Tap || len(objs.dispatch) != 1 {
		t.Errorf("after RemoveLeftovers: %+v; want only %s's", objs, kept.Tap)
	}
}

// A table made before egress existed (no egress map yet: no Attach has rewritten it since
// the upgrade) does not stop Leftovers or Detach.
func TestBridgeEgressTableWithoutMap(t *testing.T) {
	n := rootNetwork(t)
	c, err := n.nft().conn()
	if err != nil {
		t.Fatal(err)
	}
	c.AddTable(n.nft().tableRef())
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if l, err := n.Leftovers(ctx); err != nil || len(l.Egress) != 0 {
		t.Errorf("Leftovers: %+v, %v", l, err)
	}
	if err := n.Detach(ctx, testIDPrefix+"-old"); err != nil {
		t.Errorf("Detach: %v", err)
	}
}
