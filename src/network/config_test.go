package network

import (
	"net/netip"
	"strings"
	"testing"
)

func validConfig() Config {
	return Config{StateDir: "/tmp/unik-state"}.withDefaults()
}

func TestDefaults(t *testing.T) {
	n, err := New(Config{StateDir: t.TempDir(), Mode: ModeBridge})
	if err != nil {
		t.Fatal(err)
	}
	c := n.Config()
	if c.Bridge != "unik0" || c.Table != "unik" || c.Subnet != netip.MustParsePrefix("10.213.0.0/24") ||
		c.HostIP != netip.MustParseAddr("127.0.0.1") || c.PortRange != [2]uint16{40000, 40999} || c.DNS != nil || c.Egress ||
		c.RunDir != "/run/unik/net" {
		t.Errorf("defaults: got %+v", c)
	}
	// Bridge mode keeps its store host-wide, one per bridge, whatever the
	// StateDir; user mode keeps it in StateDir.
	if n.dir != "/run/unik/net/unik0" || n.owner != c.StateDir {
		t.Errorf("bridge-mode store %s, owner %s", n.dir, n.owner)
	}
	if got := c.bridgeIP(); got != netip.MustParseAddr("10.213.0.1") {
		t.Errorf("bridge IP: got %v", got)
	}
	u, err := New(Config{StateDir: t.TempDir(), Mode: ModeUser})
	if err != nil {
		t.Fatal(err)
	}
	if dns := u.Config().DNS; len(dns) != 1 || dns[0] != netip.MustParseAddr("10.0.2.3") {
		t.Errorf("user-mode DNS: got %v", dns)
	}
	if string(u.dir) != u.Config().StateDir {
		t.Errorf("user-mode store %s, want StateDir %s", u.dir, u.Config().StateDir)
	}
}

func TestAutoModeIsResolved(t *testing.T) {
	n, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if m := n.Mode(); m != ModeBridge && m != ModeUser {
		t.Errorf("Mode() = %q", m)
	}
}

func TestValidateNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Mode", func(c *Config) { c.Mode = "slirp" }},
		{"StateDir", func(c *Config) { c.StateDir = "" }},
		{"Bridge", func(c *Config) { c.Bridge = "a-name-far-too-long" }},
		{"Bridge", func(c *Config) { c.Bridge = "../etc" }},
		{"Table", func(c *Config) { c.Table = "bad name" }},
		{"Subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.213.0.1/24") }},
		{"Subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.213.0.0/31") }},
		{"Subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("fd00::/64") }},
		{"HostIP", func(c *Config) { c.HostIP = netip.MustParseAddr("0.0.0.0") }},
		{"HostIP", func(c *Config) { c.HostIP = netip.MustParseAddr("::1") }},
		{"HostIP", func(c *Config) { c.HostIP = netip.MustParseAddr("10.213.0.9") }},
		{"PortRange", func(c *Config) { c.PortRange = [2]uint16{5000, 4000} }},
		{"PortRange", func(c *Config) { c.PortRange = [2]uint16{0, 4000} }},
		{"DNS", func(c *Config) { c.DNS = []netip.Addr{netip.MustParseAddr("::1")} }},
	} {
		c := validConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: no error for %+v", tc.field, c)
			continue
		}
		if !strings.Contains(err.Error(), "config "+tc.field+":") {
			t.Errorf("%s: error does not name the field: %v", tc.field, err)
		}
	}
	if err := validConfig().Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if err := (Config{StateDir: "/tmp/x"}).Validate(); err != nil {
		t.Errorf("zero fields take their defaults: %v", err)
	}
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "StateDir") {
		t.Errorf("New without StateDir: %v", err)
	}
}

func TestMACFor(t *testing.T) {
	for ip, want := range map[string]string{
		"10.213.0.5":   "52:54:0a:d5:00:05",
		"10.213.250.2": "52:54:0a:d5:fa:02",
		"10.0.2.15":    "52:54:0a:00:02:0f",
	} {
		if got := MACFor(netip.MustParseAddr(ip)); got != want {
			t.Errorf("MACFor(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestTapName(t *testing.T) {
	for id, want := range map[string]string{
		"web":                                  "ukweb",
		"0f8e7d6c-5b4a-4a3b-9c2d-1e0f9a8b7c6d": "uk0f8e7d6c5b4a",
		"a.b_c-d":                              "ukabcd",
		"abcdefghijklmnop":                     "ukabcdefghijkl",
	} {
		got := TapName(id)
		if got != want {
			t.Errorf("TapName(%q) = %q, want %q", id, got, want)
		}
		if len(got) > 15 {
			t.Errorf("TapName(%q) = %q is longer than IFNAMSIZ-1", id, got)
		}
	}
	// No letters or digits at all: a stable hash still fits.
	if a, b := TapName("---"), TapName("---"); a != b || len(a) != 14 || !strings.HasPrefix(a, "uk") {
		t.Errorf("TapName(---) = %q, %q", a, b)
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"a", "web-1", "0f8e7d6c-5b4a-4a3b-9c2d-1e0f9a8b7c6d", "app.v2_3"} {
		if err := validID(id); err != nil {
			t.Errorf("validID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "-x", "a/b", "a b", "é", strings.Repeat("a", 129)} {
		if err := validID(id); err == nil {
			t.Errorf("validID(%q) accepted", id)
		}
	}
}

func TestGatewayDNS(t *testing.T) {
	n, err := New(Config{Mode: ModeBridge, StateDir: t.TempDir(), Subnet: netip.MustParsePrefix("10.213.7.0/24"), GatewayDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Config().DNS; len(got) != 1 || got[0] != netip.MustParseAddr("10.213.7.1") {
		t.Errorf("GatewayDNS gives guests %v, want the gateway 10.213.7.1", got)
	}
	if gw := n.Config().Gateway(); gw != netip.MustParseAddr("10.213.7.1") {
		t.Errorf("Gateway() = %v", gw)
	}
	if gw := (Config{}).Gateway(); gw != netip.MustParseAddr("10.213.0.1") {
		t.Errorf("default Gateway() = %v", gw)
	}
	if _, err := New(Config{Mode: ModeBridge, StateDir: "x", GatewayDNS: true, DNS: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}); err == nil {
		t.Error("GatewayDNS with DNS servers of its own was accepted")
	}
	user, err := New(Config{Mode: ModeUser, StateDir: t.TempDir(), GatewayDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := user.Config(); c.GatewayDNS || len(c.DNS) != 1 || c.DNS[0] != netip.MustParseAddr("10.0.2.3") {
		t.Errorf("user mode keeps slirp's DNS, got GatewayDNS %v, DNS %v", c.GatewayDNS, c.DNS)
	}
}
