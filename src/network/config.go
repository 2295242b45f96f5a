package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Mode says how microVMs are attached to the host's network.
type Mode string

const (
	// ModeBridge gives each VM a tap on the project bridge and maps host ports
	// with nftables DNAT. It needs root.
	ModeBridge Mode = "bridge"
	// ModeUser creates nothing on the host: it only reserves host ports, which
	// QEMU forwards itself (-netdev user,hostfwd=...).
	ModeUser Mode = "user"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultBridge                         = "unik0"
	DefaultTable                          = "unik"
	DefaultPortMin, DefaultPortMax uint16 = 40000, 40999
	// DefaultRunDir is the root of bridge mode's host-wide stores: a tmpfs
	// that empties at boot, as do the taps and rules the stores account for.
	DefaultRunDir = "/run/unik/net"
)

func defaultSubnet() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, 0, 0}), 24)
}
func defaultHostIP() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, 1}) }

// The fixed network of QEMU's user-mode stack (slirp).
func userGuestIP() netip.Prefix { return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 2, 15}), 24) }
func userGateway() netip.Addr   { return netip.AddrFrom4([4]byte{10, 0, 2, 2}) }
func userDNS() netip.Addr       { return netip.AddrFrom4([4]byte{10, 0, 2, 3}) }

// Config describes one host network for microVMs. The zero value of every
// field but StateDir means "use the default".
type Config struct {
	// Mode is ModeBridge, ModeUser or "" for auto: bridge when running as
	// root with /dev/net/tun present, user otherwise.
	Mode Mode
	// StateDir is the caller's own directory of this network. In user mode
	// it holds the lock, the leases and the attachment records; in bridge
	// mode it names the owner of the attachments this Network makes in the
	// host-wide store (see RunDir). Required.
	StateDir string
	// RunDir is the root of bridge mode's host-wide stores: the lock, leases
	// and attachment records of bridge B live in RunDir/B, shared by every
	// process that attaches to B whatever its StateDir (each unik CLI state
	// directory, a cell), because the bridge, the table, the subnet and the
	// host ports are host-wide. Default /run/unik/net.
	RunDir string
	// Bridge is the name of the project bridge (bridge mode). Default unik0.
	Bridge string
	// Table is the name of the nftables table, family ip (bridge mode).
	// Default unik.
	Table string
	// Subnet is the guests' IPv4 subnet; its first host is the bridge's
	// address and the guests' gateway (bridge mode). Default 10.213.0.0/24.
	Subnet netip.Prefix
	// HostIP is the IPv4 address on which host ports are reachable. It must
	// be a specific address, not 0.0.0.0. Default 127.0.0.1.
	HostIP netip.Addr
	// PortRange bounds the host ports picked for requests with HostPort 0.
	// Default 40000-40999.
	PortRange [2]uint16
	// DNS servers given to guests. Default: none in bridge mode, 10.0.2.3 in
	// user mode.
	DNS []netip.Addr
	// GatewayDNS gives guests their gateway (the bridge's address) as their
	// DNS server, where the caller runs a forwarder (package dnsfwd) for as
	// long as it attaches VMs. Bridge mode only: New clears it in user mode,
	// whose guests keep slirp's DNS. It excludes DNS.
	GatewayDNS bool
	// Egress gives attachments that come without egress rules one rule
	// allowing every protocol to every address (bridge mode): what the
	// whole bridge got before egress rules existed, for hosts where nobody
	// hands out rules. An attachment with rules gets exactly those, and
	// without rules nor Egress it gets no egress at all.
	Egress bool
}

