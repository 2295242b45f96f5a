package localdiego

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"code.cloudfoundry.org/durationjson"
	"code.cloudfoundry.org/lager/v3"

	"github.com/unik-cf/unik/src/cell"
	"github.com/unik-cf/unik/src/cell/config"
)

// Cell is one unik cell process of a local Diego.
type Cell struct {
	Index      int
	ID         string
	ConfigPath string
	Config     config.Config
	d          *Diego
	proc       *Process
	starts     int
}

// NewCell writes the configuration of cell i (1-based) and adds it to d.Cells.
func (d *Diego) NewCell(i int) (*Cell, error) {
	o := d.opts
	ports := [2]int{}
	for j := range ports {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[j] = p
	}
	id := fmt.Sprintf("unik-cell-%d", i)
	name := fmt.Sprintf("%s%d", o.NetPrefix, i)
	first := o.PortBase + (i-1)*200
	cfg := config.Config{
		CellID: id, CellIndex: i - 1, Zone: "z1", LogLevel: "info",
		BBSAddress: d.BBSURL, CaCertFile: d.Certs.CA(), CertFile: d.Certs.Cert(), KeyFile: d.Certs.Key(),
		ListenAddr: "127.0.0.1:" + strconv.Itoa(ports[0]), ListenAddrSecurable: "127.0.0.1:" + strconv.Itoa(ports[1]),
	}
	cfg.InstanceIdentityCAPath, cfg.InstanceIdentityPrivateKeyPath = d.Certs.CA(), d.Certs.CAKey()
	cfg.InstanceIdentityValidityPeriod = durationjson.Duration(o.IdentityValidity)
	cfg.TrustedSystemCertificatesPath = d.Certs.Trusted()
	cfg.LocketAddress, cfg.LocketCACertFile = d.LocketAddr, d.Certs.CA()
	cfg.LocketClientCertFile, cfg.LocketClientKeyFile = d.Certs.Cert(), d.Certs.Key()
	cfg.LoggregatorConfig.APIPort = d.Ingress.Port
	cfg.LoggregatorConfig.CACertPath, cfg.LoggregatorConfig.CertPath, cfg.LoggregatorConfig.KeyPath = d.Certs.CA(), d.Certs.Cert(), d.Certs.Key()
	cfg.LoggregatorConfig.BatchFlushInterval = 200 * time.Millisecond
	cfg.VM = config.VM{StateDir: filepath.Join(o.Dir, id), CacheDir: o.CacheDir, InitPath: filepath.Join(o.Repo, "bin", "unik-init"),
		ShimPath: filepath.Join(o.Repo, "bin", "unik-shim"), MemoryCapacityMB: o.CellMemoryMB, DiskCapacityMB: 64 * 1024, MaxContainers: 64,
		Network: config.Network{Bridge: name, Table: name, Subnet: fmt.Sprintf("10.213.%d.0/24", o.SubnetBase+i-1),
			HostIP: "127.0.0.1", PortRange: [2]uint16{uint16(first), uint16(first + 199)}}}
	dur := func(v time.Duration) durationjson.Duration { return durationjson.Duration(v) }
	cfg.PollingInterval = dur(o.PollingInterval)
	cfg.EvacuationPollingInterval = dur(time.Second)
	cfg.LockTTL = dur(o.LockTTL)
	cfg.LockRetryInterval = dur(time.Second)
	cfg.ContainerMetricsReportInterval = dur(2 * time.Second)
	cfg.GracefulShutdownInterval = dur(5 * time.Second)
	cfg.EvacuationTimeout = dur(2 * time.Minute)
	cfg.ReportInterval = dur(time.Minute)
	c := &Cell{Index: i, ID: id, ConfigPath: filepath.Join(o.Dir, id+".json"), Config: cfg, d: d}
	if err := c.WriteConfig(); err != nil {
		return nil, err
	}
	d.Cells = append(d.Cells, c)
	return c, nil
}

// WriteConfig writes c.Config to c.ConfigPath (after a change, before Start).
func (c *Cell) WriteConfig() error { return writeJSON(c.ConfigPath, c.Config) }

// Start runs the cell and waits until the BBS lists it (its presence is in locket).
func (c *Cell) Start(ctx context.Context) error {
	if c.Running() {
		return nil
	}
	c.starts++
	log := filepath.Join(c.d.opts.Dir, c.ID+".log")
	p, err := StartProcess(c.ID, log, c.d.opts.Bin.Cell, "-config", c.ConfigPath)
	if err != nil {
		return err
	}
	c.proc = p
	registered := func() bool {
		cells, err := c.d.BBSClient.Cells(lager.NewLogger("local-diego"), "")
		if err != nil {
			return false
		}
		for _, pr := range cells {
			if pr.CellId == c.ID {
				return true
			}
		}
		return false
	}
	if err := waitFor(ctx, p, 60*time.Second, registered); err != nil {
		return fmt.Errorf("cell %s: %w", c.ID, err)
	}
	return nil
}

// Running reports whether the cell process runs.
func (c *Cell) Running() bool { return c.proc != nil && !c.proc.Exited() }

// Process of the cell (nil before Start).
func (c *Cell) Process() *Process { return c.proc }

// Stop ends the cell as an operator would (SIGTERM): it deletes its instances and exits.
func (c *Cell) Stop() error {
	if !c.Running() {
		return nil
	}
	return c.proc.Stop(60 * time.Second)
}

// Kill ends the cell process at once (SIGKILL), as a crash would: its VMs keep running.
func (c *Cell) Kill() {
	if c.Running() {
		c.proc.Kill()
	}
}

// Evacuate asks the cell to evacuate (the drain script's POST /evacuate); the cell exits once
// its instances run elsewhere.
func (c *Cell) Evacuate() error {
	resp, err := http.Post("http://"+c.Config.ListenAddr+"/evacuate", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("evacuate %s: HTTP %s", c.ID, resp.Status)
	}
	return nil
}

// Destroy stops the cell and removes whatever it left: VMs, taps, rules, the bridge and the
// nftables table.
func (c *Cell) Destroy() error {
	errs := []error{c.Stop()}
	net, eng, err := cell.VM(c.Config)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if vms, err := eng.List(); err == nil {
		for _, v := range vms {
			errs = append(errs, eng.Remove(ctx, v.ID, true))
		}
	}
	if _, err := net.RemoveLeftovers(ctx); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, net.Teardown(ctx))
	return errors.Join(errs...)
}
