package network

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestDNATExprs(t *testing.T) {
	got := dnatExprs(netip.MustParseAddr("127.0.0.1"), 40001, netip.MustParseAddrPort("10.213.0.5:8080"))
	want := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127, 0, 0, 1}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x9c, 0x41}}, // 40001
		&expr.Immediate{Register: 1, Data: []byte{10, 213, 0, 5}},
		&expr.Immediate{Register: 2, Data: []byte{0x1f, 0x90}}, // 8080
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dnatExprs:\n got %s\nwant %s", dump(got), dump(want))
	}
	assertMarshals(t, got)
}

func TestBaseRules(t *testing.T) {
	subnet := netip.MustParsePrefix("10.213.0.0/24")
	m := egressMap(&nftables.Table{Name: "unik", Family: nftables.TableFamilyIPv4})
	base := baseRules("unik0", subnet, m)
	for chain, want := range map[string]int{chainPostrouting: 2, chainInput: 4, chainForward: 6} {
		if got := len(base[chain]); got != want {
			t.Errorf("chain %s: %d rules, want %d", chain, got, want)
		}
		for _, rule := range base[chain] {
			assertMarshals(t, rule)
		}
	}
	// forward: replies, routed bridge-to-bridge dropped, DNAT mappings, the
	// egress dispatch, then the drops; the isolation rules come before the
	// dispatch, so no egress rule can open the bridge subnet.
	fwd := base[chainForward]
	for i, rule := range fwd {
		last := rule[len(rule)-1]
		if i == 3 {
			lk, ok := last.(*expr.Lookup)
			if !ok || lk.SetName != mapEgress || !lk.IsDestRegSet || lk.DestRegister != 0 {
				t.Errorf("forward rule 3 is not the egress vmap: %s", dump(rule))
			}
			continue
		}
		v, ok := last.(*expr.Verdict)
		if !ok {
			t.Fatalf("forward rule %d does not end with a verdict: %s", i, dump(rule))
		}
		wantDrop := i == 1 || i >= 4
		if (v.Kind == expr.VerdictDrop) != wantDrop {
			t.Errorf("forward rule %d: verdict %v", i, v.Kind)
		}
	}
	if cmp := fwd[1][3].(*expr.Cmp); !reflect.DeepEqual(cmp.Data, ifname("unik0")) || cmp.Op != expr.CmpOpEq {
		t.Errorf("forward rule 1 does not match oifname unik0: %s", dump(fwd[1]))
	}
	// input: replies, DNS to the gateway (udp, tcp), then drop.
	for i, proto := range map[int]byte{1: unix.IPPROTO_UDP, 2: unix.IPPROTO_TCP} {
		rule := base[chainInput][i]
		want := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("unik0")},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10, 213, 0, 1}},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 53}},
			&expr.Verdict{Kind: expr.VerdictAccept},
		}
		if !reflect.DeepEqual(rule, want) {
			t.Errorf("input rule %d:\n got %s\nwant %s", i, dump(rule), dump(want))
		}
	}
	// The loopback masquerade matches 127.0.0.0/8 leaving the bridge; the
	// subnet is masqueraded leaving anywhere else.
	post := base[chainPostrouting][0]
	if cmp := post[1].(*expr.Cmp); !reflect.DeepEqual(cmp.Data, ifname("unik0")) || cmp.Op != expr.CmpOpEq {
		t.Errorf("postrouting oifname: %+v", cmp)
	}
	if bw := post[3].(*expr.Bitwise); !reflect.DeepEqual(bw.Mask, []byte{255, 0, 0, 0}) {
		t.Errorf("postrouting mask: %v", bw.Mask)
	}
	for _, rule := range base[chainPostrouting] {
		if _, ok := rule[len(rule)-1].(*expr.Masq); !ok {
			t.Errorf("postrouting rule does not masquerade: %s", dump(rule))
		}
	}
	if cmp := base[chainPostrouting][1][4].(*expr.Cmp); cmp.Op != expr.CmpOpNeq {
		t.Errorf("egress masquerade matches oifname %v, want !=", cmp.Op)
	}
}

func TestCommentUserData(t *testing.T) {
	ud := commentUserData("web-1")
	if id, ok := commentOf(ud); !ok || id != "web-1" {
		t.Errorf("commentOf(commentUserData) = %q, %v", id, ok)
	}
	// Another TLV before the comment is skipped.
	if id, ok := commentOf(append([]byte{1, 1, 9}, ud...)); !ok || id != "web-1" {
		t.Errorf("commentOf after another TLV = %q, %v", id, ok)
	}
	for _, bad := range [][]byte{nil, {0}, {0, 9, 'a'}, {1, 200}} {
		if id, ok := commentOf(bad); ok {
			t.Errorf("commentOf(%v) = %q, want none", bad, id)
		}
	}
}

func assertMarshals(t *testing.T, exprs []expr.Any) {
	t.Helper()
	for _, e := range exprs {
		if _, err := expr.Marshal(unix.NFPROTO_IPV4, e); err != nil {
			t.Errorf("marshal %T: %v", e, err)
		}
	}
}

func dump(exprs []expr.Any) string {
	s := ""
	for _, e := range exprs {
		s += fmt.Sprintf("\n  %T %+v", e, e)
	}
	return s
}
