package cell

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/clock"
	loggingclient "code.cloudfoundry.org/diego-logging-client"
	"code.cloudfoundry.org/executor"
	"code.cloudfoundry.org/executor/containermetrics"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/locket"
	"code.cloudfoundry.org/locket/metrics/helpers"
	"code.cloudfoundry.org/rep"
	"code.cloudfoundry.org/rep/auctioncellrep"
	"code.cloudfoundry.org/rep/evacuation"
	"code.cloudfoundry.org/rep/evacuation/evacuation_context"
	"code.cloudfoundry.org/rep/handlers"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
	"github.com/tedsuo/rata"

	"github.com/unik-cf/unik/src/cell/config"
	"github.com/unik-cf/unik/src/cell/depot"
	"github.com/unik-cf/unik/src/cell/imagecache"
	"github.com/unik-cf/unik/src/cell/presence"
	"github.com/unik-cf/unik/src/cell/reconcile"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/network"
)

// requestTypes are the rep API's request kinds; the request metrics notifier must know all.
var requestTypes = []string{"State", "ContainerMetrics", "Perform", "Reset", "UpdateLRPInstance", "StopLRPInstance", "CancelTask"}

// Dirs are the cell's places under vm.state_dir.
type Dirs struct{ Root string }

func (d Dirs) Engine() string     { return filepath.Join(d.Root, "engine") }
func (d Dirs) Network() string    { return filepath.Join(d.Root, "network") }
func (d Dirs) Images() string     { return filepath.Join(d.Root, "images") }
func (d Dirs) Work() string       { return filepath.Join(d.Root, "work") }
func (d Dirs) Containers() string { return filepath.Join(d.Root, "containers") }
func (d Dirs) Owner() string      { return filepath.Join(d.Root, "presence-owner") }

// VM builds the cell's network and engine from its configuration.
func VM(cfg config.Config) (*network.Network, *engine.Engine, error) {
	nc := network.Config{Mode: network.Mode(cfg.VM.Network.Mode), StateDir: Dirs{cfg.VM.StateDir}.Network(),
		Bridge: cfg.VM.Network.Bridge, Table: cfg.VM.Network.Table, PortRange: cfg.VM.Network.PortRange, Egress: cfg.VM.Network.Egress,
		GatewayDNS: len(cfg.VM.Network.DNS) == 0}
	if cfg.VM.Network.Subnet != "" {
		nc.Subnet = netip.MustParsePrefix(cfg.VM.Network.Subnet)
	}
	nc.HostIP = netip.MustParseAddr(cfg.HostIP())
	for _, d := range cfg.VM.Network.DNS {
		nc.DNS = append(nc.DNS, netip.MustParseAddr(d))
	}
	net, err := network.New(nc)
	if err != nil {
		return nil, nil, fmt.Errorf("cell network: %w", err)
	}
	eng, err := engine.New(engine.Config{StateDir: Dirs{cfg.VM.StateDir}.Engine(), CacheDir: cfg.VM.CacheDir,
		KernelDir: cfg.VM.KernelDir, InitPath: cfg.VM.InitPath, QEMU: cfg.VM.QEMU, Accel: cfg.VM.Accel,
		ShimPath: cfg.VM.ShimPath, Jail: cfg.VM.Jail}, qemu.Driver{Binary: cfg.VM.QEMU}, net)
	if err != nil {
		return nil, nil, fmt.Errorf("cell engine: %w", err)
	}
	return net, eng, nil
}

