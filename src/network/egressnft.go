package network

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The egress of each attachment: its sets, chains and dispatch element
// (egressrules.go builds them). Attach installs them after the guard and
// before the DNAT rules; Detach and RemoveLeftovers delete them.

// A netlink batch is one sendmsg, which must fit the socket's send buffer
// (about 200 KiB by default), and one message's elements are one netlink
// attribute (at most 64 KiB). An element takes about 100 bytes.
const (
	elementsPerMessage = 256
	messagesPerBatch   = 4
)

// addEgress installs plan for the instance id on tap (address ip): first
// its sets and chains, then the elements in batches, and last its dispatch
// element, which turns it on: until then the instance has no egress at
// all, never more than its rules.
func (f nft) addEgress(id, tap string, ip netip.Addr, plan egressPlan) error {
	if plan.empty() {
		return nil
	}
	c, err := f.conn()
	if err != nil {
		return err
	}
	t := f.tableRef()
	if plan.logs() {
		ch := c.AddChain(&nftables.Chain{Name: egressLogChain(tap), Table: t})
		for _, exprs := range egressLogRules(id) {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
		}
	}
	ch := c.AddChain(&nftables.Chain{Name: egressChain(tap), Table: t})
	var sets [numClasses]*nftables.Set
	for class, boxes := range plan {
		if len(boxes) == 0 {
			continue
		}
		s := egressSet(t, tap, egressClass(class))
		if err := c.AddSet(s, nil); err != nil {
			return fmt.Errorf("egress of %s: set %s: %w", id, s.Name, err)
		}
		sets[class] = s
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: egressChainRule(egressClass(class), s)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("egress of %s: sets and chains: %w", id, err)
	}
	for class, boxes := range plan {
		if len(boxes) == 0 {
			continue
		}
		if err := f.addElements(c, sets[class], egressElements(egressClass(class), tap, boxes)); err != nil {
			return fmt.Errorf("egress of %s: %w", id, err)
		}
	}
	if err := c.SetAddElements(egressMap(t), []nftables.SetElement{egressDispatchElement(tap, ip)}); err != nil {
		return fmt.Errorf("egress of %s: %w", id, err)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("egress of %s: turn on for %v: %w", id, ip, err)
	}
	return nil
}

// addElements adds elems to s in as many batches as they need.
func (f nft) addElements(c *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) error {
	for len(elems) > 0 {
		for range messagesPerBatch {
			n := min(len(elems), elementsPerMessage)
			if n == 0 {
				break
			}
			if err := c.SetAddElements(s, elems[:n]); err != nil {
				return fmt.Errorf("set %s: %w", s.Name, err)
			}
			elems = elems[n:]
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("add elements to set %s: %w", s.Name, err)
		}
	}
	return nil
}

// egressObjects are the egress objects of the table: per-tap chains and
// sets by tap, and the dispatch elements by address, with the tap each
// jumps to.
type egressObjects struct {
	chains   map[string][]string
	sets     map[string][]string
	dispatch map[netip.Addr]string
}

// listEgress reads the egress objects; a missing table has none.
func (f nft) listEgress(c *nftables.Conn) (egressObjects, error) {
	out := egressObjects{chains: map[string][]string{}, sets: map[string][]string{}, dispatch: map[netip.Addr]string{}}
	if ok, err := f.exists(c); err != nil || !ok {
		return out, err
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return out, fmt.Errorf("list nftables chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name != f.table || !strings.HasPrefix(ch.Name, egressPrefix) {
			continue
		}
		tap := strings.TrimSuffix(strings.TrimPrefix(ch.Name, egressPrefix), egressLogSfx)
		out.chains[tap] = append(out.chains[tap], ch.Name)
	}
	sets, err := c.GetSets(f.tableRef())
	if err != nil {
		return out, fmt.Errorf("list sets of table %s: %w", f.table, err)
	}
	dispatch := false
	for _, s := range sets {
		if tap, ok := egressSetTap(s.Name); ok {
			out.sets[tap] = append(out.sets[tap], s.Name)
		}
		dispatch = dispatch || s.Name == mapEgress
	}
	if !dispatch { // a table made before egress existed, not yet rewritten by an Attach
		return out, nil
	}
	elems, err := c.GetSetElements(egressMap(f.tableRef()))
	if err != nil {
		return out, fmt.Errorf("list egress map of table %s: %w", f.table, err)
	}
	for _, e := range elems {
		ip, ok := netip.AddrFromSlice(e.Key)
		if !ok {
			continue
		}
		out.dispatch[ip] = strings.TrimPrefix(verdictChain(e.Val), egressPrefix)
	}
	return out, nil
}

// egressSetTap is the tap of an egress set's name.
func egressSetTap(name string) (string, bool) {
	if !strings.HasPrefix(name, egressPrefix) {
		return "", false
	}
	for c := range numClasses {
		if tap, ok := strings.CutSuffix(strings.TrimPrefix(name, egressPrefix), "-"+c.String()); ok {
			return tap, true
		}
	}
	return "", false
}

// verdictChain is the chain a vmap element's verdict (NFTA_DATA_VERDICT's
// attributes) jumps to, "" if none.
func verdictChain(b []byte) string {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == unix.NFTA_VERDICT_CHAIN {
			return ad.String()
		}
	}
	return ""
}

// deleteEgress deletes, in one transaction, the egress of the taps tap
// accepts and the dispatch elements of the addresses addr accepts (or
// that jump to such a tap). References go first: the dispatch elements,
// then the instance chains (their rules use the sets), the sets (their
// elements jump to the log chains), the log chains.
func (f nft) deleteEgress(tap func(string) bool, addr func(netip.Addr) bool) error {
	c, err := f.conn()
	if err != nil {
		return err
	}
	objs, err := f.listEgress(c)
	if err != nil {
		return err
	}
	t := f.tableRef()
	n := 0
	var del []nftables.SetElement
	for ip, to := range objs.dispatch {
		if addr(ip) || tap(to) {
			del = append(del, nftables.SetElement{Key: ip.AsSlice()})
		}
	}
	if len(del) > 0 {
		if err := c.SetDeleteElements(egressMap(t), del); err != nil {
			return fmt.Errorf("delete egress dispatch: %w", err)
		}
		n += len(del)
	}
	var logChains []string
	for name, chains := range objs.chains {
		if !tap(name) {
			continue
		}
		for _, ch := range chains {
			if strings.HasSuffix(ch, egressLogSfx) {
				logChains = append(logChains, ch)
				continue
			}
			c.DelChain(&nftables.Chain{Name: ch, Table: t})
			n++
		}
	}
	for name, sets := range objs.sets {
		if !tap(name) {
			continue
		}
		for _, s := range sets {
			c.DelSet(&nftables.Set{Name: s, Table: t})
			n++
		}
	}
	for _, ch := range logChains {
		c.DelChain(&nftables.Chain{Name: ch, Table: t})
		n++
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete %d egress objects: %w", n, err)
	}
	return nil
}

// strayEgress names the egress objects of taps not in taps and the
// dispatch elements of addresses not in addrs.
func (f nft) strayEgress(taps map[string]bool, addrs map[netip.Addr]bool) ([]string, error) {
	c, err := f.conn()
	if err != nil {
		return nil, err
	}
	objs, err := f.listEgress(c)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range []map[string][]string{objs.chains, objs.sets} {
		for tap, names := range m {
			if !taps[tap] {
				out = append(out, names...)
			}
		}
	}
	for ip, tap := range objs.dispatch {
		if !addrs[ip] || !taps[tap] {
			out = append(out, "egress "+ip.String())
		}
	}
	slices.Sort(out)
	return out, nil
}
