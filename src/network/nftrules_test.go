package network

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"

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
	closed := baseRules("unik0", subnet, false)
	open := baseRules("unik0", subnet, true)
	for chain, want := range map[string][2]int{
		chainPostrouting: {1, 2},
		chainInput:       {2, 2},
		chainForward:     {4, 5},
	} {
		if got := [2]int{len(closed[chain]), len(open[chain])}; got != want {
			t.Errorf("chain %s: %v rules without/with egress, want %v", chain, got, want)
		}
		for _, rule := range append(closed[chain], open[chain]...) {
			assertMarshals(t, rule)
		}
	}
	// The forward chain ends with the drops, after every accept.
	fwd := closed[chainForward]
	for i, rule := range fwd {
		v, ok := rule[len(rule)-1].(*expr.Verdict)
		if !ok {
			t.Fatalf("forward rule %d does not end with a verdict: %s", i, dump(rule))
		}
		wantDrop := i >= len(fwd)-2
		if (v.Kind == expr.VerdictDrop) != wantDrop {
			t.Errorf("forward rule %d: verdict %v", i, v.Kind)
		}
	}
	// The loopback masquerade matches 127.0.0.0/8 leaving the bridge.
	post := closed[chainPostrouting][0]
	if cmp := post[1].(*expr.Cmp); !reflect.DeepEqual(cmp.Data, ifname("unik0")) || cmp.Op != expr.CmpOpEq {
		t.Errorf("postrouting oifname: %+v", cmp)
	}
	if bw := post[3].(*expr.Bitwise); !reflect.DeepEqual(bw.Mask, []byte{255, 0, 0, 0}) {
		t.Errorf("postrouting mask: %v", bw.Mask)
	}
	if _, ok := post[len(post)-1].(*expr.Masq); !ok {
		t.Errorf("postrouting rule does not masquerade: %s", dump(post))
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