// Validate checks c with defaults filled in for its zero fields; the error
// names the bad field.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch c.Mode {
	case "", ModeBridge, ModeUser:
	default:
		return fmt.Errorf("config Mode: %q is neither %q nor %q", c.Mode, ModeBridge, ModeUser)
	}
	if c.StateDir == "" {
		return errors.New("config StateDir: required")
	}
	if err := validIfName(c.Bridge); err != nil {
		return fmt.Errorf("config Bridge: %w", err)
	}
	if err := validTableName(c.Table); err != nil {
		return fmt.Errorf("config Table: %w", err)
	}
	if err := validSubnet(c.Subnet); err != nil {
		return fmt.Errorf("config Subnet: %w", err)
	}
	if !c.HostIP.Is4() || c.HostIP.IsUnspecified() {
		return fmt.Errorf("config HostIP: %v is not a specific IPv4 address", c.HostIP)
	}
	if c.Subnet.Contains(c.HostIP) {
		return fmt.Errorf("config HostIP: %v lies inside Subnet %v", c.HostIP, c.Subnet)
	}
	if c.PortRange[0] == 0 || c.PortRange[0] > c.PortRange[1] {
		return fmt.Errorf("config PortRange: %d-%d is not a range of ports from 1 to 65535", c.PortRange[0], c.PortRange[1])
	}
	for _, d := range c.DNS {
		if !d.Is4() {
			return fmt.Errorf("config DNS: %v is not an IPv4 address", d)
		}
	}
	if c.GatewayDNS && len(c.DNS) > 0 {
		return errors.New("config GatewayDNS: excludes DNS (the gateway is the guests' one DNS server)")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Bridge == "" {
		c.Bridge = DefaultBridge
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir
	}
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if !c.Subnet.IsValid() {
		c.Subnet = defaultSubnet()
	}
	if !c.HostIP.IsValid() {
		c.HostIP = defaultHostIP()
	}
	if c.PortRange == [2]uint16{} {
		c.PortRange = [2]uint16{DefaultPortMin, DefaultPortMax}
	}
	return c
}

func validIfName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("interface name %q must have 1 to 15 characters", name)
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/:% \t\n") {
		return fmt.Errorf("interface name %q is not valid", name)
	}
	return nil
}

func validTableName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("table name %q must have 1 to 64 characters", name)
	}
	for _, r := range name {
		if !isAlnum(r) && r != '_' && r != '-' {
			return fmt.Errorf("table name %q may hold only letters, digits, '_' and '-'", name)
		}
	}
	return nil
}

func validSubnet(p netip.Prefix) error {
	if !p.Addr().Is4() {
		return fmt.Errorf("%v is not an IPv4 prefix", p)
	}
	if p.Masked() != p {
		return fmt.Errorf("%v has host bits set (want %v)", p, p.Masked())
	}
	if p.Bits() < 8 || p.Bits() > 30 {
		return fmt.Errorf("%v must be between /8 and /30", p)
	}
	return nil
}

// Network attaches microVMs to the host network described by its Config.
// It is safe for concurrent use by several goroutines and several processes
// sharing the same store (StateDir in user mode, RunDir/Bridge in bridge
// mode).
type Network struct {
	cfg   Config
	dir   stateDir
	owner string // StateDir, made absolute: recorded with each attachment
	alloc allocator
}

// New fills in defaults, validates c and resolves the auto mode.
func New(c Config) (*Network, error) {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Mode == "" {
		c.Mode = autoMode()
	}
	if c.Mode == ModeUser {
		c.GatewayDNS = false
	}
	if c.DNS == nil && c.Mode == ModeUser {
		c.DNS = []netip.Addr{userDNS()}
	}
	if c.GatewayDNS {
		c.DNS = []netip.Addr{c.bridgeIP()}
	}
	abs, err := filepath.Abs(c.StateDir)
	if err != nil {
		return nil, fmt.Errorf("config StateDir: %w", err)
	}
	c.StateDir = abs
	if c.RunDir, err = filepath.Abs(c.RunDir); err != nil {
		return nil, fmt.Errorf("config RunDir: %w", err)
	}
	dir := stateDir(c.StateDir)
	if c.Mode == ModeBridge {
		dir = stateDir(filepath.Join(c.RunDir, c.Bridge))
	}
	return &Network{
		cfg:   c,
		dir:   dir,
		owner: c.StateDir,
		alloc: allocator{
			dir:       dir,
			subnet:    c.Subnet,
			hostIP:    c.HostIP,
			portRange: c.PortRange,
			busy:      portBusy,
		},
	}, nil
}

// Mode is the resolved mode, never "".
func (n *Network) Mode() Mode { return n.cfg.Mode }

// Config is the configuration in force, defaults filled in.
func (n *Network) Config() Config {
	c := n.cfg
	c.DNS = slices.Clone(c.DNS)
	return c
}

func autoMode() Mode {
	if os.Geteuid() != 0 {
		return ModeUser
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return ModeUser
	}
	return ModeBridge
}

// bridgeIP is the first host of the subnet: the bridge's address and the
// guests' gateway.
func (c Config) bridgeIP() netip.Addr { return c.Subnet.Addr().Next() }

// Gateway is the guests' gateway in bridge mode: the bridge's address,
// where a DNS forwarder for GatewayDNS listens.
func (c Config) Gateway() netip.Addr { return c.withDefaults().bridgeIP() }
