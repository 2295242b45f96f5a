package network

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// This file builds the egress objects of an attachment as pure functions,
// like nftrules.go; egressnft.go sends them. See doc.go for the same
// objects as nft text.
//
// The forward chain looks the source address up in the map egress (one
// hash lookup, whatever the number of instances) and jumps to the
// instance's chain eg-<tap>, which looks the packet up in the instance's
// sets, each a verdict map of disjoint ranges: accept, or jump to
// eg-<tap>-log, which logs (rate-limited) and accepts. A packet no set
// holds returns to forward and is dropped there.

const (
	mapEgress = "egress" // ipv4_addr : verdict, guest address -> jump eg-<tap>

	egressPrefix = "eg-"
	egressLogSfx = "-log"

	// 32-bit registers, for concatenations: a field per register.
	reg32x0 = 8 // NFT_REG32_00, the same bytes as reg1
	reg32x1 = 9
	reg32x2 = 10

	// The log statement: at most logRate packets a second per instance
	// (logBurst at once), with a prefix naming it.
	logRate  = 10
	logBurst = 20
	// logPrefixMax is the kernel's NF_LOG_PREFIXLEN without its NUL.
	logPrefixMax = 127

	icmpTypeOffset = 0
	icmpCodeOffset = 1
	thDportOffset  = 2
)

// egressChain is the chain of the instance on tap; egressLogChain its log
// chain; egressSetName one of its sets.
func egressChain(tap string) string    { return egressPrefix + tap }
func egressLogChain(tap string) string { return egressPrefix + tap + egressLogSfx }
func egressSetName(tap string, c egressClass) string {
	return egressPrefix + tap + "-" + c.String()
}

// egressMap is the dispatch map of the table.
func egressMap(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: mapEgress, KeyType: nftables.TypeIPAddr, IsMap: true, DataType: nftables.TypeVerdict}
}

// egressSet is the verdict map of class c of the instance on tap.
func egressSet(t *nftables.Table, tap string, c egressClass) *nftables.Set {
	second := map[egressClass][]nftables.SetDatatype{
		classTCP:  {nftables.TypeInetService},
		classUDP:  {nftables.TypeInetService},
		classICMP: {nftables.TypeICMPType, nftables.TypeICMPCode},
		classAll:  {nftables.TypeInetProto},
	}[c]
	key := nftables.MustConcatSetType(append([]nftables.SetDatatype{nftables.TypeIPAddr}, second...)...)
	return &nftables.Set{Table: t, Name: egressSetName(tap, c), KeyType: key, Concatenation: true,
		Interval: true, IsMap: true, DataType: nftables.TypeVerdict}
}

// egressDispatchRule is the forward chain's
//
//	iifname <bridge> ip saddr vmap @egress
func egressDispatchRule(bridge string, m *nftables.Set) []expr.Any {
	return join(
		iif(expr.CmpOpEq, bridge),
		[]expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4SaddrOffset, Len: 4},
			&expr.Lookup{SourceRegister: reg1, SetName: m.Name, SetID: m.ID, IsDestRegSet: true, DestRegister: 0},
		},
	)
}

// egressChainRule is the rule of chain eg-<tap> that looks packets of class
// c up in set s:
//
//	meta l4proto tcp ip daddr . tcp dport vmap @eg-<tap>-tcp
//	meta l4proto udp ip daddr . udp dport vmap @eg-<tap>-udp
//	meta l4proto icmp ip daddr . icmp type . icmp code vmap @eg-<tap>-icmp
//	ip daddr . meta l4proto vmap @eg-<tap>-all
func egressChainRule(c egressClass, s *nftables.Set) []expr.Any {
	daddr := &expr.Payload{DestRegister: reg32x0, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4DaddrOffset, Len: 4}
	proto := func(p byte) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{p}},
		}
	}
	th := func(reg, offset, n uint32) expr.Any {
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: offset, Len: n}
	}
	var load []expr.Any
	switch c {
	case classTCP:
		load = join(proto(unix.IPPROTO_TCP), []expr.Any{daddr, th(reg32x1, thDportOffset, 2)})
	case classUDP:
		load = join(proto(unix.IPPROTO_UDP), []expr.Any{daddr, th(reg32x1, thDportOffset, 2)})
	case classICMP:
		load = join(proto(unix.IPPROTO_ICMP), []expr.Any{daddr, th(reg32x1, icmpTypeOffset, 1), th(reg32x2, icmpCodeOffset, 1)})
	default:
		load = []expr.Any{daddr, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32x1}}
	}
	return append(load, &expr.Lookup{SourceRegister: reg32x0, SetName: s.Name, SetID: s.ID, IsDestRegSet: true, DestRegister: 0})
}

