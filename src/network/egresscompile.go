package network

import (
	"fmt"
	"slices"
)

// This file turns egress rules into the elements of an attachment's egress
// sets: pure functions, tested without root.
//
// Each set is keyed by the destination address and one more field (the
// port for tcp and udp, type and code for icmp, the protocol for all), and
// holds ranges in both. The kernel's set for such keys (pipapo) refuses
// elements that overlap, and rules from several security groups overlap
// all the time (a /8 for every protocol and one port of an address in it,
// say). So the rules of each set are cut into disjoint boxes that cover
// exactly their union; where a logged and an unlogged rule overlap, the
// packet is logged.

// egressClass names one of an attachment's egress sets.
type egressClass int

const (
	classTCP egressClass = iota
	classUDP
	classICMP
	classAll
	numClasses
)

func (c egressClass) String() string {
	return [...]string{"tcp", "udp", "icmp", "all"}[c]
}

// maxEgressElements bounds the elements of one set of one attachment.
const maxEgressElements = 65536

// span is the values lo to hi, both included.
type span struct{ lo, hi uint32 }

// egressBox is one element: destination addresses times the second field
// (port, type<<8|code, or protocol).
type egressBox struct {
	addr, x span
	log     bool
}

// egressPlan is what an attachment's egress sets hold, disjoint and sorted
// (by address, then x) per class.
type egressPlan [numClasses][]egressBox

func (p egressPlan) empty() bool {
	for _, b := range p {
		if len(b) > 0 {
			return false
		}
	}
	return true
}

func (p egressPlan) logs() bool {
	for _, boxes := range p {
		for _, b := range boxes {
			if b.log {
				return true
			}
		}
	}
	return false
}

// size is the number of elements of all sets.
func (p egressPlan) size() int {
	n := 0
	for _, b := range p {
		n += len(b)
	}
	return n
}

var (
	fullPorts = span{0, 0xffff}
	fullICMP  = span{0, 0xffff}
	fullProto = span{0, 0xff}
)

// compileEgress validates rules and plans their sets. A rule for every
// protocol also goes into the tcp, udp and icmp sets when those hold rules
// of their own, so that one lookup decides (and logs) a packet of those
// protocols; otherwise such packets fall through to the all set.
func compileEgress(rules []EgressRule) (egressPlan, error) {
	var in [numClasses][]egressBox
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return egressPlan{}, fmt.Errorf("egress rule %d: %w", i, err)
		}
		class, xs := ruleX(r)
		for _, d := range r.Destinations {
			a := span{addrU32(d.First), addrU32(d.Last)}
			for _, x := range xs {
				in[class] = append(in[class], egressBox{addr: a, x: x, log: r.Log})
			}
		}
	}
	for _, c := range []egressClass{classTCP, classUDP, classICMP} {
		if len(in[c]) == 0 {
			continue
		}
		full := fullPorts
		if c == classICMP {
			full = fullICMP
		}
		for _, b := range in[classAll] {
			in[c] = append(in[c], egressBox{addr: b.addr, x: full, log: b.log})
		}
	}
	var plan egressPlan
	for c := range numClasses {
		plan[c] = disjoint(in[c])
		if n := len(plan[c]); n > maxEgressElements {
			return egressPlan{}, fmt.Errorf("egress rules need %d %s set elements, more than %d", n, c, maxEgressElements)
		}
	}
	return plan, nil
}

// ruleX is the class of r and the spans of its second field.
func ruleX(r EgressRule) (egressClass, []span) {
	switch r.Protocol {
	case ProtocolTCP, ProtocolUDP:
		class := classTCP
		if r.Protocol == ProtocolUDP {
			class = classUDP
		}
		if len(r.Ports) == 0 {
			return class, []span{fullPorts}
		}
		var xs []span
		for _, p := range r.Ports {
			xs = append(xs, span{uint32(p.First), uint32(p.Last)})
		}
		return class, xs
	case ProtocolICMP:
		return classICMP, icmpSpans(r.ICMP)
	default:
		return classAll, []span{fullProto}
	}
}

