package cell

import (
	"context"
	"net/netip"
	"os"

	"code.cloudfoundry.org/lager/v3"
	"github.com/tedsuo/ifrit"

	"github.com/unik-cf/unik/src/cell/config"
	"github.com/unik-cf/unik/src/network"
	"github.com/unik-cf/unik/src/network/dnsfwd"
)

// dnsForwarder runs, for the cell's lifetime, the DNS forwarder its VMs have as their
// resolver: on the bridge's address (their gateway), port 53, UDP and TCP, answering the
// VMs' subnet only, relaying to vm.network.dns_upstreams or the cell's own resolvers. It is
// nil when the VMs do not use it (user-mode networking, or vm.network.dns set).
func dnsForwarder(logger lager.Logger, cfg config.Config, net *network.Network) (ifrit.Runner, error) {
	nc := net.Config()
	if !nc.GatewayDNS {
		return nil, nil
	}
	ups, err := cfg.VM.Network.Upstreams()
	if err != nil {
		return nil, err
	}
	fc := dnsfwd.Config{Listen: netip.AddrPortFrom(nc.Gateway(), 53), Upstreams: ups, Allow: []netip.Prefix{nc.Subnet}}
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		logger := logger.Session("dns-forwarder")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f, err := dnsfwd.New(ctx, fc)
		if err != nil {
			logger.Error("listen-failed", err)
			return err
		}
		logger.Info("started", lager.Data{"listen": f.Addr().String(), "upstreams": f.Upstreams()})
		close(ready)
		done := make(chan error, 1)
		go func() { done <- f.Serve(ctx) }()
		select {
		case <-signals:
			cancel()
			return <-done
		case err := <-done:
			logger.Error("serve-failed", err)
			return err
		}
	}), nil
}
