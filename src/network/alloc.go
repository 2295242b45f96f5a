package network

import (
	"fmt"
	"net"
	"net/netip"
)

// allocator hands out guest addresses and host ports as lease files. Callers
// hold the StateDir lock; O_EXCL creation keeps leases unique even so.
type allocator struct {
	dir       stateDir
	subnet    netip.Prefix
	hostIP    netip.Addr
	portRange [2]uint16
	// busy reports whether a host port cannot be bound; a fake in tests.
	busy func(netip.AddrPort) bool
}

// leaseIP leases the lowest free guest address: neither the network
// address, the bridge's (first host) nor the broadcast address.
func (a allocator) leaseIP(id string) (netip.Addr, string, error) {
	held, err := a.dir.leases()
	if err != nil {
		return netip.Addr{}, "", err
	}
	last := lastAddr(a.subnet)
	for ip := a.subnet.Addr().Next().Next(); ip.IsValid() && ip.Less(last); ip = ip.Next() {
		name := ipLeaseName(ip)
		if _, ok := held[name]; ok {
			continue
		}
		ok, err := a.dir.createLease(name, id)
		if err != nil {
			return netip.Addr{}, "", err
		}
		if ok {
			return ip, name, nil
		}
	}
	return netip.Addr{}, "", fmt.Errorf("no free guest address in %v: %w", a.subnet, ErrExhausted)
}

// leasePort leases want, or a free port of the range if want is 0. A port
// is free when no lease holds it and it can be bound on hostIP.
func (a allocator) leasePort(id string, want uint16) (uint16, string, error) {
	if want != 0 {
		name := portLeaseName(want)
		ok, err := a.dir.createLease(name, id)
		if err != nil {
			return 0, "", err
		}
		if !ok {
			return 0, "", &portInUseError{port: want}
		}
		if a.busy(netip.AddrPortFrom(a.hostIP, want)) {
			_ = a.dir.releaseLease(name, id)
			return 0, "", &portInUseError{port: want}
		}
		return want, name, nil
	}
	held, err := a.dir.leases()
	if err != nil {
		return 0, "", err
	}
	for p := int(a.portRange[0]); p <= int(a.portRange[1]); p++ {
		port := uint16(p)
		name := portLeaseName(port)
		if _, ok := held[name]; ok {
			continue
		}
		if a.busy(netip.AddrPortFrom(a.hostIP, port)) {
			continue
		}
		ok, err := a.dir.createLease(name, id)
		if err != nil {
			return 0, "", err
		}
		if ok {
			return port, name, nil
		}
	}
	return 0, "", fmt.Errorf("no free host port in %d-%d on %v: %w", a.portRange[0], a.portRange[1], a.hostIP, ErrExhausted)
}

// release drops leases held by id, keeping the first error.
func (a allocator) release(id string, names []string) error {
	var first error
	for _, name := range names {
		if err := a.dir.releaseLease(name, id); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// portBusy reports whether TCP port ap cannot be bound right now.
func portBusy(ap netip.AddrPort) bool {
	l, err := net.Listen("tcp4", ap.String())
	if err != nil {
		return true
	}
	_ = l.Close()
	return false
}

// lastAddr is the broadcast address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := 32 - p.Bits()
	for i := 3; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	return netip.AddrFrom4(b)
}