// icmpSpans are the values of type<<8|code that m matches.
func icmpSpans(m *ICMPMatch) []span {
	switch {
	case m == nil || m.Type == -1 && m.Code == -1:
		return []span{fullICMP}
	case m.Code == -1:
		t := uint32(m.Type) << 8
		return []span{{t, t | 0xff}}
	case m.Type == -1:
		xs := make([]span, 256)
		for t := range xs {
			v := uint32(t)<<8 | uint32(m.Code)
			xs[t] = span{v, v}
		}
		return xs
	default:
		v := uint32(m.Type)<<8 | uint32(m.Code)
		return []span{{v, v}}
	}
}

// disjoint cuts boxes into disjoint ones covering the same union, logged
// wherever a logged box covers. It sweeps the address axis: between two
// consecutive box edges the same boxes cover every address, so the second
// field's profile (the union of their spans) is the same; neighbouring
// stretches with equal profiles are merged.
func disjoint(in []egressBox) []egressBox {
	if len(in) == 0 {
		return nil
	}
	var edges []uint64
	for _, b := range in {
		edges = append(edges, uint64(b.addr.lo), uint64(b.addr.hi)+1)
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	byLo := slices.Clone(in)
	slices.SortFunc(byLo, func(a, b egressBox) int { return cmpU32(a.addr.lo, b.addr.lo) })

	var out []egressBox
	var active []egressBox
	var run []xseg // profile of the stretch being merged
	var runLo uint32
	flush := func(hi uint32) {
		for _, s := range run {
			out = append(out, egressBox{addr: span{runLo, hi}, x: s.span, log: s.log})
		}
		run = nil
	}
	next := 0
	for i := 0; i+1 < len(edges); i++ {
		lo, hi := uint32(edges[i]), uint32(edges[i+1]-1)
		active = slices.DeleteFunc(active, func(b egressBox) bool { return b.addr.hi < lo })
		for next < len(byLo) && byLo[next].addr.lo == lo {
			active = append(active, byLo[next])
			next++
		}
		p := profile(active)
		switch {
		case len(p) == 0:
			if run != nil {
				flush(lo - 1)
			}
		case run == nil:
			run, runLo = p, lo
		case !slices.Equal(run, p):
			flush(lo - 1)
			run, runLo = p, lo
		}
		if i+2 == len(edges) && run != nil {
			flush(hi)
		}
	}
	return out
}

// xseg is a stretch of the second field and whether it is logged.
type xseg struct {
	span
	log bool
}

// profile is the union of the boxes' second-field spans, split where the
// logged part starts and ends, sorted.
func profile(boxes []egressBox) []xseg {
	var logged, plain []span
	for _, b := range boxes {
		if b.log {
			logged = append(logged, b.x)
		} else {
			plain = append(plain, b.x)
		}
	}
	var out []xseg
	for _, s := range union(logged) {
		out = append(out, xseg{s, true})
	}
	for _, s := range subtract(union(plain), union(logged)) {
		out = append(out, xseg{s, false})
	}
	slices.SortFunc(out, func(a, b xseg) int { return cmpU32(a.lo, b.lo) })
	return out
}

// union merges spans into sorted, disjoint, non-adjacent ones.
func union(in []span) []span {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b span) int { return cmpU32(a.lo, b.lo) })
	out := []span{s[0]}
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if uint64(x.lo) <= uint64(last.hi)+1 {
			last.hi = max(last.hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	return out
}

// subtract is a minus b, both sorted and disjoint.
func subtract(a, b []span) []span {
	var out []span
	for _, x := range a {
		lo := uint64(x.lo)
		for _, y := range b {
			if uint64(y.hi) < lo || y.lo > x.hi {
				continue
			}
			if uint64(y.lo) > lo {
				out = append(out, span{uint32(lo), y.lo - 1})
			}
			lo = uint64(y.hi) + 1
		}
		if lo <= uint64(x.hi) {
			out = append(out, span{uint32(lo), x.hi})
		}
	}
	return out
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
