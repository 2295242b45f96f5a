package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	loggingclient "code.cloudfoundry.org/diego-logging-client"
	"code.cloudfoundry.org/durationjson"
	"code.cloudfoundry.org/locket"
)

// DefaultListenAddr is where the plain-HTTP rep API (ping, evacuate) listens unless configured:
// loopback, since it has no authentication and /evacuate drains the cell.
const DefaultListenAddr = "127.0.0.1:1800"

// RootFSName is the only preloaded rootfs a unik cell advertises: LRPs with root_fs
// "preloaded:unik" are microVM apps.
const RootFSName = "unik"

// Config of one unik cell.
type Config struct {
	CellID      string `json:"cell_id"`
	CellIndex   int    `json:"cell_index"`
	Zone        string `json:"zone"`
	SessionName string `json:"session_name,omitempty"`
	LogLevel    string `json:"log_level,omitempty"` // debug, info (default), error, fatal

	BBSAddress string `json:"bbs_address"`
	// CaCertFile, CertFile and KeyFile are the cell's mTLS identity: client of the BBS, server
	// of the rep API (listen_addr_securable), client of droplet downloads over https.
	CaCertFile string `json:"ca_cert_file"`
	CertFile   string `json:"cert_file"`
	KeyFile    string `json:"key_file"`
	locket.ClientLocketConfig

	// ListenAddr serves the rep's plain HTTP routes (ping, evacuate: the drain script's), with
	// no authentication, so it defaults to loopback (127.0.0.1:1800, as Diego's rep does);
	// ListenAddrSecurable the mTLS routes (state, perform, stop, cancel, metrics), default
	// 0.0.0.0:1801. Every listener without mutual TLS must default to loopback.
	ListenAddr          string `json:"listen_addr"`
	ListenAddrSecurable string `json:"listen_addr_securable"`
	// AdvertiseDomain names the cell in its rep_url: https://<cell_id>.<advertise_domain>:port.
	// Empty: the rep_url uses the cell's address (vm.network.host_ip).
	AdvertiseDomain string `json:"advertise_domain,omitempty"`

	PlacementTags         []string `json:"placement_tags"`
	OptionalPlacementTags []string `json:"optional_placement_tags"`
	// PreloadedRootFS uses the rep's "name:path" form; a unik cell accepts only "unik" (the
	// path is not used: the kernel comes from vm.kernel_dir).
	PreloadedRootFS []string `json:"preloaded_root_fs"`

	CommunicationTimeout           durationjson.Duration `json:"communication_timeout,omitempty"`
	EvacuationTimeout              durationjson.Duration `json:"evacuation_timeout,omitempty"`
	EvacuationPollingInterval      durationjson.Duration `json:"evacuation_polling_interval,omitempty"`
	PollingInterval                durationjson.Duration `json:"polling_interval,omitempty"`
	LockTTL                        durationjson.Duration `json:"lock_ttl,omitempty"`
	LockRetryInterval              durationjson.Duration `json:"lock_retry_interval,omitempty"`
	ReportInterval                 durationjson.Duration `json:"report_interval,omitempty"`
	ContainerMetricsReportInterval durationjson.Duration `json:"container_metrics_report_interval,omitempty"`
	GracefulShutdownInterval       durationjson.Duration `json:"graceful_shutdown_interval,omitempty"`

	LoggregatorConfig loggingclient.Config `json:"loggregator"`

	// Instance identity (Diego's rep names): with both paths, every instance gets a key and a
	// certificate signed by this CA at CF_INSTANCE_CERT/CF_INSTANCE_KEY, rotated before they
	// expire; validity default 24h.
	InstanceIdentityCAPath         string                `json:"instance_identity_ca_path,omitempty"`
	InstanceIdentityPrivateKeyPath string                `json:"instance_identity_private_key_path,omitempty"`
	InstanceIdentityValidityPeriod durationjson.Duration `json:"instance_identity_validity_period,omitempty"`
	// TrustedSystemCertificatesPath is a directory of the cell's trusted certificates (*.crt,
	// *.pem): every instance gets them at the path its run request names
	// (/etc/cf-system-certificates for Cloud Controller's apps), with CF_SYSTEM_CERT_PATH.
	TrustedSystemCertificatesPath string `json:"trusted_system_certificates_path,omitempty"`

	VM VM `json:"vm"`
}

