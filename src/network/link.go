package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// links manages the bridge and the taps through rtnetlink.
type links struct {
	bridge string
	addr   netip.Prefix // the bridge's address, e.g. 10.213.0.1/24
}

// ensureBridge creates the bridge if missing and (re)applies its settings:
// a fixed MAC (else the bridge takes its ports' lowest MAC and changes it as
// taps come and go), its address, route_localnet, no IPv6, up.
func (l links) ensureBridge() (netlink.Link, error) {
	br, err := netlink.LinkByName(l.bridge)
	if isNotFound(err) {
		la := netlink.NewLinkAttrs()
		la.Name = l.bridge
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("create bridge %s: %w", l.bridge, err)
		}
		br, err = netlink.LinkByName(l.bridge)
	}
	if err != nil {
		return nil, fmt.Errorf("find bridge %s: %w", l.bridge, err)
	}
	if br.Type() != "bridge" {
		return nil, fmt.Errorf("link %s exists and is a %s, not a bridge", l.bridge, br.Type())
	}
	mac, err := net.ParseMAC(MACFor(l.addr.Addr()))
	if err != nil {
		return nil, fmt.Errorf("bridge %s MAC: %w", l.bridge, err)
	}
	if br.Attrs().HardwareAddr.String() != mac.String() {
		if err := netlink.LinkSetHardwareAddr(br, mac); err != nil {
			return nil, fmt.Errorf("set MAC of bridge %s: %w", l.bridge, err)
		}
	}
	if err := disableIPv6(l.bridge); err != nil {
		return nil, err
	}
	if err := writeSysctl(filepath.Join("net/ipv4/conf", l.bridge, "route_localnet"), "1"); err != nil {
		return nil, err
	}
	addr := &netlink.Addr{IPNet: prefixToIPNet(l.addr)}
	if err := netlink.AddrReplace(br, addr); err != nil {
		return nil, fmt.Errorf("set address %v on bridge %s: %w", l.addr, l.bridge, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("set bridge %s up: %w", l.bridge, err)
	}
	return br, nil
}

// createTap creates a persistent tap (IFF_TAP|IFF_NO_PI, one queue) that
// QEMU can open by name with -netdev tap,ifname=NAME,script=no; QEMU adds
// IFF_VNET_HDR itself when it opens it.
func (l links) createTap(name string) (netlink.Link, error) {
	la := netlink.NewLinkAttrs()
	la.Name = name
	tap := &netlink.Tuntap{LinkAttrs: la, Mode: netlink.TUNTAP_MODE_TAP, Flags: netlink.TUNTAP_NO_PI}
	if err := netlink.LinkAdd(tap); err != nil {
		return nil, fmt.Errorf("create tap %s: %w", name, err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find tap %s: %w", name, err)
	}
	return link, nil
}

// plug makes link an isolated port of the bridge and sets it up. Isolated
// ports cannot exchange frames with each other, only with the bridge itself
// (and non-isolated ports).
func (l links) plug(link, br netlink.Link) error {
	name := link.Attrs().Name
	if err := disableIPv6(name); err != nil {
		return err
	}
	if err := netlink.LinkSetMaster(link, br); err != nil {
		return fmt.Errorf("attach %s to bridge %s: %w", name, l.bridge, err)
	}
	if err := netlink.LinkSetIsolated(link, true); err != nil {
		return fmt.Errorf("isolate bridge port %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// deleteLink deletes a link by name; a missing link is not an error.
func deleteLink(name string) error {
	link, err := netlink.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find link %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

// strayTaps lists tuntap links named uk* on this network's bridge, minus those in known. An
// unbridged tap is not ours to judge: our records are written before our taps are created, so a
// tap of ours that crashed before being plugged is in known; one that is not may be another
// network's (on the same host), in the middle of its attach.
func (l links) strayTaps(known map[string]bool) ([]string, error) {
	all, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	brIndex := -1
	for _, link := range all {
		if link.Attrs().Name == l.bridge {
			brIndex = link.Attrs().Index
		}
	}
	var out []string
	for _, link := range all {
		a := link.Attrs()
		if link.Type() != "tuntap" || !strings.HasPrefix(a.Name, tapPrefix) || known[a.Name] {
			continue
		}
		if brIndex >= 0 && a.MasterIndex == brIndex {
			out = append(out, a.Name)
		}
	}
	return out, nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// writeSysctl writes key (e.g. "net/ipv4/ip_forward") under /proc/sys.
func writeSysctl(key, value string) error {
	path := filepath.Join("/proc/sys", key)
	if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), value, err)
	}
	return nil
}

// disableIPv6 keeps the host off IPv6 on our links: the ip-family table
// filters IPv4 only, and a link-local address on the bridge would otherwise
// let guests reach host services. A kernel without IPv6 needs nothing.
func disableIPv6(name string) error {
	err := writeSysctl(filepath.Join("net/ipv6/conf", name, "disable_ipv6"), "1")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// forgetFlows deletes the conntrack entries of flows to or from a guest
// address, so that established connections through a removed DNAT mapping
// fail at once instead of hanging, and never reach the next guest that gets
// the address. Best effort: a kernel without ctnetlink keeps them until
// they time out, which is no reason to keep the attachment.
func forgetFlows(ip netip.Addr) {
	to, from := &netlink.ConntrackFilter{}, &netlink.ConntrackFilter{}
	if to.AddIP(netlink.ConntrackReplySrcIP, ip.AsSlice()) != nil || from.AddIP(netlink.ConntrackOrigSrcIP, ip.AsSlice()) != nil {
		return
	}
	_, _ = netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, to, from)
}
