package network

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// This file builds rule expressions and nothing else: pure functions that
// unit tests check without root. nft.go sends them to the kernel.

// chainSpec is one base chain of the table.
type chainSpec struct {
	name string
	typ  nftables.ChainType
	hook *nftables.ChainHook
	prio *nftables.ChainPriority
	// perVM chains hold the DNAT rules of attachments; the others hold only
	// base rules and are rewritten whole by every Attach.
	perVM bool
}

const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPostrouting = "postrouting"
	chainInput       = "input"
	chainForward     = "forward"
)

func chainSpecs() []chainSpec {
	return []chainSpec{
		{chainPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest, true},
		{chainOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest, true},
		{chainPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource, false},
		{chainInput, nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter, false},
		{chainForward, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter, false},
	}
}

// Registers and header offsets used below.
const (
	reg1 = 1
	reg2 = 2

	ipv4SaddrOffset = 12
	ipv4DaddrOffset = 16
	tcpDportOffset  = 2

	ctStatusDstNAT = 1 << 5 // IPS_DST_NAT
)

// dnatExprs is
//
//	meta l4proto tcp ip daddr <hostIP> tcp dport <hostPort> dnat to <guest>
func dnatExprs(hostIP netip.Addr, hostPort uint16, guest netip.AddrPort) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4DaddrOffset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: hostIP.AsSlice()},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: tcpDportOffset, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: be16(hostPort)},
		&expr.Immediate{Register: reg1, Data: guest.Addr().AsSlice()},
		&expr.Immediate{Register: reg2, Data: be16(guest.Port())},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg2},
	}
}

// baseRules are the rules of the chains that hold no per-VM rules, in
// order; m is the egress dispatch map. They depend on no per-process
// setting, so every process attaching to the bridge writes the same ones.
// See doc.go for the same ruleset as nft text.
func baseRules(bridge string, subnet netip.Prefix, m *nftables.Set) map[string][][]expr.Any {
	loopback := netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, 0, 0}), 8)
	gateway := subnet.Addr().Next()
	post := [][]expr.Any{
		join(oif(expr.CmpOpEq, bridge), saddrIn(loopback), masq()),
		join(saddrIn(subnet), oif(expr.CmpOpNeq, bridge), masq()),
	}
	input := [][]expr.Any{
		join(iif(expr.CmpOpEq, bridge), ctBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), verdict(expr.VerdictAccept)),
		join(iif(expr.CmpOpEq, bridge), daddrIs(gateway), l4Dport(unix.IPPROTO_UDP, dnsPort), verdict(expr.VerdictAccept)),
		join(iif(expr.CmpOpEq, bridge), daddrIs(gateway), l4Dport(unix.IPPROTO_TCP, dnsPort), verdict(expr.VerdictAccept)),
		join(iif(expr.CmpOpEq, bridge), verdict(expr.VerdictDrop)),
	}
	forward := [][]expr.Any{
		join(ctBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), verdict(expr.VerdictAccept)),
		join(iif(expr.CmpOpEq, bridge), oif(expr.CmpOpEq, bridge), verdict(expr.VerdictDrop)),
		join(oif(expr.CmpOpEq, bridge), ctBits(expr.CtKeySTATUS, ctStatusDstNAT), verdict(expr.VerdictAccept)),
		egressDispatchRule(bridge, m),
		join(iif(expr.CmpOpEq, bridge), verdict(expr.VerdictDrop)),
		join(oif(expr.CmpOpEq, bridge), verdict(expr.VerdictDrop)),
	}
	return map[string][][]expr.Any{
		chainPostrouting: post,
		chainInput:       input,
		chainForward:     forward,
	}
}

// dnsPort is where guests reach the forwarder on their gateway.
const dnsPort = 53

// daddrIs is "ip daddr <a>".
func daddrIs(a netip.Addr) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4DaddrOffset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: a.AsSlice()},
	}
}

// l4Dport is "meta l4proto <proto> th dport <port>".
func l4Dport(proto byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: tcpDportOffset, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: be16(port)},
	}
}

func join(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func iif(op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
		&expr.Cmp{Op: op, Register: reg1, Data: ifname(name)},
	}
}

func oif(op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: reg1},
		&expr.Cmp{Op: op, Register: reg1, Data: ifname(name)},
	}
}

// saddrIn is "ip saddr <p>".
func saddrIn(p netip.Prefix) []expr.Any {
	m := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-p.Bits()))
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4SaddrOffset, Len: 4},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: m, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: p.Masked().Addr().AsSlice()},
	}
}

// ctBits is "ct state|status & bits != 0", in host byte order as the
// kernel keeps these fields.
func ctBits(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: reg1, Key: key},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
	}
}

func masq() []expr.Any { return []expr.Any{&expr.Masq{}} }

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

// ifname is an interface name as meta iifname/oifname load it: IFNAMSIZ
// bytes, NUL-padded.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// Per-VM rules carry the attachment id as their nft comment (libnftnl
// userdata TLV, type 0, NUL-terminated), so `nft list` shows it too.
const udataComment = 0

func commentUserData(id string) []byte {
	data := append([]byte(id), 0)
	return append([]byte{udataComment, byte(len(data))}, data...)
}

// commentOf parses the comment out of rule userdata; malformed input yields
// false rather than a panic.
func commentOf(udata []byte) (string, bool) {
	for len(udata) >= 2 {
		typ, n := udata[0], int(udata[1])
		if len(udata) < 2+n {
			return "", false
		}
		if typ == udataComment {
			data := udata[2 : 2+n]
			if len(data) > 0 && data[len(data)-1] == 0 {
				data = data[:len(data)-1]
			}
			return string(data), true
		}
		udata = udata[2+n:]
	}
	return "", false
}
