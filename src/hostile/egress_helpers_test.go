package hostile

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/devenv/outside"
	"github.com/unik-cf/unik/src/devenv/probe"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

// egressWorld is a private bridge-mode unik host (like netWorld) whose image is the
// egress-probe app, with an outside world: a namespace of the test's, routed from the host,
// holding two addresses with TCP banner and UDP echo servers on two ports each.
type egressWorld struct {
	*netWorld
	out      *outside.World
	tcp, udp [2]uint16
}

// egressNewWorld makes the world; with gatewayDNS the guests resolve through their gateway
// (where the test runs a forwarder, see dnsForwarder).
func egressNewWorld(t *testing.T, gatewayDNS bool) *egressWorld {
	t.Helper()
	repo := netRequireVMs(t)
	netLockHost(t)
	suffix := netRandomHex(t, 3)
	state := t.TempDir()
	cfg := network.Config{Mode: network.ModeBridge, StateDir: filepath.Join(state, "network"), Bridge: "ukh" + suffix,
		Table: "unikh" + suffix, Subnet: netFreeSubnet(t), PortRange: netFreeRange(t), GatewayDNS: gatewayDNS}
	n, err := network.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &egressWorld{netWorld: &netWorld{cfg: n.Config(), net: n}}
	t.Cleanup(func() { w.teardown(t) })
	initPath := filepath.Join(repo, "bin", "unik-init")
	w.eng, err = engine.New(engine.Config{StateDir: filepath.Join(state, "engine"), CacheDir: kernel.DefaultCacheDir(),
		InitPath: initPath}, qemu.Driver{}, n)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	app := filepath.Join(state, "probe-app")
	if err := probe.BuildApp(ctx, repo, app); err != nil {
		t.Fatal(err)
	}
	store := imagestore.Store{Dir: filepath.Join(state, "images")}
	tmp, err := store.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	res, err := image.Build(ctx, image.BuildOptions{AppDir: app, InitPath: initPath}, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("build the probe image: %v", err)
	}
	if w.image, err = store.Put("egress-probe", tmp.Name(), res); err != nil {
		t.Fatal(err)
	}
	if w.out, err = outside.New(egressFreeOutside(t), "ukho"+suffix, 2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.out.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	for i := range 2 {
		if w.tcp[i], err = w.out.ServeTCP(0); err != nil {
			t.Fatal(err)
		}
		if w.udp[i], err = w.out.ServeUDP(0); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// egressFreeOutside is a /24 of 10.213.240.0-10.213.249.0 that no address on this host falls
// in: the outside world's (bridges use 200-239).
func egressFreeOutside(t *testing.T) netip.Prefix {
	t.Helper()
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for third := 240; third < 250; third++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(third), 0}), 24)
		used := false
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && p.Contains(ip) {
				used = true
			}
		}
		if !used {
			return p
		}
	}
	t.Fatal("no free /24 in 10.213.240.0-10.213.249.0")
	return netip.Prefix{}
}

