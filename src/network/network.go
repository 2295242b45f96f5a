package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"

	"github.com/vishvananda/netlink"
)

// Attach gives the microVM id its network attachment: in bridge mode a tap
// on the bridge that may send only from its MAC and address (the guard), a
// guest address, DNAT rules for its ports and egress to exactly what the
// egress rules allow (with none, nothing, or everything if Config.Egress);
// in user mode only host ports, and no egress at all whatever the rules.
// A failed Attach leaves nothing behind.
func (n *Network) Attach(ctx context.Context, id string, ports []PortRequest, egress ...EgressRule) (Attachment, error) {
	return n.attach(ctx, id, ports, egress, "")
}

// AttachLink is Attach for a link that exists already, plugged into the
// bridge instead of a tap Attach would create: a veth whose other end, in a
// network namespace, stands in for a VM (benchmarks, tests). Detach deletes
// it like a tap.
func (n *Network) AttachLink(ctx context.Context, id, link string, ports []PortRequest, egress ...EgressRule) (Attachment, error) {
	if link == "" {
		return Attachment{}, fmt.Errorf("attach %s: no link given", id)
	}
	return n.attach(ctx, id, ports, egress, link)
}

// attach plugs the existing link named existing instead of creating a tap
// when existing is not empty (tests plug a veth whose peer is in a netns).
func (n *Network) attach(ctx context.Context, id string, ports []PortRequest, egress []EgressRule, existing string) (_ Attachment, err error) {
	if err := validID(id); err != nil {
		return Attachment{}, fmt.Errorf("attach: %w", err)
	}
	for i, p := range ports {
		if p.GuestPort == 0 {
			return Attachment{}, fmt.Errorf("attach %s: port request %d: GuestPort is 0", id, i)
		}
	}
	if len(egress) == 0 && n.cfg.Egress {
		egress = []EgressRule{AllowAll()}
	}
	plan, err := compileEgress(egress)
	if err != nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", id, err)
	}
	unlock, err := n.dir.lock(ctx)
	if err != nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", id, err)
	}
	defer unlock()

	if _, err := os.Stat(n.dir.recordPath(id)); err == nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", id, ErrExists)
	}
	rec := record{Attachment: Attachment{ID: id, Mode: n.cfg.Mode, DNS: slices.Clone(n.cfg.DNS)}, Owner: n.owner}
	if n.cfg.Mode == ModeBridge {
		rec.Bridge, rec.Table = n.cfg.Bridge, n.cfg.Table
	}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("attach %s: %w", id, err), n.undo(rec))
		}
	}()

	if err := n.allocate(&rec, ports, existing); err != nil {
		return Attachment{}, err
	}
	if err := n.dir.writeRecord(rec); err != nil {
		return Attachment{}, err
	}
	if n.cfg.Mode == ModeBridge {
		tap, err := n.plumb(ctx, rec, plan, existing)
		if err != nil {
			if tap == "" {
				rec.Attachment.Tap = "" // not ours to delete
			}
			return Attachment{}, err
		}
	}
	return rec.Attachment, nil
}

// allocate leases the guest address (bridge mode) and the host ports into
// rec, explicit host ports first so that picked ones cannot take them.
func (n *Network) allocate(rec *record, reqs []PortRequest, existing string) error {
	a := &rec.Attachment
	if n.cfg.Mode == ModeBridge {
		ip, lease, err := n.alloc.leaseIP(a.ID)
		if err != nil {
			return err
		}
		rec.Leases = append(rec.Leases, lease)
		a.GuestIP = netip.PrefixFrom(ip, n.cfg.Subnet.Bits())
		a.Gateway = n.cfg.bridgeIP()
		a.MAC = MACFor(ip)
		a.Tap = TapName(a.ID)
		if existing != "" {
			a.Tap = existing
		}
		if err := n.checkTapFree(a.Tap, existing == ""); err != nil {
			a.Tap = ""
			return err
		}
	} else {
		a.GuestIP, a.Gateway, a.MAC = userGuestIP(), userGateway(), MACFor(userGuestIP().Addr())
	}
	a.Ports = make([]PortMapping, len(reqs))
	for _, explicit := range []bool{true, false} {
		for i, r := range reqs {
			if (r.HostPort != 0) != explicit {
				continue
			}
			port, lease, err := n.alloc.leasePort(a.ID, r.HostPort)
			if err != nil {
				return err
			}
			rec.Leases = append(rec.Leases, lease)
			a.Ports[i] = PortMapping{HostIP: n.cfg.HostIP, HostPort: port, GuestPort: r.GuestPort}
		}
	}
	return nil
}

// checkTapFree refuses a tap name that another record holds or, if it is to
// be created, that exists already (its owner is unknown, so it is neither
// adopted nor deleted).
func (n *Network) checkTapFree(name string, create bool) error {
	recs, err := n.dir.records()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Attachment.Tap == name {
			return fmt.Errorf("tap %s is already used by attachment %s", name, r.Attachment.ID)
		}
	}
	if !create {
		return nil
	}
	if _, err := netlink.LinkByName(name); err == nil {
		return fmt.Errorf("link %s already exists with no attachment record (see Leftovers)", name)
	} else if !isNotFound(err) {
		return fmt.Errorf("look up link %s: %w", name, err)
	}
	return nil
}

