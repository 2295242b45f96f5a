package egressbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/unik-cf/unik/src/devenv/outside"
	"github.com/unik-cf/unik/src/network"
)

// setup makes the bridge-mode network (its own bridge, table, subnet and ports), the engine,
// the probe image and the outside world with one TCP server. cleanup undoes what exists.
func setup(ctx context.Context, o Options) (_ *lab, cleanup func() error, err error) {
	var undo []func() error
	cleanup = func() error {
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			errs = append(errs, undo[i]())
		}
		return errors.Join(errs...)
	}
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return nil, cleanup, err
	}
	suffix := hex.EncodeToString(b)
	subnet, err := freeSubnet(190, 200)
	if err != nil {
		return nil, cleanup, err
	}
	outPrefix, err := freeSubnet(240, 250)
	if err != nil {
		return nil, cleanup, err
	}
	ports, err := freeRange()
	if err != nil {
		return nil, cleanup, err
	}
	cfg := network.Config{Mode: network.ModeBridge, StateDir: filepath.Join(o.Work, "network"), Bridge: "ukb" + suffix,
		Table: "unikb" + suffix, Subnet: subnet, PortRange: ports}
	l := &lab{}
	if l.net, err = network.New(cfg); err != nil {
		return nil, cleanup, err
	}
	if l.eng, err = newEngine(o.Repo, o.Work, l.net); err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() error { return l.teardown() })
	if l.img, err = buildProbe(ctx, o.Repo, o.Work); err != nil {
		return nil, cleanup, err
	}
	if l.out, err = outside.New(outPrefix, "ukbo"+suffix, 1); err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, l.out.Close)
	port, err := l.out.ServeTCP(0)
	if err != nil {
		return nil, cleanup, err
	}
	l.target = netip.AddrPortFrom(l.out.Addrs[0], port)
	return l, cleanup, nil
}

// teardown removes the VMs, the attachments, the bridge, the tables and the store.
func (l *lab) teardown() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	list, _ := l.eng.List()
	for _, i := range list {
		errs = append(errs, l.eng.Remove(ctx, i.ID, true))
	}
	atts, _ := l.net.Attachments()
	for _, a := range atts {
		errs = append(errs, l.net.Detach(ctx, a.ID))
	}
	for i := len(l.closers) - 1; i >= 0; i-- {
		errs = append(errs, l.closers[i]())
	}
	errs = append(errs, l.net.Teardown(ctx))
	c := l.net.Config()
	errs = append(errs, os.RemoveAll(filepath.Join(c.RunDir, c.Bridge)))
	return errors.Join(errs...)
}

// freeSubnet is a /24 10.213.X.0 with lo <= X < hi that no address on this host falls in.
func freeSubnet(lo, hi int) (netip.Prefix, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, err
	}
	for third := lo; third < hi; third++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(third), 0}), 24)
		used := false
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && p.Contains(ip) {
				used = true
			}
		}
		if !used {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /24 in 10.213.%d.0-10.213.%d.0", lo, hi-1)
}

// freeRange is 100 host ports from one the kernel says is free.
func freeRange() ([2]uint16, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return [2]uint16{}, err
	}
	lo := min(ln.Addr().(*net.TCPAddr).Port, 65535-99)
	_ = ln.Close()
	return [2]uint16{uint16(lo), uint16(lo + 99)}, nil
}
