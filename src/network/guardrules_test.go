package network

import (
	"bytes"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestGuardKeys(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:0a:d5:00:05")
	tapSet, macSet, ipSet := guardSets(&nftables.Table{Name: "unik", Family: nftables.TableFamilyBridge})
	if tapSet.KeyType.Bytes != uint32(len(ifname("ukweb1"))) {
		t.Errorf("taps set key is %d bytes, a tap name %d", tapSet.KeyType.Bytes, len(ifname("ukweb1")))
	}
	mk, err := guardMACKey("ukweb1", mac)
	if err != nil {
		t.Fatal(err)
	}
	// the kernel refuses a key whose length is not the set's
	if uint32(len(mk)) != macSet.KeyType.Bytes || len(mk) != 24 {
		t.Errorf("MAC key is %d bytes, the set wants %d", len(mk), macSet.KeyType.Bytes)
	}
	want := append(append(ifname("ukweb1"), 0x52, 0x54, 0x0a, 0xd5, 0x00, 0x05), 0, 0)
	if !bytes.Equal(mk, want) {
		t.Errorf("MAC key % x, want % x", mk, want)
	}
	ik, err := guardIPKey("ukweb1", netip.MustParseAddr("10.213.0.5"))
	if err != nil {
		t.Fatal(err)
	}
	if uint32(len(ik)) != ipSet.KeyType.Bytes || !bytes.Equal(ik[16:], []byte{10, 213, 0, 5}) {
		t.Errorf("IP key % x (set wants %d bytes)", ik, ipSet.KeyType.Bytes)
	}
	for _, k := range [][]byte{mk, ik} {
		if got := guardTapOf(k); got != "ukweb1" {
			t.Errorf("guardTapOf = %q", got)
		}
	}
	if got := guardTapOf(append(ifname("uk0123456789abc"), 1, 2, 3, 4)); got != "uk0123456789abc" {
		t.Errorf("guardTapOf of a 15-letter name = %q", got)
	}
	if _, err := guardMACKey("ukx", mac[:4]); err == nil {
		t.Error("a 4-byte MAC was accepted")
	}
	if _, err := guardIPKey("ukx", netip.MustParseAddr("fd00::1")); err == nil {
		t.Error("an IPv6 address was accepted")
	}
}

func TestGuardRules(t *testing.T) {
	tapSet, macSet, ipSet := guardSets(&nftables.Table{Name: "unik", Family: nftables.TableFamilyBridge})
	rules := guardRules(tapSet, macSet, ipSet)
	if len(rules) != 5 {
		t.Fatalf("%d rules, want 5", len(rules))
	}
	for _, r := range rules {
		for _, e := range r {
			if _, err := expr.Marshal(unix.NFPROTO_BRIDGE, e); err != nil {
				t.Errorf("marshal %T: %v", e, err)
			}
		}
	}
	// 1: frames from ports the guard does not name (other bridges' ports) pass on
	first := rules[0]
	if m := first[0].(*expr.Meta); m.Key != expr.MetaKeyIIFNAME {
		t.Errorf("rule 1 does not look at the input port: %s", dump(first))
	}
	if l := first[1].(*expr.Lookup); !l.Invert || l.SetName != setGuardTaps {
		t.Errorf("rule 1 is not iifname != @taps: %s", dump(first))
	}
	if v := first[2].(*expr.Verdict); v.Kind != expr.VerdictAccept {
		t.Errorf("rule 1 verdict %v", v.Kind)
	}
	// 2: a source MAC that is not the port's own is dropped, counted; unknown ports too
	second := rules[1]
	lk, ok := second[2].(*expr.Lookup)
	if !ok || !lk.Invert || lk.SetName != setGuardMAC || lk.SourceRegister != reg1 {
		t.Errorf("rule 2 is not iifname . ether saddr != @tap_mac: %s", dump(second))
	}
	if p := second[1].(*expr.Payload); p.Base != expr.PayloadBaseLLHeader || p.Offset != 6 || p.Len != 6 || p.DestRegister != reg2 {
		t.Errorf("rule 2 does not load ether saddr after iifname: %+v", p)
	}
	// 3 and 4 accept, looking up without inverting
	for i, r := range rules[2:4] {
		if v := r[len(r)-1].(*expr.Verdict); v.Kind != expr.VerdictAccept {
			t.Errorf("rule %d verdict %v", i+3, v.Kind)
		}
		for _, e := range r {
			if l, ok := e.(*expr.Lookup); ok && l.Invert {
				t.Errorf("rule %d inverts a lookup", i+3)
			}
		}
	}
	arp := rules[3]
	var sets []string
	for _, e := range arp {
		if l, ok := e.(*expr.Lookup); ok {
			sets = append(sets, l.SetName)
		}
	}
	if !reflect.DeepEqual(sets, []string{setGuardMAC, setGuardIP}) {
		t.Errorf("ARP rule checks %v, want the sender MAC and the sender address", sets)
	}
	// 5: everything else is dropped, counted
	if !reflect.DeepEqual(rules[4], []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}) {
		t.Errorf("last rule: %s", dump(rules[4]))
	}
}
