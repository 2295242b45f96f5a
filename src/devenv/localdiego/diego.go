package localdiego

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/unik-cf/unik/src/devenv/placement"
	"github.com/unik-cf/unik/src/kernel"
)

// Options of a local Diego. As root, PostgreSQL runs as the postgres user: every directory
// above Dir must let it through (mode o+x).
type Options struct {
	Dir      string // everything of this run (configs, logs, databases, cell state)
	Bin      Binaries
	Repo     string // for bin/unik-init
	CacheDir string // kernels; default kernel.DefaultCacheDir() ($UNIK_CACHE_DIR or /var/cache/unik)
	Cells    int
	// NetPrefix names the cells' bridges and nftables tables: <prefix><n>. Default "ukc".
	NetPrefix string
	// SubnetBase is the third octet of cell 1's subnet 10.213.<base+n-1>.0/24. Default 10.
	SubnetBase int
	// PortBase is cell 1's first host port; each cell gets 200. Default 42000.
	PortBase int
	// ConvergeInterval of the BBS (default 30s) and the cells' polling interval (default 30s).
	ConvergeInterval time.Duration
	PollingInterval  time.Duration
	LockTTL          time.Duration // cells' presence TTL; default 15s
	CellMemoryMB     int           // capacity per cell; default 4096
	// IdentityValidity of instance identity certificates (the CA is local Diego's); default 24h.
	IdentityValidity time.Duration
	Logger           lager.Logger
}

func (o Options) withDefaults() Options {
	if o.CacheDir == "" {
		o.CacheDir = kernel.DefaultCacheDir()
	}
	if o.NetPrefix == "" {
		o.NetPrefix = "ukc"
	}
	if o.SubnetBase == 0 {
		o.SubnetBase = 10
	}
	if o.PortBase == 0 {
		o.PortBase = 42000
	}
	if o.ConvergeInterval == 0 {
		o.ConvergeInterval = 30 * time.Second
	}
	if o.PollingInterval == 0 {
		o.PollingInterval = 30 * time.Second
	}
	if o.LockTTL == 0 {
		o.LockTTL = 15 * time.Second
	}
	if o.CellMemoryMB == 0 {
		o.CellMemoryMB = 4096
	}
	if o.Logger == nil {
		o.Logger = lager.NewLogger("local-diego")
	}
	return o
}

// Diego is a running local Diego.
type Diego struct {
	opts      Options
	Certs     Certs
	Postgres  *Postgres
	Locket    *Process
	BBS       *Process
	Ingress   *Ingress
	BBSURL    string
	BBSClient bbs.InternalClient
	Cells     []*Cell

	LocketAddr    string
	placementURL  string
	placementSrv  *http.Server
	placementStop chan struct{}
}

// Start brings everything up; on error, what was started is stopped.
func Start(ctx context.Context, o Options) (_ *Diego, err error) {
	o = o.withDefaults()
	d := &Diego{opts: o}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(o.Dir, 0o755); err != nil { // the postgres user must reach its cluster
		return nil, err
	}
	if d.Certs, err = MakeCerts(filepath.Join(o.Dir, "certs")); err != nil {
		return nil, err
	}
	pgPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	if d.Postgres, err = StartPostgres(ctx, filepath.Join(o.Dir, "postgres"), pgPort, "bbs", "locket"); err != nil {
		return nil, err
	}
	if d.Ingress, err = StartIngress(d.Certs); err != nil {
		return nil, fmt.Errorf("loggregator ingress: %w", err)
	}
	if err := d.startLocket(ctx); err != nil {
		return nil, err
	}
	if err := d.startPlacementListener(); err != nil {
		return nil, err
	}
	if err := d.startBBS(ctx); err != nil {
		return nil, err
	}
	if d.BBSClient, err = bbs.NewClientWithConfig(bbs.ClientConfig{URL: d.BBSURL, IsTLS: true, CAFile: d.Certs.CA(),
		CertFile: d.Certs.Cert(), KeyFile: d.Certs.Key(), RequestTimeout: 30 * time.Second}); err != nil {
		return nil, err
	}
	if err := d.startPlacement(); err != nil {
		return nil, err
	}
	for i := 1; i <= o.Cells; i++ {
		c, err := d.NewCell(i)
		if err != nil {
			return nil, err
		}
		if err := c.Start(ctx); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Diego) loggregator() map[string]any {
	return map[string]any{"loggregator_api_port": d.Ingress.Port, "loggregator_ca_path": d.Certs.CA(),
		"loggregator_cert_path": d.Certs.Cert(), "loggregator_key_path": d.Certs.Key()}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func (d *Diego) startLocket(ctx context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	d.LocketAddr = "127.0.0.1:" + strconv.Itoa(port)
	cfgPath := filepath.Join(d.opts.Dir, "locket.json")
	if err := writeJSON(cfgPath, map[string]any{
		"listen_address": d.LocketAddr, "database_driver": "postgres", "database_connection_string": d.Postgres.URL("locket"),
		"ca_file": d.Certs.CA(), "cert_file": d.Certs.Cert(), "key_file": d.Certs.Key(), "report_interval": "1m",
		"loggregator": d.loggregator(), "log_level": "info",
	}); err != nil {
		return err
	}
	d.Locket, err = StartProcess("locket", filepath.Join(d.opts.Dir, "locket.log"), d.opts.Bin.Locket, "-config", cfgPath)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, d.Locket, 60*time.Second, listening(d.LocketAddr)); err != nil {
		return fmt.Errorf("locket: %w", err)
	}
	return nil
}

func (d *Diego) startPlacementListener() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.placementURL = "http://" + l.Addr().String()
	d.placementSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	d.placementStop = make(chan struct{})
	mux := &lateHandler{}
	d.placementSrv.Handler = mux
	go func() { _ = d.placementSrv.Serve(l) }()
	return nil
}