// New assembles a unik cell: the depot (executor.Client on microVMs), its presence in
// locket, the rep API (rep's own handlers, auction cell rep and evacuation), the reconciler,
// container metrics and app logs to loggregator. The runner is an ordered group: it starts
// members in order and stops them in reverse.
func New(logger lager.Logger, cfg config.Config) (ifrit.Runner, error) {
	dirs := Dirs{cfg.VM.StateDir}
	metron, err := loggingclient.NewIngressClient(cfg.LoggregatorConfig)
	if err != nil {
		return nil, fmt.Errorf("loggregator client: %w", err)
	}
	net, eng, err := VM(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := eng.Kernel(); err != nil {
		return nil, fmt.Errorf("cell: %w", err)
	}
	httpClient, err := dropletClient(cfg)
	if err != nil {
		return nil, err
	}
	images, err := imagecache.New(dirs.Work(), imagestore.Store{Dir: dirs.Images()}, cfg.VM.InitPath, httpClient)
	if err != nil {
		return nil, err
	}
	if err := images.CleanTemp(); err != nil {
		logger.Error("clean-image-work-dir-failed", err)
	}
	capacity := executor.NewExecutorResources(cfg.VM.MemoryCapacityMB, cfg.VM.DiskCapacityMB, cfg.VM.MaxContainers)
	dcfg := depot.Config{CellID: cfg.CellID, RecordDir: dirs.Containers(), ExternalIP: cfg.HostIP(),
		Capacity: capacity, DefaultMemoryMB: cfg.VM.DefaultMemoryMB, CPUs: cfg.VM.CPUs,
		StopGrace: time.Duration(cfg.GracefulShutdownInterval)}
	if dcfg.Identity, dcfg.TrustedCerts, err = instanceCredentials(cfg); err != nil {
		return nil, err
	}
	dep, err := depot.New(logger, dcfg, eng, images, metron)
	if err != nil {
		return nil, err
	}
	bbsClient, err := bbsClient(cfg)
	if err != nil {
		return nil, err
	}
	locketClient, err := locket.NewClient(logger, cfg.ClientLocketConfig)
	if err != nil {
		return nil, fmt.Errorf("locket client: %w", err)
	}
	rootfses, _ := cfg.RootFSNames()
	stacks := rep.StackPathMap{config.RootFSName: config.RootFSName}
	owner, err := presence.Owner(dirs.Owner())
	if err != nil {
		return nil, err
	}
	presenceRunner, err := presence.Runner(logger, locketClient, presence.Cell{ID: cfg.CellID, RepAddress: cfg.RepAddress(),
		RepURL: cfg.RepURL(), Zone: cfg.Zone, MemoryMB: capacity.MemoryMB, DiskMB: capacity.DiskMB, Containers: capacity.Containers,
		RootFSes: rootfses, PlacementTags: cfg.PlacementTags, Optional: cfg.OptionalPlacementTags},
		owner, time.Duration(cfg.LockTTL), time.Duration(cfg.LockRetryInterval))
	if err != nil {
		return nil, err
	}

	clk := clock.NewClock()
	evacuatable, evacuationReporter, evacuationNotifier := evacuation_context.New()
	stats := containermetrics.NewStatsReporter(metron, false, 0, &atomic.Value{})
	allocator := auctioncellrep.NewContainerAllocator(auctioncellrep.GenerateGuid, stacks, dep)
	cellRep := auctioncellrep.New(cfg.CellID, cfg.CellIndex, cfg.RepURL(), stacks, stats, nil, cfg.Zone, dep,
		evacuationReporter, cfg.PlacementTags, cfg.OptionalPlacementTags, 0, false, allocator)
	requestMetrics := helpers.NewRequestMetricsNotifier(logger, clk, metron, time.Duration(cfg.ReportInterval), requestTypes)
	servers := grouper.Members{}
	for _, secure := range []bool{false, true} {
		router, err := rata.NewRouter(rep.NewRoutes(secure), handlers.New(cellRep, cellRep, dep, evacuatable, requestMetrics, logger, secure))
		if err != nil {
			return nil, fmt.Errorf("rep router: %w", err)
		}
		srv, err := repServer(cfg, router, secure)
		if err != nil {
			return nil, err
		}
		name := "http_server"
		if secure {
			name = "https_server"
		}
		servers = append(servers, grouper.Member{Name: name, Runner: srv})
	}
	reconciler := reconcile.New(logger, reconcile.Config{CellID: cfg.CellID, Zone: cfg.Zone, Stacks: stacks,
		PollingInterval: time.Duration(cfg.PollingInterval), EvacuationPollingInterval: time.Duration(cfg.EvacuationPollingInterval)},
		bbsClient, dep, metron, evacuationReporter, evacuationNotifier)
	cleanup := evacuation.NewEvacuationCleanup(logger, cfg.CellID, time.Duration(cfg.GracefulShutdownInterval), 0,
		bbsClient, dep, clk, metron)
	evacuator := evacuation.NewEvacuator(logger, clk, dep, evacuationNotifier, cfg.CellID,
		time.Duration(cfg.EvacuationTimeout), time.Duration(cfg.EvacuationPollingInterval))
	metrics := containermetrics.NewReportersRunner(logger, time.Duration(cfg.ContainerMetricsReportInterval), clk, dep, stats)

	members := grouper.Members{
		{Name: "vm-janitor", Runner: janitor(logger, dirs, net, eng)},
		{Name: "depot", Runner: ifrit.RunFunc(dep.Runner(logger))},
		{Name: "presence", Runner: presenceRunner},
	}
	if dns, err := dnsForwarder(logger, cfg, net); err != nil {
		return nil, err
	} else if dns != nil { // before the depot: VMs resolve through it from their first query
		members = slices.Insert(members, 1, grouper.Member{Name: "dns-forwarder", Runner: dns})
	}
	members = append(members, servers...)
	members = append(members, grouper.Members{
		{Name: "evacuation-cleanup", Runner: cleanup},
		{Name: "reconciler", Runner: reconciler},
		{Name: "evacuator", Runner: evacuator},
		{Name: "request-metrics-notifier", Runner: requestMetrics},
		{Name: "container-metrics", Runner: metrics},
	}...)
	return grouper.NewOrdered(os.Interrupt, members), nil
}

// janitor cleans up when the cell starts and when it stops. At start it removes what a cell
// killed inside engine.Run may have left (an instance directory without its record, an
// attachment without an instance: VM, tap, DNAT rules, leases, files), then every tap, rule and
// lease no attachment accounts for. The depot's Recover then deals with whole instances. At
// stop, with no instance left, it removes the bridge and the nftables table.
func janitor(logger lager.Logger, dirs Dirs, net *network.Network, eng *engine.Engine) ifrit.Runner {
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		logger := logger.Session("janitor")
		ctx := context.Background()
		removeHalfBuilt(logger, net, eng)
		if l, err := net.RemoveLeftovers(ctx); err != nil {
			logger.Error("remove-leftovers-failed", err)
		} else if !l.Empty() {
			logger.Info("removed-leftovers", lager.Data{"taps": l.Taps, "rules": len(l.Rules), "leases": l.Leases, "egress": l.Egress})
		}
		close(ready)
		<-signals
		if vms, err := eng.List(); err == nil && len(vms) == 0 {
			if err := net.Teardown(ctx); err != nil {
				logger.Error("teardown-failed", err)
			}
		}
		return nil
	})
}