// egressBoot runs the probe with rules and waits until it answers through its host port.
func (w *egressWorld) egressBoot(t *testing.T, rules []network.EgressRule) (engine.Info, probe.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, err := w.eng.Run(ctx, engine.RunSpec{Image: w.image, Env: []string{"PORT=8080"},
		Ports: []network.PortRequest{{GuestPort: 8080}}, Egress: rules})
	if err != nil {
		t.Fatal(err)
	}
	url := netHostURL(info)
	for deadline := time.Now().Add(90 * time.Second); ; {
		cur, err := w.eng.Get(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.State == engine.StateRunning {
			if _, err := netGet(url, 2*time.Second); err == nil {
				return cur, probe.Client{URL: url}
			}
		} else if cur.State != engine.StateBooting {
			t.Fatalf("probe %s is %s before answering HTTP: %s", info.ID, cur.Display(), cur.Reason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe %s did not answer %s in time", info.ID, url)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// egressTo is a rule for proto to one address and, for tcp and udp, one port.
func egressTo(proto network.Protocol, a netip.Addr, port uint16) network.EgressRule {
	r := network.EgressRule{Protocol: proto, Destinations: []network.AddrRange{{First: a, Last: a}}}
	if port != 0 {
		r.Ports = []network.PortRange{{First: port, Last: port}}
	}
	return r
}

// egressDial has the probe try once; pass says whether the test expects it to get through
// (and waits longer for it).
func egressDial(t *testing.T, c probe.Client, network string, ap netip.AddrPort, pass bool) probe.DialResult {
	t.Helper()
	timeout := time.Second
	if pass {
		timeout = 5 * time.Second
	}
	res, err := c.Dial(context.Background(), network, ap, timeout, 1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// egressDropped reports whether an attempt failed because nothing answered (dropped), as
// opposed to being refused or reset by a host that was reached.
func egressDropped(r probe.DialResult) bool {
	return !r.OK && strings.Contains(r.Error, "timeout")
}

// egressObjects lists the chains and sets of the world's table that belong to the egress of
// tap, and the dispatch map's elements jumping to it.
func (w *egressWorld) egressObjects(t *testing.T, tap string) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := &nftables.Table{Name: w.cfg.Table, Family: nftables.TableFamilyIPv4}
	var out []string
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if ch.Table.Name == tb.Name && strings.HasPrefix(ch.Name, "eg-"+tap) {
			out = append(out, "chain "+ch.Name)
		}
	}
	sets, err := c.GetSets(tb)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if strings.HasPrefix(s.Name, "eg-"+tap) {
			out = append(out, "set "+s.Name)
		}
	}
	elems, err := c.GetSetElements(&nftables.Set{Table: tb, Name: "egress", IsMap: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		if strings.Contains(string(e.Val), "eg-"+tap) {
			out = append(out, "dispatch "+net.IP(e.Key).String())
		}
	}
	return out
}

// egressTap opens an attachment's tap as QEMU would, non-blocking, so reads honour a
// deadline: the test plays a root guest on it.
func egressTap(t *testing.T, name string) *os.File {
	t.Helper()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("open /dev/net/tun: %v", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		t.Fatal(err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		_ = unix.Close(fd)
		t.Fatalf("TUNSETIFF %s: %v", name, err)
	}
	f := os.NewFile(uintptr(fd), "tap "+name)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// egressICMP sends, as the root guest on tap (attachment a), ICMP of type typ (echo 8,
// timestamp 13) to dst until dst answers (echo reply 0, timestamp reply 14) or a second
// and a half passed, and reports whether it answered.
func egressICMP(t *testing.T, tap *os.File, a network.Attachment, dst netip.Addr, typ byte) bool {
	t.Helper()
	src, gwMAC := a.GuestIP.Addr(), netMAC(t, network.MACFor(a.Gateway))
	body := []byte{typ, 0, 0, 0, 0x75, 0x6b, 0, 1}
	if typ == 13 {
		body = append(body, make([]byte, 12)...)
	}
	binary.BigEndian.PutUint16(body[2:], egressChecksum(body))
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, unix.IPPROTO_ICMP, 0, 0}
	ip = append(append(ip, src.AsSlice()...), dst.AsSlice()...)
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(body)))
	binary.BigEndian.PutUint16(ip[10:], egressChecksum(ip))
	frame := append(append(append([]byte{}, gwMAC...), netMAC(t, a.MAC)...), 0x08, 0x00)
	frame = append(append(frame, ip...), body...)
	want := map[byte]byte{8: 0, 13: 14}[typ]
	buf := make([]byte, 2048)
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
		if _, err := tap.Write(frame); err != nil {
			t.Fatalf("write to the tap: %v", err)
		}
		_ = tap.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			n, err := tap.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatalf("read the tap: %v", err)
			}
			f := buf[:n]
			if len(f) < 14+20+8 || f[12] != 0x08 || f[13] != 0x00 || f[14+9] != unix.IPPROTO_ICMP {
				continue
			}
			ihl := int(f[14]&0x0f) * 4
			from, _ := netip.AddrFromSlice(f[14+12 : 14+16])
			if from == dst && len(f) >= 14+ihl+8 && f[14+ihl] == want && f[14+ihl+4] == 0x75 {
				return true
			}
		}
	}
	return false
}

func egressChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// egressNeighbour makes the host's neighbour entry for a permanent, so that the root guest
// on its tap need not answer ARP to get its replies.
func (w *egressWorld) egressNeighbour(t *testing.T, a network.Attachment) {
	t.Helper()
	br, err := netlink.LinkByName(w.cfg.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	mac := netMAC(t, a.MAC)
	if err := netlink.NeighSet(&netlink.Neigh{LinkIndex: br.Attrs().Index, Family: netlink.FAMILY_V4,
		State: netlink.NUD_PERMANENT, IP: a.GuestIP.Addr().AsSlice(), HardwareAddr: mac}); err != nil {
		t.Fatalf("neighbour entry for %v: %v", a.GuestIP.Addr(), err)
	}
}
