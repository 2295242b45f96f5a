package network

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"

	"github.com/google/nftables"
)

// The anti-spoofing guard: a bridge-family table named like the ip table,
// holding the guard chain and its three sets (guardrules.go). Attach adds a
// tap's elements before the tap joins the bridge; Detach and
// RemoveLeftovers delete them.

func (f nft) bridgeTableRef() *nftables.Table {
	return &nftables.Table{Name: f.table, Family: nftables.TableFamilyBridge}
}

// addGuardBase queues, in c's batch, the bridge table, its sets (kept with
// their elements if present) and the guard chain, rewritten whole.
func (f nft) addGuardBase(c *nftables.Conn) error {
	t := c.AddTable(f.bridgeTableRef())
	taps, mac, ip := guardSets(t)
	for _, s := range []*nftables.Set{taps, mac, ip} {
		if err := c.AddSet(s, nil); err != nil {
			return fmt.Errorf("guard set %s: %w", s.Name, err)
		}
	}
	ch := c.AddChain(&nftables.Chain{Name: chainGuard, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(guardPriority)})
	c.FlushChain(ch)
	for _, exprs := range guardRules(taps, mac, ip) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
	}
	return nil
}

// addGuard lets tap send frames from mac only, IPv4 from ip only, and ARP
// whose sender is mac and ip.
func (f nft) addGuard(tap, mac string, ip netip.Addr) error {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return fmt.Errorf("guard %s: %w", tap, err)
	}
	macKey, err := guardMACKey(tap, hw)
	if err != nil {
		return err
	}
	ipKey, err := guardIPKey(tap, ip)
	if err != nil {
		return err
	}
	c, err := f.conn()
	if err != nil {
		return err
	}
	tapSet, macSet, ipSet := guardSets(f.bridgeTableRef())
	for s, key := range map[*nftables.Set][]byte{tapSet: ifname(tap), macSet: macKey, ipSet: ipKey} {
		if err := c.SetAddElements(s, []nftables.SetElement{{Key: key}}); err != nil {
			return fmt.Errorf("guard %s: %w", tap, err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("guard %s (%s, %v): %w", tap, mac, ip, err)
	}
	return nil
}

// guardElements lists the elements of the sets; a missing table has none.
func (f nft) guardElements(c *nftables.Conn) (map[*nftables.Set][]nftables.SetElement, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyBridge)
	if err != nil {
		return nil, fmt.Errorf("list nftables bridge tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == f.table }) {
		return nil, nil
	}
	taps, mac, ip := guardSets(f.bridgeTableRef())
	out := map[*nftables.Set][]nftables.SetElement{}
	for _, s := range []*nftables.Set{taps, mac, ip} {
		elems, err := c.GetSetElements(s)
		if err != nil {
			return nil, fmt.Errorf("list guard set %s: %w", s.Name, err)
		}
		out[s] = elems
	}
	return out, nil
}

// guardTaps lists the taps the guard sets name, sorted.
func (f nft) guardTaps() ([]string, error) {
	c, err := f.conn()
	if err != nil {
		return nil, err
	}
	sets, err := f.guardElements(c)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, elems := range sets {
		for _, e := range elems {
			seen[guardTapOf(e.Key)] = true
		}
	}
	out := make([]string, 0, len(seen))
	for tap := range seen {
		out = append(out, tap)
	}
	sort.Strings(out)
	return out, nil
}

// deleteGuard deletes the elements of the taps match accepts, in one batch.
func (f nft) deleteGuard(match func(tap string) bool) error {
	c, err := f.conn()
	if err != nil {
		return err
	}
	sets, err := f.guardElements(c)
	if err != nil {
		return err
	}
	n := 0
	for s, elems := range sets {
		var del []nftables.SetElement
		for _, e := range elems {
			if match(guardTapOf(e.Key)) {
				del = append(del, nftables.SetElement{Key: e.Key})
			}
		}
		if len(del) == 0 {
			continue
		}
		if err := c.SetDeleteElements(s, del); err != nil {
			return fmt.Errorf("delete guard elements of %s: %w", s.Name, err)
		}
		n += len(del)
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete %d guard elements: %w", n, err)
	}
	return nil
}
