package egressbench

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// guest connects to the target: a probe VM, or a namespace standing in for one. Its egress
// is keyed by tap and ip; it was attached with rules rules.
type guest struct {
	tap   string
	ip    netip.Addr
	rules int
	// dial connects n times, one after the other, and returns each connect's time in µs.
	dial func(ctx context.Context, n int) ([]int64, error)
}

// measure times connections from both guests in turns. Every other turn each guest's
// packets are looked up in the other's rules (its dispatch element points at the other's
// chain; both rule sets allow the target), so each guest is measured with both rule sets
// and what differs between the two guests themselves (two QEMU processes under TCG on a
// shared host) cancels. The first turn warms up. It returns the times by rule count, and
// each guest's ratio of medians (many rules / few).
func (l *lab) measure(ctx context.Context, o Options, gs [2]guest) (map[int][]int64, [2]float64, error) {
	conn := map[int][]int64{}
	own := [2]map[int][]int64{{}, {}}
	for r := range o.Rounds {
		swapped := r%2 == 1
		for i := range gs {
			lookup := gs[i]
			if swapped {
				lookup = gs[1-i]
			}
			if err := l.point(gs[i].ip, lookup.tap); err != nil {
				return nil, [2]float64{}, err
			}
		}
		for k := range gs {
			i := k
			if r%4 >= 2 { // alternate which guest goes first, too
				i = 1 - k
			}
			micros, err := gs[i].dial(ctx, o.PerTurn)
			if err != nil {
				return nil, [2]float64{}, fmt.Errorf("connections from guest %d: %w", i, err)
			}
			if r == 0 {
				continue
			}
			n := gs[i].rules
			if swapped {
				n = gs[1-i].rules
			}
			conn[n] = append(conn[n], micros...)
			own[i][n] = append(own[i][n], micros...)
		}
	}
	for i := range gs { // back to their own rules
		if err := l.point(gs[i].ip, gs[i].tap); err != nil {
			return nil, [2]float64{}, err
		}
	}
	var perGuest [2]float64
	for i := range perGuest {
		perGuest[i] = float64(median(own[i][o.Many])) / float64(median(own[i][o.Few]))
	}
	return conn, perGuest, nil
}

// point makes the egress dispatch element of ip jump to the chain of tap's egress, in one
// transaction. It knows package network's names (the map "egress", chains "eg-<tap>"):
// benchmark tooling, not an interface.
func (l *lab) point(ip netip.Addr, tap string) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: l.net.Config().Table, Family: nftables.TableFamilyIPv4}
	m := &nftables.Set{Table: t, Name: "egress", KeyType: nftables.TypeIPAddr, IsMap: true, DataType: nftables.TypeVerdict}
	if err := c.SetDeleteElements(m, []nftables.SetElement{{Key: ip.AsSlice()}}); err != nil {
		return err
	}
	if err := c.SetAddElements(m, []nftables.SetElement{{Key: ip.AsSlice(),
		VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: "eg-" + tap}}}); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("point %v at the egress of %s: %w", ip, tap, err)
	}
	return nil
}

func median(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
