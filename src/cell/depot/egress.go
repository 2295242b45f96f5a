package depot

import (
	"fmt"
	"strings"

	"code.cloudfoundry.org/bbs/models"

	"github.com/unik-cf/unik/src/network"
)

// egressRules turns a run request's egress rules (Cloud Foundry's application security
// groups, as the BBS hands them over) into the network's own. The instance then reaches
// exactly what they allow beyond the cell. A VM has IPv4 only, so IPv6 destinations and
// icmpv6 rules allow nothing here; note says which were left out (the cell logs it).
// A rule the network cannot express fails the instance.
func egressRules(rules []*models.SecurityGroupRule, note func(string)) ([]network.EgressRule, error) {
	var out []network.EgressRule
	skipped := 0
	for i, r := range rules {
		if r == nil {
			continue
		}
		if r.Protocol == models.ICMPv6Protocol {
			skipped++
			continue
		}
		rule := network.EgressRule{Protocol: network.Protocol(r.Protocol), Log: r.Log, Annotations: r.Annotations}
		for _, list := range r.Destinations {
			for _, d := range strings.Split(list, ",") {
				if strings.Contains(d, ":") { // IPv6, as an address, prefix or range
					skipped++
					continue
				}
				dst, err := network.ParseAddrRange(d)
				if err != nil {
					return nil, fmt.Errorf("egress rule %d: %w", i, err)
				}
				rule.Destinations = append(rule.Destinations, dst)
			}
		}
		if len(rule.Destinations) == 0 {
			continue // IPv6 destinations only
		}
		for _, p := range r.Ports {
			if p == 0 || p > 65535 {
				return nil, fmt.Errorf("egress rule %d: port %d", i, p)
			}
			rule.Ports = append(rule.Ports, network.PortRange{First: uint16(p), Last: uint16(p)})
		}
		if pr := r.PortRange; pr != nil {
			if pr.Start == 0 || pr.End > 65535 || pr.Start > pr.End {
				return nil, fmt.Errorf("egress rule %d: port range %d-%d", i, pr.Start, pr.End)
			}
			rule.Ports = append(rule.Ports, network.PortRange{First: uint16(pr.Start), Last: uint16(pr.End)})
		}
		if ic := r.IcmpInfo; ic != nil {
			rule.ICMP = &network.ICMPMatch{Type: int(ic.Type), Code: int(ic.Code)}
		}
		if err := rule.Validate(); err != nil {
			return nil, fmt.Errorf("egress rule %d: %w", i, err)
		}
		out = append(out, rule)
	}
	if skipped > 0 && note != nil {
		note(fmt.Sprintf("Ignoring %d IPv6 egress destinations or icmpv6 rules: the instance has IPv4 only", skipped))
	}
	return out, nil
}
