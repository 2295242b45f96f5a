package cell

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/tedsuo/ifrit"
	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/cell/config"
	"github.com/unik-cf/unik/src/network"
)

// In bridge mode without vm.network.dns the cell runs the forwarder on the VMs' gateway,
// port 53, until it is signalled; in user mode, or with dns set, it runs none.
func TestDNSForwarderRunsOnTheGateway(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the forwarder binds port 53: run as root (CI does)")
	}
	logger := lagertest.NewTestLogger("cell")
	subnet := netip.MustParsePrefix("10.213.253.0/24") // no traffic: the address is only bound
	cfg := config.Config{VM: config.VM{Network: config.Network{DNSUpstreams: []string{"127.0.0.1:5353"}}}}
	for name, nc := range map[string]network.Config{
		"user mode": {Mode: network.ModeUser, GatewayDNS: true},
		"dns set":   {Mode: network.ModeBridge, DNS: []netip.Addr{netip.MustParseAddr("10.0.0.2")}},
	} {
		nc.StateDir = filepath.Join(t.TempDir(), "network")
		n, err := network.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := dnsForwarder(logger, cfg, n); r != nil || err != nil {
			t.Errorf("%s: forwarder %v, %v; want none", name, r, err)
		}
	}
	n, err := network.New(network.Config{Mode: network.ModeBridge, StateDir: t.TempDir(), Subnet: subnet, GatewayDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := dnsForwarder(logger, cfg, n)
	if err != nil || r == nil {
		t.Fatalf("bridge mode: forwarder %v, %v", r, err)
	}
	gw53 := netip.AddrPortFrom(subnet.Addr().Next(), 53).String()
	p := ifrit.Invoke(r) // returns once ready: bound
	if err := bindFreebind(gw53); err == nil {
		t.Errorf("%s is free while the forwarder runs", gw53)
	}
	p.Signal(os.Interrupt)
	select {
	case err := <-p.Wait():
		if err != nil {
			t.Errorf("forwarder stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("forwarder did not stop")
	}
	if err := bindFreebind(gw53); err != nil {
		t.Errorf("%s after the forwarder stopped: %v", gw53, err)
	}
	bad := cfg
	bad.VM.Network.DNSUpstreams = []string{"resolver"}
	if _, err := dnsForwarder(logger, bad, n); err == nil {
		t.Error("a bad upstream was accepted")
	}
}

// bindFreebind binds UDP addr (not necessarily local) and lets it go.
func bindFreebind(addr string) error {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1) }); err != nil {
			return err
		}
		return serr
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		return err
	}
	return c.Close()
}