// VM configures the microVM engine of the cell.
type VM struct {
	StateDir  string `json:"state_dir"`            // instances, images, droplets, network state
	CacheDir  string `json:"cache_dir,omitempty"`  // where kernels are found (default /var/cache/unik)
	KernelDir string `json:"kernel_dir,omitempty"` // a specific kernel; "" = find one in cache_dir
	InitPath  string `json:"init_path"`            // the static guest init (bin/unik-init)
	QEMU      string `json:"qemu,omitempty"`
	Accel     string `json:"accel,omitempty"` // auto (default), kvm, tcg
	// ShimPath is unik-shim, which jails every VMM; "" = beside the cell binary, then PATH.
	ShimPath string `json:"shim_path,omitempty"`
	// Jail is auto (default: jailed, the cell runs as root), on or off.
	Jail string `json:"jail,omitempty"`

	MemoryCapacityMB int `json:"memory_capacity_mb"` // what the cell offers to instances
	DiskCapacityMB   int `json:"disk_capacity_mb"`
	MaxContainers    int `json:"max_containers"`
	// DefaultMemoryMB is a VM's memory when the LRP asks for none (memory_mb 0).
	DefaultMemoryMB int `json:"default_memory_mb,omitempty"`
	CPUs            int `json:"cpus,omitempty"` // virtual CPUs per VM, default 1

	Network Network `json:"network"`
}

// Network is the cell's VM network (package network's Config in JSON).
type Network struct {
	Mode      string    `json:"mode,omitempty"` // bridge (default as root) or user
	Bridge    string    `json:"bridge,omitempty"`
	Table     string    `json:"table,omitempty"`
	Subnet    string    `json:"subnet,omitempty"`  // e.g. 10.213.10.0/24
	HostIP    string    `json:"host_ip,omitempty"` // the cell's address: ExternalIP of its instances
	PortRange [2]uint16 `json:"port_range,omitempty"`
	// DNS, when set, are the DNS servers given to the VMs instead of the cell's forwarder
	// (they are then reached as egress: the LRP's security groups must allow them).
	DNS []string `json:"dns,omitempty"`
	// DNSUpstreams are the resolvers the cell's DNS forwarder asks (ip or ip:port);
	// default: the cell's own, the nameservers of /etc/resolv.conf.
	DNSUpstreams []string `json:"dns_upstreams,omitempty"`
	// Egress gives instances whose LRP or task carries no egress rules (security groups)
	// unrestricted egress, as the cell-wide switch did before security groups were enforced.
	// Instances with rules always get exactly their rules.
	Egress bool `json:"egress,omitempty"`
}

// Load reads the file at path, fills defaults and validates.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// WithDefaults fills zero fields with the rep's defaults (and the engine's).
func (c Config) WithDefaults() Config {
	def := func(d *durationjson.Duration, v time.Duration) {
		if *d == 0 {
			*d = durationjson.Duration(v)
		}
	}
	def(&c.CommunicationTimeout, 10*time.Second)
	def(&c.EvacuationTimeout, 10*time.Minute)
	def(&c.EvacuationPollingInterval, 10*time.Second)
	def(&c.PollingInterval, 30*time.Second)
	def(&c.LockTTL, locket.DefaultSessionTTL)
	def(&c.LockRetryInterval, locket.RetryInterval)
	def(&c.ReportInterval, time.Minute)
	def(&c.ContainerMetricsReportInterval, 15*time.Second)
	def(&c.GracefulShutdownInterval, 10*time.Second)
	if c.SessionName == "" {
		c.SessionName = "unik-cell"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if len(c.PreloadedRootFS) == 0 {
		c.PreloadedRootFS = []string{RootFSName + ":" + RootFSName}
	}
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if c.ListenAddrSecurable == "" {
		c.ListenAddrSecurable = "0.0.0.0:1801"
	}
	if c.VM.CacheDir == "" {
		c.VM.CacheDir = "/var/cache/unik"
	}
	if c.VM.DefaultMemoryMB == 0 {
		c.VM.DefaultMemoryMB = 128
	}
	if c.VM.CPUs == 0 {
		c.VM.CPUs = 1
	}
	if c.VM.MaxContainers == 0 {
		c.VM.MaxContainers = 250
	}
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.CellID == "":
		return fmt.Errorf("cell_id is required")
	case strings.ContainsAny(c.CellID, " /:"):
		return fmt.Errorf("cell_id %q must not contain spaces, '/' or ':'", c.CellID)
	case c.BBSAddress == "":
		return fmt.Errorf("bbs_address is required")
	case c.LocketAddress == "":
		return fmt.Errorf("locket_address is required")
	case c.CaCertFile == "" || c.CertFile == "" || c.KeyFile == "":
		return fmt.Errorf("ca_cert_file, cert_file and key_file are required (mTLS with the BBS and the auctioneer)")
	}
	for _, f := range []struct{ name, path string }{{"ca_cert_file", c.CaCertFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if _, err := c.RootFSNames(); err != nil {
		return err
	}
	if err := validPort("listen_addr", c.ListenAddr); err != nil {
		return err
	}
	if err := validPort("listen_addr_securable", c.ListenAddrSecurable); err != nil {
		return err
	}
	if (c.InstanceIdentityCAPath == "") != (c.InstanceIdentityPrivateKeyPath == "") {
		return fmt.Errorf("instance_identity_ca_path and instance_identity_private_key_path go together")
	}
	if c.TrustedSystemCertificatesPath != "" {
		if fi, err := os.Stat(c.TrustedSystemCertificatesPath); err != nil || !fi.IsDir() {
			return fmt.Errorf("trusted_system_certificates_path %q is not a directory", c.TrustedSystemCertificatesPath)
		}
	}
	if c.LoggregatorConfig.APIPort == 0 {
		return fmt.Errorf("loggregator.loggregator_api_port is required (the local loggregator agent)")
	}
	return c.VM.Validate()
}

// Validate names the first bad field of the vm section.
func (v VM) Validate() error {
	switch {
	case v.StateDir == "":
		return fmt.Errorf("vm.state_dir is required")
	case v.InitPath == "":
		return fmt.Errorf("vm.init_path is required (the static guest init, bin/unik-init)")
	case v.MemoryCapacityMB <= 0:
		return fmt.Errorf("vm.memory_capacity_mb must be positive, got %d", v.MemoryCapacityMB)
	case v.DiskCapacityMB <= 0:
		return fmt.Errorf("vm.disk_capacity_mb must be positive, got %d", v.DiskCapacityMB)
	case v.MaxContainers <= 0:
		return fmt.Errorf("vm.max_containers must be positive, got %d", v.MaxContainers)
	case v.DefaultMemoryMB < 48:
		return fmt.Errorf("vm.default_memory_mb %d is below the 48 MB a guest needs", v.DefaultMemoryMB)
	case v.CPUs < 1 || v.CPUs > 8:
		return fmt.Errorf("vm.cpus %d is not between 1 and 8", v.CPUs)
	case v.Jail != "" && v.Jail != "auto" && v.Jail != "on" && v.Jail != "off":
		return fmt.Errorf("vm.jail %q is not auto, on or off", v.Jail)
	}
	if _, err := os.Stat(v.InitPath); err != nil {
		return fmt.Errorf("vm.init_path: %w", err)
	}
	if v.Network.Subnet != "" {
		if _, err := netip.ParsePrefix(v.Network.Subnet); err != nil {
			return fmt.Errorf("vm.network.subnet: %w", err)
		}
	}
	if v.Network.HostIP != "" {
		if _, err := netip.ParseAddr(v.Network.HostIP); err != nil {
			return fmt.Errorf("vm.network.host_ip: %w", err)
		}
	}
	for i, d := range v.Network.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return fmt.Errorf("vm.network.dns[%d]: %w", i, err)
		}
	}
	if _, err := v.Network.Upstreams(); err != nil {
		return err
	}
	return nil
}

