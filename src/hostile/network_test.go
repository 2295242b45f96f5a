package hostile

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/unik-cf/unik/src/network"
)

// A tenant whose guest is root owns its tap's wire: it can send any frame. Here it claims a
// neighbour's address (gratuitous ARP, forged ARP senders, IPv4 from the neighbour's address)
// and its MAC. The host's neighbour entry and the bridge's forwarding entry for the victim must
// not move, the victim must keep answering the host, and the forged frames must be dropped at
// the attacker's tap.
func TestNetSpoofingGuestChangesNothingForOthers(t *testing.T) {
	w := netNewWorld(t)
	victim := w.boot(t)
	ctx := context.Background()
	attacker, err := w.net.Attach(ctx, "hostile-attacker-"+netRandomHex(t, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	tap := netOpenTap(t, attacker.Tap)
	bridge := w.cfg.Bridge
	vIP, aIP, gw := victim.Network.GuestIP.Addr(), attacker.GuestIP.Addr(), attacker.Gateway
	vMAC, aMAC := netMAC(t, victim.Network.MAC), netMAC(t, attacker.MAC)
	brMAC, foreign := netMAC(t, network.MACFor(gw)), netMAC(t, "52:54:de:ad:be:ef")
	bcast := netMAC(t, "ff:ff:ff:ff:ff:ff")

	// Before: the host reaches the victim, has its MAC for its address and knows its port.
	for _, u := range []string{netHostURL(victim), netGuestURL(victim)} {
		if _, err := netGet(u, 10*time.Second); err != nil {
			t.Fatalf("before the attack: %v", err)
		}
	}
	if got := netNeighbour(t, bridge, vIP); got.String() != vMAC.String() {
		t.Fatalf("before the attack the host's neighbour entry for %v is %v, want %v", vIP, got, vMAC)
	}
	if port := netFDBPort(t, bridge, vMAC); port != victim.Network.Tap {
		t.Fatalf("before the attack the bridge has %v on port %q, want %s", vMAC, port, victim.Network.Tap)
	}
	dropsBefore, dropsErr := netGuardDrops(w.cfg.Table)

	// Impersonating the victim's MAC comes first, the claims on its address last, so that
	// without the guard the host ends up with the attacker's MAC for the victim's address.
	forged := []struct{ name, marker string }{
		{"ARP from the victim's MAC, as the victim", "unikhostile-arpmac"},
		{"IPv4 from a foreign MAC (the victim's)", "unikhostile-ipmac"},
		{"IPv4 from a foreign MAC and address", "unikhostile-ipboth"},
		{"IPv4 from the victim's address", "unikhostile-ipsrc"},
		{"ARP with a forged sender MAC", "unikhostile-sha"},
		{"neither IPv4 nor ARP (EtherType 0x88b5)", "unikhostile-other"},
		{"gratuitous ARP claiming the gateway's address", "unikhostile-garp3"},
		{"gratuitous ARP request claiming the victim's address", "unikhostile-garp2"},
		{"gratuitous ARP reply claiming the victim's address", "unikhostile-garp1"},
	}
	zero := make(net.HardwareAddr, 6)
	frames := [][]byte{
		netARPFrame(vMAC, bcast, 1, vMAC, vIP, zero, gw, forged[0].marker),
		netUDPFrame(vMAC, brMAC, aIP, gw, forged[1].marker),
		netUDPFrame(foreign, brMAC, netip.MustParseAddr("10.213.255.254"), gw, forged[2].marker),
		netUDPFrame(aMAC, brMAC, vIP, gw, forged[3].marker),
		netARPFrame(aMAC, bcast, 1, foreign, aIP, zero, gw, forged[4].marker),
		netEtherFrame(aMAC, brMAC, 0x88b5, []byte(forged[5].marker)),
		netARPFrame(aMAC, bcast, 1, aMAC, gw, zero, gw, forged[6].marker),
		netARPFrame(aMAC, bcast, 1, aMAC, vIP, zero, vIP, forged[7].marker),
		netARPFrame(aMAC, bcast, 2, aMAC, vIP, aMAC, vIP, forged[8].marker),
	}
	// The attacker's own, legitimate ARP and IPv4 pass: they show that the capture works and
	// that the guard does not cut a guest off. The IPv4 one goes last and ends the capture: the
	// tap hands each frame to the bridge before write returns, so all earlier ones were seen.
	ctlARP, ctlIP := "unikhostile-ctlarp", "unikhostile-ctlip"
	frames = append(frames, netARPFrame(aMAC, bcast, 1, aMAC, aIP, zero, gw, ctlARP),
		netUDPFrame(aMAC, brMAC, aIP, gw, ctlIP))

	capture := netCaptureOn(t, bridge)
	for i, f := range frames {
		if _, err := tap.Write(f); err != nil {
			t.Fatalf("write frame %d to %s: %v", i, attacker.Tap, err)
		}
	}
	markers := []string{ctlARP}
	for _, f := range forged {
		markers = append(markers, f.marker)
	}
	seen := capture.until(t, ctlIP, markers, 10*time.Second)
	if !seen[ctlIP] || !seen[ctlARP] {
		t.Fatalf("the attacker's own legitimate frames never reached the host (IPv4 %v, ARP %v): capture broken or guard too strict",
			seen[ctlIP], seen[ctlARP])
	}
	for _, f := range forged {
		if seen[f.marker] {
			t.Errorf("%s went through the bridge to the host", f.name)
		}
	}

	// After: nothing moved for the victim, and it still answers the host both ways.
	if got := netNeighbour(t, bridge, vIP); got.String() != vMAC.String() {
		t.Errorf("after the attack the host's neighbour entry for the victim %v is %v, want %v", vIP, got, vMAC)
	}
	if port := netFDBPort(t, bridge, vMAC); port != victim.Network.Tap {
		t.Errorf("after the attack the bridge sends the victim's MAC %v to port %q, want %s", vMAC, port, victim.Network.Tap)
	}
	for _, u := range []string{netHostURL(victim), netGuestURL(victim)} {
		if _, err := netGet(u, 5*time.Second); err != nil {
			t.Errorf("after the attack the victim does not answer: %v", err)
		}
	}
	dropsAfter, err := netGuardDrops(w.cfg.Table)
	if dropsErr != nil || err != nil {
		t.Errorf("guard drop counters: %v", cmp.Or(dropsErr, err))
	} else if got := dropsAfter - dropsBefore; got < uint64(len(forged)) {
		t.Errorf("the guard counted %d drops for %d forged frames", got, len(forged))
	} else {
		t.Logf("the guard dropped %d frames (%d forged)", got, len(forged))
	}
}

// netGuardDrops sums the packet counters of the drop rules of the network's guard chain (bridge
// family, named like its ip table).
func netGuardDrops(table string) (uint64, error) {
	c, err := nftables.New()
	if err != nil {
		return 0, err
	}
	t := &nftables.Table{Name: table, Family: nftables.TableFamilyBridge}
	rules, err := c.GetRules(t, &nftables.Chain{Name: "guard", Table: t})
	if err != nil {
		return 0, fmt.Errorf("rules of bridge %s guard: %w", table, err)
	}
	var sum uint64
	found := false
	for _, r := range rules {
		if v, ok := r.Exprs[len(r.Exprs)-1].(*expr.Verdict); !ok || v.Kind != expr.VerdictDrop {
			continue
		}
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				sum += ctr.Packets
				found = true
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("no counted drop rule in bridge %s guard", table)
	}
	return sum, nil
}

func netMAC(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// netEtherFrame is an Ethernet frame, padded to the 60-byte minimum.
func netEtherFrame(src, dst net.HardwareAddr, etherType uint16, payload []byte) []byte {
	f := append(append(append([]byte{}, dst...), src...), byte(etherType>>8), byte(etherType))
	f = append(f, payload...)
	for len(f) < 60 {
		f = append(f, 0)
	}
	return f
}

// netARPFrame is an Ethernet/IPv4 ARP packet; marker follows the 28 ARP bytes, in what would be
// padding.
func netARPFrame(src, dst net.HardwareAddr, op uint16, sha net.HardwareAddr, spa netip.Addr,
	tha net.HardwareAddr, tpa netip.Addr, marker string) []byte {
	p := []byte{0, 1, 8, 0, 6, 4, byte(op >> 8), byte(op)}
	p = append(append(p, sha...), spa.AsSlice()...)
	p = append(append(p, tha...), tpa.AsSlice()...)
	return netEtherFrame(src, dst, 0x0806, append(p, marker...))
}

// netUDPFrame is an IPv4/UDP datagram to port 9 (discard) carrying marker.
func netUDPFrame(src, dst net.HardwareAddr, sip, dip netip.Addr, marker string) []byte {
	udp := binary.BigEndian.AppendUint16(nil, 40000)
	udp = binary.BigEndian.AppendUint16(udp, 9)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(marker)))
	udp = append(binary.BigEndian.AppendUint16(udp, 0), marker...) // checksum 0: none
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	ip = append(append(ip, sip.AsSlice()...), dip.AsSlice()...)
	var sum uint32
	for i := 0; i < len(ip); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	return netEtherFrame(src, dst, 0x0800, append(ip, udp...))
}
