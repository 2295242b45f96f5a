package network

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
)

// nft talks to nftables over netlink for one table. Every method sends one
// batch, which the kernel applies as one transaction: all or nothing.
type nft struct {
	table  string
	bridge string
	subnet netip.Prefix
}

func (f nft) tableRef() *nftables.Table {
	return &nftables.Table{Name: f.table, Family: nftables.TableFamilyIPv4}
}

func (f nft) chainRef(name string) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: f.tableRef()}
}

func (f nft) conn() (*nftables.Conn, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("open nftables netlink: %w", err)
	}
	return c, nil
}

func (f nft) exists(c *nftables.Conn) (bool, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("list nftables tables: %w", err)
	}
	return slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == f.table }), nil
}

// ensureBase creates the tables, chains and sets (the guard's, the egress
// dispatch map) if missing, keeping their elements, and rewrites the chains
// without per-VM rules (and the guard chain) whole, in one transaction.
func (f nft) ensureBase() error {
	c, err := f.conn()
	if err != nil {
		return err
	}
	if err := f.addGuardBase(c); err != nil {
		return err
	}
	t := c.AddTable(f.tableRef())
	m := egressMap(t)
	if err := c.AddSet(m, nil); err != nil {
		return fmt.Errorf("egress map: %w", err)
	}
	base := baseRules(f.bridge, f.subnet, m)
	for _, s := range chainSpecs() {
		ch := c.AddChain(&nftables.Chain{Name: s.name, Table: t, Type: s.typ, Hooknum: s.hook, Priority: s.prio})
		if s.perVM {
			continue
		}
		c.FlushChain(ch)
		for _, exprs := range base[s.name] {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("set up nftables table %s: %w", f.table, err)
	}
	return nil
}

// addDNAT adds, for each mapping, the same DNAT rule to prerouting (traffic
// from elsewhere) and output (traffic from this host), commented with id.
func (f nft) addDNAT(id string, guest netip.Addr, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	c, err := f.conn()
	if err != nil {
		return err
	}
	for _, p := range ports {
		exprs := dnatExprs(p.HostIP, p.HostPort, netip.AddrPortFrom(guest, p.GuestPort))
		for _, chain := range []string{chainPrerouting, chainOutput} {
			c.AddRule(&nftables.Rule{
				Table:    f.tableRef(),
				Chain:    f.chainRef(chain),
				Exprs:    exprs,
				UserData: commentUserData(id),
			})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("add DNAT rules for %s: %w", id, err)
	}
	return nil
}

// commented lists the rules of every chain of the table that carry a
// comment. A missing table has none.
func (f nft) commented() ([]RuleRef, error) {
	c, err := f.conn()
	if err != nil {
		return nil, err
	}
	ok, err := f.exists(c)
	if err != nil || !ok {
		return nil, err
	}
	var out []RuleRef
	for _, s := range chainSpecs() {
		rules, err := c.GetRules(f.tableRef(), f.chainRef(s.name))
		if err != nil {
			return nil, fmt.Errorf("list rules of chain %s: %w", s.name, err)
		}
		for _, r := range rules {
			if id, ok := commentOf(r.UserData); ok {
				out = append(out, RuleRef{Chain: s.name, Handle: r.Handle, ID: id})
			}
		}
	}
	return out, nil
}

// deleteRules deletes the rules whose comment satisfies match.
func (f nft) deleteRules(match func(RuleRef) bool) error {
	refs, err := f.commented()
	if err != nil {
		return err
	}
	c, err := f.conn()
	if err != nil {
		return err
	}
	n := 0
	for _, r := range refs {
		if !match(r) {
			continue
		}
		rule := &nftables.Rule{Table: f.tableRef(), Chain: f.chainRef(r.Chain), Handle: r.Handle}
		if err := c.DelRule(rule); err != nil {
			return fmt.Errorf("delete rule %d of chain %s: %w", r.Handle, r.Chain, err)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete %d rules: %w", n, err)
	}
	return nil
}

// deleteTable removes the ip and bridge tables with all their chains, sets
// and rules, if present.
func (f nft) deleteTable() error {
	c, err := f.conn()
	if err != nil {
		return err
	}
	n := 0
	for _, t := range []*nftables.Table{f.tableRef(), f.bridgeTableRef()} {
		tables, err := c.ListTablesOfFamily(t.Family)
		if err != nil {
			return fmt.Errorf("list nftables tables: %w", err)
		}
		if slices.ContainsFunc(tables, func(x *nftables.Table) bool { return x.Name == t.Name }) {
			c.DelTable(t)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete nftables tables %s: %w", f.table, err)
	}
	return nil
}