// Upstreams are dns_upstreams as addresses and ports (port 53 when none is given).
func (n Network) Upstreams() ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for i, u := range n.DNSUpstreams {
		ap, err := netip.ParseAddrPort(u)
		if err != nil {
			a, aerr := netip.ParseAddr(u)
			if aerr != nil {
				return nil, fmt.Errorf("vm.network.dns_upstreams[%d]: %q is neither ip nor ip:port", i, u)
			}
			ap = netip.AddrPortFrom(a, 53)
		}
		out = append(out, ap)
	}
	return out, nil
}

// RootFSNames returns the names of preloaded_root_fs, refusing any but "unik".
func (c Config) RootFSNames() ([]string, error) {
	var names []string
	for i, s := range c.PreloadedRootFS {
		name, _, ok := strings.Cut(s, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("preloaded_root_fs[%d] %q is not of the form name:path", i, s)
		}
		if name != RootFSName {
			return nil, fmt.Errorf("preloaded_root_fs[%d] %q: a unik cell runs microVM images only; the one rootfs it advertises is %q", i, s, RootFSName)
		}
		names = append(names, name)
	}
	return names, nil
}

// HostIP is the cell's address: the IP its instances' host ports listen on, reported to the
// BBS as their address. Default 127.0.0.1.
func (c Config) HostIP() string {
	if c.VM.Network.HostIP == "" {
		return "127.0.0.1"
	}
	return c.VM.Network.HostIP
}

// RepURL is the URL the cell advertises for its mTLS rep API.
func (c Config) RepURL() string {
	_, port, _ := strings.Cut(c.ListenAddrSecurable[strings.LastIndex(c.ListenAddrSecurable, ":"):], ":")
	host := c.HostIP()
	if c.AdvertiseDomain != "" {
		host = strings.ReplaceAll(c.CellID, "_", "-") + "." + c.AdvertiseDomain
	}
	return fmt.Sprintf("https://%s:%s", host, port)
}

// RepAddress is the URL of the cell's plain HTTP listener (ping, evacuate) as registered in
// its presence: the cell's address and the listen_addr port, as Diego's rep registers it, even
// when the listener is on loopback (Diego's components call the rep_url).
func (c Config) RepAddress() string {
	port := c.ListenAddr[strings.LastIndex(c.ListenAddr, ":")+1:]
	return fmt.Sprintf("http://%s:%s", c.HostIP(), port)
}

func validPort(field, addr string) error {
	i := strings.LastIndex(addr, ":")
	if i < 0 || i == len(addr)-1 {
		return fmt.Errorf("%s %q is not host:port", field, addr)
	}
	return nil
}
