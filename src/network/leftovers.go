package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
)

// Leftovers lists objects of this network that no attachment record (of
// any owner) accounts for: uk* taps on the bridge, rules of the table whose
// comment names an unknown attachment, guard elements and egress objects of
// unknown taps or addresses, and orphaned lease files.
func (n *Network) Leftovers(ctx context.Context) (Leftovers, error) {
	unlock, err := n.dir.lock(ctx)
	if err != nil {
		return Leftovers{}, fmt.Errorf("leftovers: %w", err)
	}
	defer unlock()
	l, err := n.leftovers()
	if err != nil {
		return Leftovers{}, fmt.Errorf("leftovers: %w", err)
	}
	return l, nil
}

// RemoveLeftovers deletes what Leftovers finds and returns it; `unik` and
// the cell call it after a crash.
func (n *Network) RemoveLeftovers(ctx context.Context) (Leftovers, error) {
	unlock, err := n.dir.lock(ctx)
	if err != nil {
		return Leftovers{}, fmt.Errorf("remove leftovers: %w", err)
	}
	defer unlock()
	l, err := n.leftovers()
	if err != nil {
		return Leftovers{}, fmt.Errorf("remove leftovers: %w", err)
	}
	var errs []error
	for _, tap := range l.Taps {
		errs = append(errs, deleteLink(tap))
	}
	if len(l.Rules) > 0 {
		stray := make(map[RuleRef]bool, len(l.Rules))
		for _, r := range l.Rules {
			stray[r] = true
		}
		errs = append(errs, n.nft().deleteRules(func(r RuleRef) bool { return stray[r] }))
	}
	if len(l.Guards) > 0 {
		errs = append(errs, n.nft().deleteGuard(func(tap string) bool { return slices.Contains(l.Guards, tap) }))
	}
	if len(l.Egress) > 0 {
		taps, addrs, err := n.held()
		if err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, n.nft().deleteEgress(func(t string) bool { return !taps[t] }, func(a netip.Addr) bool { return !addrs[a] }))
		}
	}
	for _, name := range l.Leases {
		if err := os.Remove(n.dir.lease(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove lease %s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return l, fmt.Errorf("remove leftovers: %w", err)
	}
	return l, nil
}

// leftovers runs with the StateDir lock held.
func (n *Network) leftovers() (Leftovers, error) {
	recs, err := n.dir.records()
	if err != nil {
		return Leftovers{}, err
	}
	ids, taps := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		ids[r.Attachment.ID] = true
		if r.Attachment.Tap != "" {
			taps[r.Attachment.Tap] = true
		}
	}
	var out Leftovers
	held, err := n.dir.leases()
	if err != nil {
		return Leftovers{}, err
	}
	for name, holder := range held {
		if !ids[holder] {
			out.Leases = append(out.Leases, name)
		}
	}
	sort.Strings(out.Leases)
	if n.cfg.Mode != ModeBridge {
		return out, nil
	}
	l := links{bridge: n.cfg.Bridge}
	if out.Taps, err = l.strayTaps(taps); err != nil {
		return Leftovers{}, err
	}
	rules, err := n.nft().commented()
	if err != nil {
		return Leftovers{}, err
	}
	for _, r := range rules {
		if !ids[r.ID] {
			out.Rules = append(out.Rules, r)
		}
	}
	guarded, err := n.nft().guardTaps()
	if err != nil {
		return Leftovers{}, err
	}
	for _, tap := range guarded {
		if !taps[tap] {
			out.Guards = append(out.Guards, tap)
		}
	}
	_, addrs, err := n.held()
	if err != nil {
		return Leftovers{}, err
	}
	if out.Egress, err = n.nft().strayEgress(taps, addrs); err != nil {
		return Leftovers{}, err
	}
	return out, nil
}

// held is the taps and guest addresses the records (of every owner) hold.
func (n *Network) held() (taps map[string]bool, addrs map[netip.Addr]bool, err error) {
	recs, err := n.dir.records()
	if err != nil {
		return nil, nil, err
	}
	taps, addrs = map[string]bool{}, map[netip.Addr]bool{}
	for _, r := range recs {
		if r.Attachment.Tap != "" {
			taps[r.Attachment.Tap] = true
		}
		if ip := r.Attachment.GuestIP.Addr(); ip.IsValid() {
			addrs[ip] = true
		}
	}
	return taps, addrs, nil
}
