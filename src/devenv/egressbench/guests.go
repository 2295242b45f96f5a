package egressbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/unik-cf/unik/src/devenv/outside"
	"github.com/unik-cf/unik/src/devenv/probe"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/network"
)

// vmGuest runs the probe with rules and waits until it answers through its host port.
func (l *lab) vmGuest(ctx context.Context, rules []network.EgressRule) (guest, error) {
	info, err := l.eng.Run(ctx, engine.RunSpec{Image: l.img, Env: []string{"PORT=8080"},
		Ports: []network.PortRequest{{GuestPort: 8080}}, Egress: rules})
	if err != nil {
		return guest{}, err
	}
	p := info.Network.Ports[0]
	url := fmt.Sprintf("http://%s/", netip.AddrPortFrom(p.HostIP, p.HostPort))
	c := probe.Client{URL: url}
	g := guest{tap: info.Network.Tap, ip: info.Network.GuestIP.Addr(), rules: len(rules),
		dial: func(ctx context.Context, n int) ([]int64, error) {
			res, err := c.Dial(ctx, "tcp", l.target, 5*time.Second, n)
			if err == nil && !res.OK {
				err = errors.New(res.Error)
			}
			return res.Micros, err
		}}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if cur, err := l.eng.Get(info.ID); err != nil || (cur.State != engine.StateBooting && cur.State != engine.StateRunning) {
			return guest{}, fmt.Errorf("probe VM %s: %v %s", info.ID, err, cur.Reason)
		}
		if resp, err := hc.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "hello from unik") {
				return g, nil
			}
		}
		select {
		case <-ctx.Done():
			return guest{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return guest{}, fmt.Errorf("probe VM %s did not answer %s in time", info.ID, url)
}

// nsGuest stands in for a VM without one: a namespace behind a veth pair plugged into the
// bridge like a tap (network.AttachLink), with the attachment's MAC and address. Its
// connections take the host's path alone, with none of the guest's emulation around them.
func (l *lab) nsGuest(ctx context.Context, id string, rules []network.EgressRule) (guest, error) {
	ns, err := outside.NewNamespace()
	if err != nil {
		return guest{}, err
	}
	l.closers = append(l.closers, ns.Close)
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return guest{}, err
	}
	host, peer := "ukbv"+hex.EncodeToString(b), "ukbw"+hex.EncodeToString(b)
	la := netlink.NewLinkAttrs()
	la.Name = host
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: peer}); err != nil {
		return guest{}, fmt.Errorf("veth %s: %w", host, err)
	}
	att, err := l.net.AttachLink(ctx, id, host, nil, rules...)
	if err != nil {
		return guest{}, errors.Join(err, netlink.LinkDel(&netlink.Veth{LinkAttrs: la}))
	}
	if err := configureNSGuest(ns, peer, att); err != nil {
		return guest{}, err
	}
	target := l.target.String()
	return guest{tap: att.Tap, ip: att.GuestIP.Addr(), rules: len(rules), dial: func(ctx context.Context, n int) ([]int64, error) {
		var out []int64
		err := outside.Do(ns, func() error {
			for range n {
				start := time.Now()
				c, err := net.DialTimeout("tcp4", target, 3*time.Second)
				if err != nil {
					return err
				}
				out = append(out, time.Since(start).Microseconds())
				_ = c.Close()
			}
			return nil
		})
		return out, err
	}}, nil
}

// configureNSGuest moves peer into ns and gives it a's MAC, address and default route.
func configureNSGuest(ns netns.NsHandle, peer string, a network.Attachment) error {
	link, err := netlink.LinkByName(peer)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetNsFd(link, int(ns)); err != nil {
		return fmt.Errorf("move %s into the namespace: %w", peer, err)
	}
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer nh.Close()
	if link, err = nh.LinkByName(peer); err != nil {
		return err
	}
	lo, err := nh.LinkByName("lo")
	if err != nil {
		return err
	}
	mac, err := net.ParseMAC(a.MAC)
	if err != nil {
		return err
	}
	steps := []error{
		nh.LinkSetHardwareAddr(link, mac),
		nh.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: a.GuestIP.Addr().AsSlice(), Mask: net.CIDRMask(a.GuestIP.Bits(), 32)}}),
		nh.LinkSetUp(link),
		nh.LinkSetUp(lo),
	}
	if err := errors.Join(steps...); err != nil {
		return fmt.Errorf("configure the namespace guest: %w", err)
	}
	if err := nh.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: a.Gateway.AsSlice()}); err != nil {
		return fmt.Errorf("namespace guest's default route: %w", err)
	}
	return nil
}
