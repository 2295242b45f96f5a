package config_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/cell/config"
)

func write(t *testing.T, v map[string]any) string {
	dir := t.TempDir()
	for _, f := range []string{"ca", "cert", "key", "init"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	base := map[string]any{
		"cell_id": "cell-1", "zone": "z1", "bbs_address": "https://bbs:8889", "locket_address": "locket:8891",
		"ca_cert_file": filepath.Join(dir, "ca"), "cert_file": filepath.Join(dir, "cert"), "key_file": filepath.Join(dir, "key"),
		"listen_addr_securable": "0.0.0.0:1801", "loggregator": map[string]any{"loggregator_api_port": 3458},
		"evacuation_timeout": "2m",
		"vm": map[string]any{"state_dir": dir, "init_path": filepath.Join(dir, "init"), "memory_capacity_mb": 4096,
			"disk_capacity_mb": 8192, "network": map[string]any{"subnet": "10.213.10.0/24", "host_ip": "10.0.0.5", "port_range": []int{61000, 61999}}},
	}
	for k, val := range v {
		if val == nil {
			delete(base, k)
		} else {
			base[k] = val
		}
	}
	b, _ := json.Marshal(base)
	p := filepath.Join(dir, "cell.json")
	os.WriteFile(p, b, 0o600)
	return p
}

func TestLoad(t *testing.T) {
	c, err := config.Load(write(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.RepURL() != "https://10.0.0.5:1801" || c.RepAddress() != "http://10.0.0.5:1800" || c.HostIP() != "10.0.0.5" {
		t.Errorf("urls: %s %s %s", c.RepURL(), c.RepAddress(), c.HostIP())
	}
	if time.Duration(c.EvacuationTimeout) != 2*time.Minute || time.Duration(c.PollingInterval) != 30*time.Second {
		t.Errorf("durations: %v %v", c.EvacuationTimeout, c.PollingInterval)
	}
	names, _ := c.RootFSNames()
	if len(names) != 1 || names[0] != "unik" {
		t.Errorf("rootfs: %v", names)
	}
	c.AdvertiseDomain = "cell.service.cf.internal"
	if c.RepURL() != "https://cell-1.cell.service.cf.internal:1801" {
		t.Errorf("advertised: %s", c.RepURL())
	}
}

func TestLoadNamesTheBadField(t *testing.T) {
	for want, change := range map[string]map[string]any{
		"cell_id is required":         {"cell_id": nil},
		"runs microVM images only":    {"preloaded_root_fs": []string{"cflinuxfs4:/var/vcap/packages/cflinuxfs4"}},
		"loggregator_api_port":        {"loggregator": map[string]any{}},
		"unknown field \"memory_mb\"": {"memory_mb": 5},
		"vm.memory_capacity_mb":       {"vm": map[string]any{"state_dir": "/x", "init_path": "/bin/sh", "disk_capacity_mb": 1}},
		"vm.jail \"maybe\"": {"vm": map[string]any{"state_dir": "/x", "init_path": "/bin/sh", "memory_capacity_mb": 1,
			"disk_capacity_mb": 1, "max_containers": 1, "jail": "maybe"}},
	} {
		_, err := config.Load(write(t, change))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

// A listener without mutual TLS defaults to loopback: /evacuate drains the cell, unauthenticated.
func TestPlainListenerDefaultsToLoopback(t *testing.T) {
	c, err := config.Load(write(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:1800" || config.DefaultListenAddr != "127.0.0.1:1800" {
		t.Errorf("listen_addr defaults to %q, want 127.0.0.1:1800", c.ListenAddr)
	}
	host, _, err := net.SplitHostPort(c.ListenAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		t.Errorf("listen_addr %q is not on loopback (%v)", c.ListenAddr, err)
	}
	// the mTLS listener may listen everywhere; an explicit listen_addr is kept
	if c.ListenAddrSecurable != "0.0.0.0:1801" {
		t.Errorf("listen_addr_securable %q", c.ListenAddrSecurable)
	}
	c, err = config.Load(write(t, map[string]any{"listen_addr": "10.0.0.5:1800"}))
	if err != nil || c.ListenAddr != "10.0.0.5:1800" {
		t.Errorf("explicit listen_addr: %q, %v", c.ListenAddr, err)
	}
	if d := (config.Config{}).WithDefaults(); d.ListenAddr != "127.0.0.1:1800" {
		t.Errorf("WithDefaults listen_addr %q", d.ListenAddr)
	}
}

func TestDNSUpstreams(t *testing.T) {
	n := config.Network{DNSUpstreams: []string{"169.254.0.2", "10.0.0.2:5353", "[fd00::53]:53"}}
	got, err := n.Upstreams()
	if err != nil || fmt.Sprint(got) != "[169.254.0.2:53 10.0.0.2:5353 [fd00::53]:53]" {
		t.Errorf("Upstreams = %v, %v", got, err)
	}
	bad := write(t, map[string]any{"vm": map[string]any{"state_dir": t.TempDir(), "init_path": "/bin/sh", "memory_capacity_mb": 1,
		"disk_capacity_mb": 1, "network": map[string]any{"dns_upstreams": []string{"bosh-dns"}}}})
	if _, err := config.Load(bad); err == nil || !strings.Contains(err.Error(), "vm.network.dns_upstreams[0]") {
		t.Errorf("a bad upstream: %v", err)
	}
}