// lateHandler answers 503 until the placer exists (the BBS starts before its client does).
type lateHandler struct{ h http.Handler }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.h == nil {
		http.Error(w, "placement not ready", http.StatusServiceUnavailable)
		return
	}
	l.h.ServeHTTP(w, r)
}

func (d *Diego) startPlacement() error {
	// Transports must be *http.Transport: the factory sets their TLS configuration.
	factory, err := rep.NewClientFactory(&http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
		&http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
		&rep.TLSConfig{RequireTLS: true, CaCertFile: d.Certs.CA(), CertFile: d.Certs.Cert(), KeyFile: d.Certs.Key()})
	if err != nil {
		return err
	}
	p := placement.New(d.opts.Logger, d.BBSClient, factory)
	d.placementSrv.Handler.(*lateHandler).h = p.Handler()
	go p.Run(d.placementStop)
	return nil
}

func (d *Diego) startBBS(ctx context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	health, err := FreePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	d.BBSURL = "https://" + addr
	cfgPath := filepath.Join(d.opts.Dir, "bbs.json")
	if err := writeJSON(cfgPath, map[string]any{
		"listen_address": addr, "advertise_url": d.BBSURL, "health_address": "127.0.0.1:" + strconv.Itoa(health),
		"auctioneer_address": d.placementURL, "uuid": "local-bbs-1", "session_name": "bbs", "log_level": "info",
		"ca_file": d.Certs.CA(), "cert_file": d.Certs.Cert(), "key_file": d.Certs.Key(), "require_ssl": true,
		"rep_ca_cert": d.Certs.CA(), "rep_client_cert": d.Certs.Cert(), "rep_client_key": d.Certs.Key(),
		"database_driver": "postgres", "database_connection_string": d.Postgres.URL("bbs"),
		"db_connection_timeout": "30s", "communication_timeout": "10s", // patient with a loaded machine: a locket call that times out costs the BBS its lock
		"encryption_keys": map[string]string{"key1": "local-diego-key"}, "active_key_label": "key1",
		"converge_repeat_interval": d.opts.ConvergeInterval.String(), "kick_task_duration": "30s",
		"expire_completed_task_duration": "2m", "expire_pending_task_duration": "30m",
		"lock_ttl": "30s", "lock_retry_interval": "1s", "report_interval": "1m",
		"task_callback_workers": 100, "update_workers": 100, "convergence_workers": 20, "max_task_retries": 3,
		"max_open_database_connections": 100, "max_idle_database_connections": 50, "desired_lrp_creation_timeout": "1m",
		"health_check_timeout": "5s", "health_check_interval": "10s", "health_check_failure_threshold": 3,
		"locket_address": d.LocketAddr, "locket_ca_cert_file": d.Certs.CA(),
		"locket_client_cert_file": d.Certs.Cert(), "locket_client_key_file": d.Certs.Key(),
		"loggregator": d.loggregator(),
	}); err != nil {
		return err
	}
	d.BBS, err = StartProcess("bbs", filepath.Join(d.opts.Dir, "bbs.log"), d.opts.Bin.BBS, "-config", cfgPath)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, d.BBS, 90*time.Second, httpOK(fmt.Sprintf("http://127.0.0.1:%d/ping", health))); err != nil {
		return fmt.Errorf("bbs: %w", err)
	}
	if err := waitFor(ctx, d.BBS, 30*time.Second, listening(addr)); err != nil {
		return fmt.Errorf("bbs: %w", err)
	}
	return nil
}

// Stop ends everything this Diego started, cells first (their VMs are deleted), and removes
// every network object of the cells. Errors are joined.
func (d *Diego) Stop() error {
	var errs []error
	for _, c := range d.Cells {
		errs = append(errs, c.Destroy())
	}
	if d.placementStop != nil {
		close(d.placementStop)
		d.placementStop = nil
	}
	if d.placementSrv != nil {
		_ = d.placementSrv.Close()
	}
	if d.BBS != nil {
		_ = d.BBS.Stop(10 * time.Second)
	}
	if d.Locket != nil {
		_ = d.Locket.Stop(10 * time.Second)
	}
	if d.Ingress != nil {
		d.Ingress.Stop()
		d.Ingress = nil
	}
	if d.Postgres != nil {
		d.Postgres.Stop()
		d.Postgres = nil
	}
	return errors.Join(errs...)
}
