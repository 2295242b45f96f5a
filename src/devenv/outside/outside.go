// Package outside stands in for the world beyond a cell in tests and benchmarks: a network
// namespace of the caller's own, joined to the host by a veth pair and routed from it, with
// addresses of a prefix the caller picks and servers (TCP banner, UDP echo, DNS) in it. Test
// traffic to it never leaves this host.
package outside

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// World is a namespace whose end of the veth pair (named Link inside it) holds Addrs; the host
// end (HostLink) holds Host, the prefix's first address, so the host routes the prefix to it.
type World struct {
	NS       netns.NsHandle
	HostLink string
	Host     netip.Addr
	Addrs    []netip.Addr
	closers  []func() error
}

// Link is the name of the namespace's end of the veth pair.
const Link = "eth0"

// New makes a namespace with n addresses of prefix (after the host's, the first), joined to
// the host by a veth pair whose host end is named hostLink. It needs root.
func New(prefix netip.Prefix, hostLink string, n int) (_ *World, err error) {
	if !prefix.Addr().Is4() || n < 1 || prefix.Bits() > 30 {
		return nil, fmt.Errorf("outside: %v cannot hold a host and %d addresses", prefix, n)
	}
	w := &World{HostLink: hostLink, Host: prefix.Masked().Addr().Next()}
	for a := w.Host.Next(); len(w.Addrs) < n; a = a.Next() {
		if !prefix.Contains(a) {
			return nil, fmt.Errorf("outside: %v cannot hold %d addresses", prefix, n)
		}
		w.Addrs = append(w.Addrs, a)
	}
	if w.NS, err = NewNamespace(); err != nil {
		return nil, err
	}
	w.closers = append(w.closers, w.NS.Close)
	defer func() {
		if err != nil {
			err = errors.Join(err, w.Close())
		}
	}()
	la := netlink.NewLinkAttrs()
	la.Name = hostLink
	peer := hostLink + "p"
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: peer}); err != nil {
		return nil, fmt.Errorf("outside: veth %s: %w", hostLink, err)
	}
	w.closers = append(w.closers, func() error { return deleteLink(hostLink) })
	host, err := netlink.LinkByName(hostLink)
	if err != nil {
		return nil, fmt.Errorf("outside: %w", err)
	}
	inner, err := netlink.LinkByName(peer)
	if err != nil {
		return nil, fmt.Errorf("outside: %w", err)
	}
	if err := netlink.LinkSetNsFd(inner, int(w.NS)); err != nil {
		return nil, fmt.Errorf("outside: move %s into the namespace: %w", peer, err)
	}
	hostAddr := &netlink.Addr{IPNet: ipNet(w.Host, prefix.Bits())}
	if err := errors.Join(netlink.AddrAdd(host, hostAddr), netlink.LinkSetUp(host)); err != nil {
		return nil, fmt.Errorf("outside: host end %s: %w", hostLink, err)
	}
	return w, w.configureInner(peer, prefix.Bits())
}

func (w *World) configureInner(peer string, bits int) error {
	h, err := netlink.NewHandleAt(w.NS)
	if err != nil {
		return fmt.Errorf("outside: netlink in namespace: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(peer)
	if err != nil {
		return fmt.Errorf("outside: %w", err)
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("outside: %w", err)
	}
	steps := []error{h.LinkSetName(link, Link), h.LinkSetUp(lo)}
	for _, a := range w.Addrs {
		steps = append(steps, h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(a, bits)}))
	}
	steps = append(steps, h.LinkSetUp(link))
	if err := errors.Join(steps...); err != nil {
		return fmt.Errorf("outside: configure namespace: %w", err)
	}
	return nil
}

// Close stops the servers and removes the veth pair and the namespace.
func (w *World) Close() error {
	var errs []error
	for i := len(w.closers) - 1; i >= 0; i-- {
		errs = append(errs, w.closers[i]())
	}
	w.closers = nil
	return errors.Join(errs...)
}

// Do runs f on an OS thread switched into the namespace: sockets f opens live there.
func (w *World) Do(f func() error) error { return Do(w.NS, f) }

// Do runs f on an OS thread switched into ns, and switches back. If switching back fails
// the thread stays locked and dies with its goroutine.
func Do(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter namespace: %w", err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// NewNamespace creates an anonymous network namespace, gone once its handle is closed and
// the sockets in it are.
func NewNamespace() (netns.NsHandle, error) {
	var ns netns.NsHandle
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if ns, err = netns.New(); err != nil {
			errc <- fmt.Errorf("outside: new namespace: %w", err)
			return
		}
		if err := netns.Set(orig); err != nil {
			errc <- err
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	return ns, <-errc
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, 32)}
}

func deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("outside: %w", err)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("outside: delete %s: %w", name, err)
	}
	return nil
}