// plumb creates the kernel objects of a bridge-mode attachment. It returns
// the tap name once the tap exists, so that the caller knows whether a
// failure left a tap to delete.
func (n *Network) plumb(ctx context.Context, rec record, plan egressPlan, existing string) (tap string, err error) {
	a := rec.Attachment
	if !plan.empty() || !n.cfg.HostIP.IsLoopback() {
		if err := writeSysctl("net/ipv4/ip_forward", "1"); err != nil {
			return "", err
		}
	}
	l := links{bridge: n.cfg.Bridge, addr: netip.PrefixFrom(n.cfg.bridgeIP(), n.cfg.Subnet.Bits())}
	br, err := l.ensureBridge()
	if err != nil {
		return "", err
	}
	if err := n.nft().ensureBase(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var link netlink.Link
	if existing != "" {
		link, err = netlink.LinkByName(existing)
	} else {
		link, err = l.createTap(a.Tap)
	}
	if err != nil {
		return "", err
	}
	// The guard before the bridge: the tap never sends a frame unchecked.
	if err := n.nft().addGuard(a.Tap, a.MAC, a.GuestIP.Addr()); err != nil {
		return a.Tap, err
	}
	if err := n.nft().addEgress(a.ID, a.Tap, a.GuestIP.Addr(), plan); err != nil {
		return a.Tap, err
	}
	if err := l.plug(link, br); err != nil {
		return a.Tap, err
	}
	if err := ctx.Err(); err != nil {
		return a.Tap, err
	}
	return a.Tap, n.nft().addDNAT(a.ID, a.GuestIP.Addr(), a.Ports)
}

func (n *Network) nft() nft {
	return nft{table: n.cfg.Table, bridge: n.cfg.Bridge, subnet: n.cfg.Subnet}
}

// Detach removes everything Attach created for id. It is idempotent: an
// unknown id is not an error. An attachment another owner (StateDir) made
// on the shared bridge is refused with ErrNotOwner and left alone.
func (n *Network) Detach(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	unlock, err := n.dir.lock(ctx)
	if err != nil {
		return fmt.Errorf("detach %s: %w", id, err)
	}
	defer unlock()
	rec, err := n.dir.readRecord(id)
	if errors.Is(err, fs.ErrNotExist) {
		// Nothing recorded; still drop rules and leases that name id.
		rec = record{Attachment: Attachment{ID: id, Mode: n.cfg.Mode}, Table: n.cfg.Table}
	} else if err != nil {
		return fmt.Errorf("detach %s: %w", id, err)
	} else if rec.Owner != n.owner {
		return fmt.Errorf("detach %s: %w: it belongs to %s", id, ErrNotOwner, rec.Owner)
	}
	if err := n.undo(rec); err != nil {
		return fmt.Errorf("detach %s: %w", id, err)
	}
	return nil
}

// undo deletes rec's kernel objects, then its leases and record. Leases and
// record stay if the kernel objects could not be deleted, so that a later
// Detach can finish and their address is not handed out meanwhile.
func (n *Network) undo(rec record) error {
	id := rec.Attachment.ID
	if rec.Attachment.Mode == ModeBridge {
		var errs []error
		if rec.Table != "" {
			f := nft{table: rec.Table}
			errs = append(errs, f.deleteRules(func(r RuleRef) bool { return r.ID == id }))
			tap, ip := rec.Attachment.Tap, rec.Attachment.GuestIP.Addr()
			if tap != "" {
				errs = append(errs, f.deleteGuard(func(t string) bool { return t == tap }))
			}
			errs = append(errs, f.deleteEgress(func(t string) bool { return tap != "" && t == tap },
				func(a netip.Addr) bool { return ip.IsValid() && a == ip }))
		}
		if rec.Attachment.Tap != "" {
			errs = append(errs, deleteLink(rec.Attachment.Tap))
		}
		if ip := rec.Attachment.GuestIP.Addr(); ip.IsValid() {
			forgetFlows(ip)
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("undo %s: %w", id, err)
		}
	}
	if err := n.alloc.release(id, rec.Leases); err != nil {
		return fmt.Errorf("undo %s: %w", id, err)
	}
	held, err := n.dir.leases()
	if err != nil {
		return fmt.Errorf("undo %s: %w", id, err)
	}
	for name, holder := range held {
		if holder == id {
			if err := n.dir.releaseLease(name, id); err != nil {
				return fmt.Errorf("undo %s: %w", id, err)
			}
		}
	}
	return n.dir.removeRecord(id)
}

// Attachments returns the attachments this Network's owner (StateDir) made,
// sorted by id; those of other processes on a shared bridge are not listed.
func (n *Network) Attachments() ([]Attachment, error) {
	recs, err := n.dir.records()
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	out := make([]Attachment, 0, len(recs))
	for _, r := range recs {
		if r.Owner == n.owner {
			out = append(out, r.Attachment)
		}
	}
	return out, nil
}

// Teardown removes the nftables tables and the bridge (bridge mode) once no
// attachment of any owner is left on the bridge. While one is, it changes
// nothing and returns nil: the bridge is shared by every process attaching
// to it, and the remaining attachments are theirs (or must be detached
// first).
func (n *Network) Teardown(ctx context.Context) error {
	if n.cfg.Mode != ModeBridge {
		return nil
	}
	unlock, err := n.dir.lock(ctx)
	if err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	defer unlock()
	if recs, err := n.dir.records(); err != nil {
		return fmt.Errorf("teardown: %w", err)
	} else if len(recs) > 0 {
		return nil
	}
	if err := n.nft().deleteTable(); err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	if err := deleteLink(n.cfg.Bridge); err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	return nil
}
