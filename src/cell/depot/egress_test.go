package depot

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/unik-cf/unik/src/network"
)

func TestEgressRulesFromSecurityGroups(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	in := []*models.SecurityGroupRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8", "192.0.2.1-192.0.2.9,198.51.100.7"}, Ports: []uint32{443, 8443}, Log: true,
			Annotations: []string{"security_group_id:abc"}},
		{Protocol: "udp", Destinations: []string{"10.1.1.1"}, PortRange: &models.PortRange{Start: 53, End: 54}},
		{Protocol: "icmp", Destinations: []string{"0.0.0.0/0", "::/0"}, IcmpInfo: &models.ICMPInfo{Type: 8, Code: -1}},
		{Protocol: "all", Destinations: []string{"203.0.113.0/24"}},
		{Protocol: "icmpv6", Destinations: []string{"::/0"}, IcmpInfo: &models.ICMPInfo{Type: 128, Code: 0}},
		{Protocol: "all", Destinations: []string{"fd00::/8"}},
		nil,
	}
	want := []network.EgressRule{
		{Protocol: "tcp", Destinations: []network.AddrRange{{First: a("10.0.0.0"), Last: a("10.255.255.255")}, {First: a("192.0.2.1"), Last: a("192.0.2.9")}, {First: a("198.51.100.7"), Last: a("198.51.100.7")}},
			Ports: []network.PortRange{{First: 443, Last: 443}, {First: 8443, Last: 8443}}, Log: true, Annotations: []string{"security_group_id:abc"}},
		{Protocol: "udp", Destinations: []network.AddrRange{{First: a("10.1.1.1"), Last: a("10.1.1.1")}}, Ports: []network.PortRange{{First: 53, Last: 54}}},
		{Protocol: "icmp", Destinations: []network.AddrRange{{First: a("0.0.0.0"), Last: a("255.255.255.255")}}, ICMP: &network.ICMPMatch{Type: 8, Code: -1}},
		{Protocol: "all", Destinations: []network.AddrRange{{First: a("203.0.113.0"), Last: a("203.0.113.255")}}},
	}
	var notes []string
	got, err := egressRules(in, func(s string) { notes = append(notes, s) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules\n got %+v\nwant %+v", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "Ignoring 3 IPv6") {
		t.Errorf("notes %q", notes)
	}
	if none, err := egressRules(nil, nil); err != nil || len(none) != 0 {
		t.Errorf("no rules: %v, %v", none, err)
	}
	for name, bad := range map[string]*models.SecurityGroupRule{
		"destination": {Protocol: "tcp", Destinations: []string{"10.0.0.300"}, Ports: []uint32{1}},
		"port":        {Protocol: "tcp", Destinations: []string{"10.0.0.1"}, Ports: []uint32{70000}},
		"port range":  {Protocol: "udp", Destinations: []string{"10.0.0.1"}, PortRange: &models.PortRange{Start: 9, End: 1}},
		"protocol":    {Protocol: "sctp", Destinations: []string{"10.0.0.1"}},
		"ports @ all": {Protocol: "all", Destinations: []string{"10.0.0.1"}, Ports: []uint32{1}},
	} {
		if r, err := egressRules([]*models.SecurityGroupRule{bad}, nil); err == nil {
			t.Errorf("%s: %+v accepted as %+v", name, bad, r)
		}
	}
}
