package network

import (
	"net"
	"net/netip"
	"testing"
)

// Tests never name host ports: other packages' tests and programs on this
// host run at the same time and may hold any fixed port. They ask the
// kernel instead, or let the allocator choose and assert on its choice.

// freePorts returns n distinct TCP ports that are free on 127.0.0.1 now:
// the kernel picks them (all bound at once, so they differ), then they are
// released for the test to lease.
func freePorts(t *testing.T, n int) []uint16 {
	t.Helper()
	out := make([]uint16, 0, n)
	for range n {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("ask the kernel for a free port: %v", err)
		}
		defer l.Close()
		out = append(out, netip.MustParseAddrPort(l.Addr().String()).Port())
	}
	return out
}

func freePort(t *testing.T) uint16 { t.Helper(); return freePorts(t, 1)[0] }

// freeRange is a port range of size ports that starts at a port the kernel
// says is free. Ports of the range that someone holds are skipped by the
// allocator, which probes each before leasing it.
func freeRange(t *testing.T, size int) [2]uint16 {
	t.Helper()
	lo := int(freePort(t))
	if lo+size-1 > 65535 {
		lo = 65535 - size + 1
	}
	return [2]uint16{uint16(lo), uint16(lo + size - 1)}
}