// egressLogRules are the rules of chain eg-<tap>-log:
//
//	limit rate 10/second burst 20 packets log prefix "unik egress <id>: "
//	accept
func egressLogRules(id string) [][]expr.Any {
	prefix := "unik egress " + id + ": "
	if len(prefix) > logPrefixMax {
		prefix = prefix[:logPrefixMax]
	}
	return [][]expr.Any{
		{
			&expr.Limit{Type: expr.LimitTypePkts, Rate: logRate, Unit: expr.LimitTimeSecond, Burst: logBurst},
			&expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(prefix)},
		},
		verdict(expr.VerdictAccept),
	}
}

// egressElements are the elements of class c's set for boxes: accept, or
// jump to the log chain for logged boxes.
func egressElements(c egressClass, tap string, boxes []egressBox) []nftables.SetElement {
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	logged := &expr.Verdict{Kind: expr.VerdictJump, Chain: egressLogChain(tap)}
	var out []nftables.SetElement
	for _, b := range boxes {
		v := accept
		if b.log {
			v = logged
		}
		for _, k := range boxKeys(c, b) {
			out = append(out, nftables.SetElement{Key: k[0], KeyEnd: k[1], VerdictData: v})
		}
	}
	return out
}

// boxKeys are the first and last keys of the elements of box b: one, or
// for icmp up to three, since type<<8|code ranges are cut into type ×
// code rectangles.
func boxKeys(c egressClass, b egressBox) [][2][]byte {
	field := func(v uint32, n int) []byte {
		out := make([]byte, 4)
		switch n {
		case 4:
			binary.BigEndian.PutUint32(out, v)
		case 2:
			binary.BigEndian.PutUint16(out, uint16(v))
		default:
			out[0] = byte(v)
		}
		return out
	}
	addrLo, addrHi := field(b.addr.lo, 4), field(b.addr.hi, 4)
	switch c {
	case classTCP, classUDP:
		return [][2][]byte{{join2(addrLo, field(b.x.lo, 2)), join2(addrHi, field(b.x.hi, 2))}}
	case classAll:
		return [][2][]byte{{join2(addrLo, field(b.x.lo, 1)), join2(addrHi, field(b.x.hi, 1))}}
	}
	var out [][2][]byte
	for _, r := range icmpRects(b.x) {
		out = append(out, [2][]byte{
			join2(addrLo, field(r.types.lo, 1), field(r.codes.lo, 1)),
			join2(addrHi, field(r.types.hi, 1), field(r.codes.hi, 1)),
		})
	}
	return out
}

// icmpRect is ICMP types times codes.
type icmpRect struct{ types, codes span }

// icmpRects cuts the type<<8|code values of x into rectangles.
func icmpRects(x span) []icmpRect {
	t1, c1, t2, c2 := x.lo>>8, x.lo&0xff, x.hi>>8, x.hi&0xff
	if t1 == t2 {
		return []icmpRect{{span{t1, t1}, span{c1, c2}}}
	}
	var out []icmpRect
	if c1 != 0 {
		out = append(out, icmpRect{span{t1, t1}, span{c1, 0xff}})
		t1++
	}
	last := []icmpRect(nil)
	if c2 != 0xff {
		last = []icmpRect{{span{t2, t2}, span{0, c2}}}
		t2--
	}
	if t1 <= t2 {
		out = append(out, icmpRect{span{t1, t2}, span{0, 0xff}})
	}
	return append(out, last...)
}

func join2(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// egressDispatchElement turns the instance on tap (address ip) on.
func egressDispatchElement(tap string, ip netip.Addr) nftables.SetElement {
	return nftables.SetElement{Key: ip.AsSlice(), VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: egressChain(tap)}}
}