// removeHalfBuilt removes engine instances that List cannot read (no record yet) and network
// attachments of no instance.
func removeHalfBuilt(logger lager.Logger, net *network.Network, eng *engine.Engine) {
	vms, err := eng.List()
	if err != nil {
		logger.Error("list-failed", err)
		return
	}
	known := map[string]bool{}
	for _, v := range vms {
		known[v.ID] = true
	}
	stray, err := eng.HalfBuilt()
	if err != nil {
		logger.Error("half-built-failed", err)
	}
	for _, id := range stray {
		known[id] = true
	}
	atts, err := net.Attachments()
	if err != nil {
		logger.Error("attachments-failed", err)
	}
	for _, a := range atts {
		if !known[a.ID] {
			stray = append(stray, a.ID)
		}
	}
	for _, id := range stray {
		logger.Info("removing-half-built-instance", lager.Data{"id": id})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := eng.RemoveHalfBuilt(ctx, id)
		if err != nil && !errors.Is(err, engine.ErrNoInstance) {
			logger.Error("remove-half-built-failed", err, lager.Data{"id": id})
		}
		if errors.Is(err, engine.ErrNoInstance) { // an attachment whose id is no instance id
			if err := net.Detach(ctx, id); err != nil {
				logger.Error("remove-half-built-failed", err, lager.Data{"id": id})
			}
		}
		cancel()
	}
}
