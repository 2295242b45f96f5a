package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Protocol is what an EgressRule lets through.
type Protocol string

const (
	ProtocolTCP  Protocol = "tcp"
	ProtocolUDP  Protocol = "udp"
	ProtocolICMP Protocol = "icmp"
	// ProtocolAll is every IPv4 protocol, to any port.
	ProtocolAll Protocol = "all"
)

// EgressRule lets an instance open connections (or send datagrams) to
// Destinations; replies come back through conntrack. An attachment's egress
// is exactly the union of its rules: everything else it sends beyond the
// bridge is dropped. The isolation rules come first whatever the rules say:
// no rule opens the host's own addresses or the bridge subnet.
type EgressRule struct {
	Protocol Protocol
	// Destinations are IPv4 ranges; at least one.
	Destinations []AddrRange
	// Ports (tcp and udp only) are destination port ranges; none means
	// every port.
	Ports []PortRange
	// ICMP (icmp only) narrows the rule to a type and code; nil means every
	// type and code.
	ICMP *ICMPMatch
	// Log has the kernel log the first packet of each connection the rule
	// lets through, prefixed with the attachment id and rate-limited.
	Log bool
	// Annotations say where the rule comes from (Cloud Foundry puts the
	// security group's guid there). They are kept with the rule and
	// change nothing in what it lets through.
	Annotations []string
}

// AddrRange is the IPv4 addresses First to Last, both included.
type AddrRange struct{ First, Last netip.Addr }

// PortRange is the ports First to Last, both included.
type PortRange struct{ First, Last uint16 }

// ICMPMatch is an ICMP type and code; -1 stands for any.
type ICMPMatch struct{ Type, Code int }

// ParseAddrRange reads a destination as Cloud Foundry writes them: an
// address ("10.0.0.1"), a prefix ("10.0.0.0/8") or a range
// ("10.0.0.1-10.0.0.9"). Only IPv4 is accepted.
func ParseAddrRange(s string) (AddrRange, error) {
	s = strings.TrimSpace(s)
	if first, last, ok := strings.Cut(s, "-"); ok {
		a, err := netip.ParseAddr(strings.TrimSpace(first))
		if err != nil {
			return AddrRange{}, fmt.Errorf("destination %q: %w", s, err)
		}
		b, err := netip.ParseAddr(strings.TrimSpace(last))
		if err != nil {
			return AddrRange{}, fmt.Errorf("destination %q: %w", s, err)
		}
		r := AddrRange{a, b}
		return r, r.validate()
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return AddrRange{}, fmt.Errorf("destination %q: %w", s, err)
		}
		if !p.Addr().Is4() {
			return AddrRange{}, fmt.Errorf("destination %q is not IPv4", s)
		}
		p = p.Masked()
		return AddrRange{p.Addr(), lastAddr(p)}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return AddrRange{}, fmt.Errorf("destination %q: %w", s, err)
	}
	r := AddrRange{a, a}
	return r, r.validate()
}

func (r AddrRange) validate() error {
	if !r.First.Is4() || !r.Last.Is4() {
		return fmt.Errorf("destination %v-%v is not IPv4", r.First, r.Last)
	}
	if r.Last.Less(r.First) {
		return fmt.Errorf("destination %v-%v ends before it starts", r.First, r.Last)
	}
	return nil
}

func (r AddrRange) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// Validate names the first thing wrong with the rule.
func (r EgressRule) Validate() error {
	switch r.Protocol {
	case ProtocolTCP, ProtocolUDP:
		if r.ICMP != nil {
			return fmt.Errorf("egress rule %s: ICMP type and code given to a %s rule", r.Protocol, r.Protocol)
		}
	case ProtocolICMP:
		if len(r.Ports) > 0 {
			return errors.New("egress rule icmp: ports given to an icmp rule")
		}
		if m := r.ICMP; m != nil && (m.Type < -1 || m.Type > 255 || m.Code < -1 || m.Code > 255) {
			return fmt.Errorf("egress rule icmp: type %d code %d: each must be -1 (any) or 0 to 255", m.Type, m.Code)
		}
	case ProtocolAll:
		if len(r.Ports) > 0 || r.ICMP != nil {
			return errors.New("egress rule all: ports or ICMP type given to a rule for every protocol")
		}
	default:
		return fmt.Errorf("egress rule: protocol %q is none of tcp, udp, icmp, all", r.Protocol)
	}
	if len(r.Destinations) == 0 {
		return fmt.Errorf("egress rule %s: no destination", r.Protocol)
	}
	for _, d := range r.Destinations {
		if err := d.validate(); err != nil {
			return fmt.Errorf("egress rule %s: %w", r.Protocol, err)
		}
	}
	for _, p := range r.Ports {
		if p.First == 0 || p.Last < p.First {
			return fmt.Errorf("egress rule %s: port range %d-%d is not a range of ports from 1 to 65535", r.Protocol, p.First, p.Last)
		}
	}
	return nil
}

// AllowAll is the rule of Config.Egress: every protocol to every address.
func AllowAll() EgressRule {
	return EgressRule{Protocol: ProtocolAll, Destinations: []AddrRange{{u32Addr(0), u32Addr(^uint32(0))}}}
}

func addrU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func u32Addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
