package network

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestParseAddrRange(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":              "10.0.0.1",
		"10.0.0.0/8":            "10.0.0.0-10.255.255.255",
		"10.1.2.3/16":           "10.1.0.0-10.1.255.255",
		"0.0.0.0/0":             "0.0.0.0-255.255.255.255",
		"10.0.0.1-10.0.0.9":     "10.0.0.1-10.0.0.9",
		" 10.0.0.1 - 10.0.0.1 ": "10.0.0.1",
	} {
		r, err := ParseAddrRange(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseAddrRange(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0", "10.0.0.9-10.0.0.1", "fd00::1", "fd00::/8", "10.0.0.0/33", "a-b", "10.0.0.1-fd00::1"} {
		if r, err := ParseAddrRange(bad); err == nil {
			t.Errorf("ParseAddrRange(%q) = %v, want an error", bad, r)
		}
	}
}

func TestEgressRuleValidate(t *testing.T) {
	dst := []AddrRange{{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.1")}}
	good := []EgressRule{
		{Protocol: ProtocolTCP, Destinations: dst, Ports: []PortRange{{80, 80}, {8000, 9000}}},
		{Protocol: ProtocolUDP, Destinations: dst},
		{Protocol: ProtocolICMP, Destinations: dst, ICMP: &ICMPMatch{-1, -1}},
		{Protocol: ProtocolICMP, Destinations: dst},
		AllowAll(),
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := map[string]EgressRule{
		"protocol":      {Protocol: "sctp", Destinations: dst},
		"destination":   {Protocol: ProtocolTCP},
		"port 0":        {Protocol: ProtocolTCP, Destinations: dst, Ports: []PortRange{{0, 10}}},
		"ports reverse": {Protocol: ProtocolTCP, Destinations: dst, Ports: []PortRange{{10, 9}}},
		"icmp on tcp":   {Protocol: ProtocolTCP, Destinations: dst, ICMP: &ICMPMatch{8, 0}},
		"ports on icmp": {Protocol: ProtocolICMP, Destinations: dst, Ports: []PortRange{{1, 2}}},
		"ports on all":  {Protocol: ProtocolAll, Destinations: dst, Ports: []PortRange{{1, 2}}},
		"icmp type":     {Protocol: ProtocolICMP, Destinations: dst, ICMP: &ICMPMatch{256, 0}},
		"icmp code":     {Protocol: ProtocolICMP, Destinations: dst, ICMP: &ICMPMatch{0, -2}},
		"ipv6":          {Protocol: ProtocolAll, Destinations: []AddrRange{{netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::1")}}},
	}
	for name, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("%s: %+v was accepted", name, r)
		}
	}
}

// The plan must let through exactly what some rule allows, log exactly
// what some logged rule allows, and hold disjoint boxes (the kernel refuses
// overlapping elements). Random rules in a small space are checked against
// the rules themselves, point by point.
func TestCompileEgressIsExactAndDisjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	addr := func(v uint32) netip.Addr { return u32Addr(0x0a000000 + v) }
	for round := range 200 {
		var rules []EgressRule
		for range 1 + rng.IntN(8) {
			r := EgressRule{Protocol: []Protocol{ProtocolTCP, ProtocolUDP, ProtocolICMP, ProtocolAll}[rng.IntN(4)], Log: rng.IntN(3) == 0}
			for range 1 + rng.IntN(2) {
				a := uint32(rng.IntN(16))
				r.Destinations = append(r.Destinations, AddrRange{addr(a), addr(a + uint32(rng.IntN(6)))})
			}
			switch r.Protocol {
			case ProtocolTCP, ProtocolUDP:
				for range rng.IntN(3) {
					p := uint16(1 + rng.IntN(12))
					r.Ports = append(r.Ports, PortRange{p, p + uint16(rng.IntN(4))})
				}
			case ProtocolICMP:
				if rng.IntN(4) > 0 {
					r.ICMP = &ICMPMatch{rng.IntN(4) - 1, rng.IntN(4) - 1}
				}
			}
			rules = append(rules, r)
		}
		plan, err := compileEgress(rules)
		if err != nil {
			t.Fatal(err)
		}
		for c, boxes := range plan {
			for i, a := range boxes {
				for _, b := range boxes[i+1:] {
					if overlaps(a.addr, b.addr) && overlaps(a.x, b.x) {
						t.Fatalf("round %d: %v boxes %+v and %+v overlap", round, egressClass(c), a, b)
					}
				}
			}
		}
		for a := uint32(0); a < 24; a++ {
			for proto, xs := range map[Protocol][]uint32{
				ProtocolTCP: {0, 1, 2, 5, 9, 13, 16, 65535}, ProtocolUDP: {1, 3, 7, 12, 15},
				ProtocolICMP: {0, 1, 2, 0x0100, 0x0102, 0x0200, 0x0201, 0x0300, 0xffff},
				"gre":        {47},
			} {
				for _, x := range xs {
					wantOK, wantLog := oracle(rules, addr(a), proto, x)
					gotOK, gotLog := lookupPlan(plan, addrU32(addr(a)), proto, x)
					if gotOK != wantOK || gotLog != wantLog {
						t.Fatalf("round %d: %s to %v x=%#x: plan allows %v logs %v, rules allow %v log %v\nrules %+v\nplan %+v",
							round, proto, addr(a), x, gotOK, gotLog, wantOK, wantLog, rules, plan)
					}
				}
			}
		}
	}
}

func overlaps(a, b span) bool { return a.lo <= b.hi && b.lo <= a.hi }

// oracle says what rules allow for a packet of proto to a with x (port,
// type<<8|code, or the protocol number for others) and whether it is logged.
func oracle(rules []EgressRule, a netip.Addr, proto Protocol, x uint32) (ok, log bool) {
	for _, r := range rules {
		inDst := false
		for _, d := range r.Destinations {
			inDst = inDst || !a.Less(d.First) && !d.Last.Less(a)
		}
		match := false
		switch {
		case r.Protocol == ProtocolAll:
			match = true
		case r.Protocol != proto:
		case r.Protocol == ProtocolICMP:
			m := r.ICMP
			match = m == nil || (m.Type == -1 || uint32(m.Type) == x>>8) && (m.Code == -1 || uint32(m.Code) == x&0xff)
		default:
			match = len(r.Ports) == 0
			for _, p := range r.Ports {
				match = match || uint32(p.First) <= x && x <= uint32(p.Last)
			}
		}
		if inDst && match {
			ok, log = true, log || r.Log
		}
	}
	return ok, log
}

// lookupPlan follows the instance chain: the protocol's own set if it has
// one, else the all set.
func lookupPlan(p egressPlan, a uint32, proto Protocol, x uint32) (ok, log bool) {
	find := func(c egressClass, x uint32) (bool, bool) {
		for _, b := range p[c] {
			if b.addr.lo <= a && a <= b.addr.hi && b.x.lo <= x && x <= b.x.hi {
				return true, b.log
			}
		}
		return false, false
	}
	class := map[Protocol]egressClass{ProtocolTCP: classTCP, ProtocolUDP: classUDP, ProtocolICMP: classICMP}
	if c, own := class[proto]; own && len(p[c]) > 0 {
		if ok, log := find(c, x); ok {
			return ok, log
		}
	}
	num := map[Protocol]uint32{ProtocolTCP: unix.IPPROTO_TCP, ProtocolUDP: unix.IPPROTO_UDP, ProtocolICMP: unix.IPPROTO_ICMP, "gre": 47}
	return find(classAll, num[proto])
}

func TestCompileEgressMergesNeighbours(t *testing.T) {
	var rules []EgressRule
	for i := range 256 { // 10.1.0.0 to 10.1.0.255, one address each, port 443
		a := u32Addr(0x0a010000 + uint32(i))
		rules = append(rules, EgressRule{Protocol: ProtocolTCP, Destinations: []AddrRange{{a, a}}, Ports: []PortRange{{443, 443}}})
	}
	plan, err := compileEgress(rules)
	if err != nil {
		t.Fatal(err)
	}
	want := []egressBox{{addr: span{0x0a010000, 0x0a0100ff}, x: span{443, 443}}}
	if !reflect.DeepEqual(plan[classTCP], want) || plan.size() != 1 {
		t.Errorf("plan %+v, want one box %+v", plan, want)
	}
	if _, err := compileEgress([]EgressRule{{Protocol: "bogus"}}); err == nil || !strings.Contains(err.Error(), "egress rule 0") {
		t.Errorf("a bad rule: %v", err)
	}
}

func TestICMPRects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		lo := uint32(rng.IntN(0x10000))
		hi := lo + uint32(rng.IntN(0x10000-int(lo)))
		covered := map[uint32]int{}
		for _, r := range icmpRects(span{lo, hi}) {
			for ty := r.types.lo; ty <= r.types.hi; ty++ {
				for code := r.codes.lo; code <= r.codes.hi; code++ {
					covered[ty<<8|code]++
				}
			}
		}
		if len(covered) != int(hi-lo+1) {
			t.Fatalf("%#x-%#x: rectangles cover %d values, want %d", lo, hi, len(covered), hi-lo+1)
		}
		for v, n := range covered {
			if v < lo || v > hi || n != 1 {
				t.Fatalf("%#x-%#x: value %#x covered %d times", lo, hi, v, n)
			}
		}
	}
}

func TestEgressSetsAndElements(t *testing.T) {
	tb := &nftables.Table{Name: "unik", Family: nftables.TableFamilyIPv4}
	box := egressBox{addr: span{0x0a000001, 0x0a0000ff}, x: span{0x0800, 0x08ff}, log: true}
	for c := range numClasses {
		s := egressSet(tb, "ukweb1", c)
		if !s.Interval || !s.Concatenation || !s.IsMap || s.Name != "eg-ukweb1-"+c.String() {
			t.Errorf("set %s: %+v", c, s)
		}
		elems := egressElements(c, "ukweb1", []egressBox{box})
		if len(elems) != 1 {
			t.Fatalf("%s: %d elements", c, len(elems))
		}
		e := elems[0]
		// the kernel refuses keys whose length is not the set's
		if uint32(len(e.Key)) != s.KeyType.Bytes || len(e.KeyEnd) != len(e.Key) {
			t.Errorf("%s: key %d and end %d bytes, set %d", c, len(e.Key), len(e.KeyEnd), s.KeyType.Bytes)
		}
		if !bytes.Equal(e.Key[:4], []byte{10, 0, 0, 1}) || !bytes.Equal(e.KeyEnd[:4], []byte{10, 0, 0, 255}) {
			t.Errorf("%s: address field % x - % x", c, e.Key[:4], e.KeyEnd[:4])
		}
		if v := e.VerdictData; v == nil || v.Kind != expr.VerdictJump || v.Chain != "eg-ukweb1-log" {
			t.Errorf("%s: logged element verdict %+v", c, v)
		}
	}
	tcp := egressElements(classTCP, "ukweb1", []egressBox{{addr: span{1, 1}, x: span{443, 8080}}})[0]
	if !bytes.Equal(tcp.Key[4:], []byte{0x01, 0xbb, 0, 0}) || !bytes.Equal(tcp.KeyEnd[4:], []byte{0x1f, 0x90, 0, 0}) {
		t.Errorf("tcp port field % x - % x", tcp.Key[4:], tcp.KeyEnd[4:])
	}
	if tcp.VerdictData.Kind != expr.VerdictAccept {
		t.Errorf("unlogged element verdict %+v", tcp.VerdictData)
	}
	icmp := egressElements(classICMP, "ukweb1", []egressBox{{addr: span{1, 1}, x: span{0x0800, 0x08ff}}})[0]
	if !bytes.Equal(icmp.Key[4:], []byte{8, 0, 0, 0, 0, 0, 0, 0}) || !bytes.Equal(icmp.KeyEnd[4:], []byte{8, 0, 0, 0, 0xff, 0, 0, 0}) {
		t.Errorf("icmp type/code fields % x - % x", icmp.Key[4:], icmp.KeyEnd[4:])
	}
	d := egressDispatchElement("ukweb1", netip.MustParseAddr("10.213.0.2"))
	if !bytes.Equal(d.Key, []byte{10, 213, 0, 2}) || d.VerdictData.Chain != "eg-ukweb1" || d.VerdictData.Kind != expr.VerdictJump {
		t.Errorf("dispatch element %+v", d)
	}
	for name, want := range map[string]string{"eg-ukweb1-tcp": "ukweb1", "eg-ukweb1-all": "ukweb1", "eg-ukweb1": "", "egress": ""} {
		if got, _ := egressSetTap(name); got != want {
			t.Errorf("egressSetTap(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestEgressChainRules(t *testing.T) {
	tb := &nftables.Table{Name: "unik", Family: nftables.TableFamilyIPv4}
	s := egressSet(tb, "ukweb1", classTCP)
	got := egressChainRule(classTCP, s)
	want := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{6}},
		&expr.Payload{DestRegister: 8, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: 9, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: 8, SetName: "eg-ukweb1-tcp", SetID: s.ID, IsDestRegSet: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tcp rule:\n got %s\nwant %s", dump(got), dump(want))
	}
	icmp := egressChainRule(classICMP, egressSet(tb, "ukweb1", classICMP))
	if p := icmp[3].(*expr.Payload); p.Offset != 0 || p.Len != 1 || p.DestRegister != 9 {
		t.Errorf("icmp type load %+v", p)
	}
	if p := icmp[4].(*expr.Payload); p.Offset != 1 || p.Len != 1 || p.DestRegister != 10 {
		t.Errorf("icmp code load %+v", p)
	}
	all := egressChainRule(classAll, egressSet(tb, "ukweb1", classAll))
	if m, ok := all[1].(*expr.Meta); !ok || m.Key != expr.MetaKeyL4PROTO || m.Register != 9 {
		t.Errorf("all rule does not load the protocol second: %s", dump(all))
	}
	for c := range numClasses {
		assertMarshals(t, egressChainRule(c, egressSet(tb, "ukweb1", c)))
	}
	logRules := egressLogRules(strings.Repeat("x", 200))
	lg := logRules[0][1].(*expr.Log)
	if len(lg.Data) != logPrefixMax || !strings.HasPrefix(string(lg.Data), "unik egress xxx") {
		t.Errorf("log prefix %q (%d bytes)", lg.Data, len(lg.Data))
	}
	if l := logRules[0][0].(*expr.Limit); l.Rate != logRate || l.Unit != expr.LimitTimeSecond {
		t.Errorf("log limit %+v", l)
	}
	for _, r := range logRules {
		assertMarshals(t, r)
	}
	assertMarshals(t, egressDispatchRule("unik0", egressMap(tb)))
}
