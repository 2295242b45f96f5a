package network

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// This file builds the anti-spoofing guard, pure functions like
// nftrules.go; guard.go sends them. See doc.go for the same rules as nft
// text.
//
// The guard is one chain of a bridge-family table (named like the ip one)
// at the bridge's prerouting hook: it sees every frame a port sends into
// the bridge, before the bridge learns its source MAC or hands it to the
// host, and it keeps its per-packet cost flat as instances grow: it looks
// the tap, tap.MAC and tap.IP up in hash sets, whatever their size.
//
// It names the ports it guards (set taps) rather than guarding every port
// of the bridge: `meta ibrname` needs CONFIG_NFT_BRIDGE_META, which hosts
// like ours lack. So a tap gets its elements before it joins the bridge,
// keeps them until it is deleted, and Leftovers reports taps on the bridge
// that no record holds.

const (
	chainGuard   = "guard"
	setGuardTaps = "taps"    // ifname: the guarded taps
	setGuardMAC  = "tap_mac" // ifname . ether_addr: a tap and its MAC
	setGuardIP   = "tap_ip"  // ifname . ipv4_addr: a tap and its address

	// guardPriority is the bridge family's "filter" priority.
	guardPriority nftables.ChainPriority = -200

	etherTypeOffset = 12 // in the link-layer header
	etherSaddrOff   = 6
	arpHeadOffset   = 0 // htype, ptype, hlen, plen: 6 bytes
	arpSHAOffset    = 8
	arpSPAOffset    = 14
)

var (
	etherTypeIPv4 = []byte{0x08, 0x00}
	etherTypeARP  = []byte{0x08, 0x06}
	// arpEthernetIPv4 is htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4:
	// the only ARP whose sender fields sit where the guard reads them.
	arpEthernetIPv4 = []byte{0x00, 0x01, 0x08, 0x00, 6, 4}
)

// guardSets are the sets of the bridge table. The keys of tap_mac and
// tap_ip are concatenations, each part padded to 4 bytes as the kernel's
// registers hold it: ifname (16) + ether_addr (6, padded to 8), ifname +
// ipv4_addr (4).
func guardSets(t *nftables.Table) (taps, mac, ip *nftables.Set) {
	taps = &nftables.Set{Table: t, Name: setGuardTaps, KeyType: nftables.TypeIFName}
	mac = &nftables.Set{Table: t, Name: setGuardMAC, Concatenation: true,
		KeyType: nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr)}
	ip = &nftables.Set{Table: t, Name: setGuardIP, Concatenation: true,
		KeyType: nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIPAddr)}
	return taps, mac, ip
}

// guardMACKey is the tap_mac element of a tap.
func guardMACKey(tap string, mac net.HardwareAddr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("guard key for %s: MAC %v is not 6 bytes", tap, mac)
	}
	return append(append(ifname(tap), mac...), 0, 0), nil
}

// guardIPKey is the tap_ip element of a tap.
func guardIPKey(tap string, ip netip.Addr) ([]byte, error) {
	if !ip.Is4() {
		return nil, fmt.Errorf("guard key for %s: %v is not an IPv4 address", tap, ip)
	}
	return append(ifname(tap), ip.AsSlice()...), nil
}

// guardTapOf is the tap name a set element's key starts with.
func guardTapOf(key []byte) string {
	if len(key) < len(ifname("")) {
		return ""
	}
	name := key[:len(ifname(""))]
	for i, b := range name {
		if b == 0 {
			return string(name[:i])
		}
	}
	return string(name)
}

// guardRules are the rules of the guard chain, in order:
//
//	iifname != @taps accept
//	iifname . ether saddr != @tap_mac counter drop
//	ether type ip iifname . ip saddr @tap_ip accept
//	ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4
//	    iifname . arp saddr ether @tap_mac iifname . arp saddr ip @tap_ip accept
//	counter drop
func guardRules(taps, mac, ip *nftables.Set) [][]expr.Any {
	return [][]expr.Any{
		join(
			[]expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1}},
			lookup(taps, true),
			verdict(expr.VerdictAccept),
		),
		join(
			tapAnd(expr.PayloadBaseLLHeader, etherSaddrOff, 6),
			lookup(mac, true),
			[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}},
		),
		join(
			payloadIs(expr.PayloadBaseLLHeader, etherTypeOffset, etherTypeIPv4),
			tapAnd(expr.PayloadBaseNetworkHeader, ipv4SaddrOffset, 4),
			lookup(ip, false),
			verdict(expr.VerdictAccept),
		),
		join(
			payloadIs(expr.PayloadBaseLLHeader, etherTypeOffset, etherTypeARP),
			payloadIs(expr.PayloadBaseNetworkHeader, arpHeadOffset, arpEthernetIPv4),
			tapAnd(expr.PayloadBaseNetworkHeader, arpSHAOffset, 6),
			lookup(mac, false),
			tapAnd(expr.PayloadBaseNetworkHeader, arpSPAOffset, 4),
			lookup(ip, false),
			verdict(expr.VerdictAccept),
		),
		{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}},
	}
}

// tapAnd loads "iifname . <len bytes at base+offset>" as a concatenation:
// the name fills register 1 (16 bytes), the field starts register 2.
func tapAnd(base expr.PayloadBase, offset, n uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
		&expr.Payload{DestRegister: reg2, Base: base, Offset: offset, Len: n},
	}
}

func lookup(s *nftables.Set, invert bool) []expr.Any {
	return []expr.Any{&expr.Lookup{SourceRegister: reg1, SetName: s.Name, SetID: s.ID, Invert: invert}}
}

// payloadIs is "<len(want) bytes at base+offset> == want".
func payloadIs(base expr.PayloadBase, offset uint32, want []byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: base, Offset: offset, Len: uint32(len(want))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: want},
	}
}
