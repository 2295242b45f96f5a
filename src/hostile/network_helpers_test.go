package hostile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/image"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/internal/repotest"
	"github.com/unik-cf/unik/src/kernel"
	"github.com/unik-cf/unik/src/network"
)

// netRequireVMs fails (never skips: CI runs as root with everything built) unless this host can
// boot real microVMs in bridge mode.
func netRequireVMs(t *testing.T) (repo string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the hostile network cases need root (bridge, taps, nftables): run `sudo go test ./src/hostile/`")
	}
	repo = repotest.MustRoot(t)
	for _, p := range []string{"bin/unik-init", "examples/hello-go/hello-go"} {
		if _, err := os.Stat(filepath.Join(repo, p)); err != nil {
			t.Fatalf("%s is missing: run scripts/setup first (%v)", p, err)
		}
	}
	if _, err := kernel.Find(kernel.DefaultCacheDir(), ""); err != nil {
		t.Fatalf("no guest kernel: run scripts/setup first (%v)", err)
	}
	return repo
}

func netRandomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// netLockHost serialises the hostile network cases across test processes: they pick a free
// subnet by looking at the host, which two processes must not do at once.
func netLockHost(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "unik-hostile-net.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
}

// netFreeSubnet is a /24 of 10.213.200.0-10.213.239.0 that no address on this host falls in
// (other test suites use 10.213.0-199 and 250).
func netFreeSubnet(t *testing.T) netip.Prefix {
	t.Helper()
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for third := 200; third < 240; third++ {
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
	t.Fatal("no free /24 in 10.213.200.0-10.213.239.0")
	return netip.Prefix{}
}

// netFreeRange is a range of 100 host ports starting at one the kernel says is free; the
// allocator probes and skips the ports of it that someone holds.
func netFreeRange(t *testing.T) [2]uint16 {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lo := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	lo = min(lo, 65535-99)
	return [2]uint16{uint16(lo), uint16(lo + 99)}
}

// netWorld is a private bridge-mode unik host: its own bridge, tables, subnet, port range and
// state, an engine on it and the hello-go image.
type netWorld struct {
	cfg   network.Config
	net   *network.Network
	eng   *engine.Engine
	image imagestore.Image
}

func netNewWorld(t *testing.T) *netWorld {
	t.Helper()
	repo := netRequireVMs(t)
	netLockHost(t)
	suffix := netRandomHex(t, 3)
	state := t.TempDir()
	cfg := network.Config{Mode: network.ModeBridge, StateDir: filepath.Join(state, "network"),
		Bridge: "ukh" + suffix, Table: "unikh" + suffix, Subnet: netFreeSubnet(t), PortRange: netFreeRange(t)}
	n, err := network.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &netWorld{cfg: n.Config(), net: n}
	t.Cleanup(func() { w.teardown(t) })
	initPath := filepath.Join(repo, "bin", "unik-init")
	w.eng, err = engine.New(engine.Config{StateDir: filepath.Join(state, "engine"), CacheDir: kernel.DefaultCacheDir(),
		InitPath: initPath}, qemu.Driver{}, n)
	if err != nil {
		t.Fatal(err)
	}
	store := imagestore.Store{Dir: filepath.Join(state, "images")}
	tmp, err := store.TempFile()
	if err != nil {
		t.Fatal(err)
	}
	res, err := image.Build(context.Background(), image.BuildOptions{AppDir: filepath.Join(repo, "examples", "hello-go"), InitPath: initPath}, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("build hello-go: %v", err)
	}
	if w.image, err = store.Put("hello", tmp.Name(), res); err != nil {
		t.Fatal(err)
	}
	return w
}

// teardown removes every instance, the network's objects and its host-wide store.
func (w *netWorld) teardown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if w.eng != nil {
		list, _ := w.eng.List()
		for _, i := range list {
			if err := w.eng.Remove(ctx, i.ID, true); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	}
	atts, _ := w.net.Attachments()
	for _, a := range atts {
		if err := w.net.Detach(ctx, a.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if _, err := w.net.RemoveLeftovers(ctx); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := w.net.Teardown(ctx); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(w.cfg.RunDir, w.cfg.Bridge)); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// boot runs hello-go and waits until it answers HTTP through its host port.
func (w *netWorld) boot(t *testing.T) engine.Info {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, err := w.eng.Run(ctx, engine.RunSpec{Image: w.image, Env: []string{"PORT=8080"},
		Ports: []network.PortRequest{{GuestPort: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	url := netHostURL(info)
	deadline := time.Now().Add(90 * time.Second)
	for {
		cur, err := w.eng.Get(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.State == engine.StateRunning {
			if _, err := netGet(url, 2*time.Second); err == nil {
				return cur
			}
		} else if cur.State != engine.StateBooting {
			t.Fatalf("instance %s is %s before answering HTTP: %s", info.ID, cur.Display(), cur.Reason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s did not answer %s in time", info.ID, url)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func netHostURL(i engine.Info) string {
	p := i.Network.Ports[0]
	return fmt.Sprintf("http://%s/", netip.AddrPortFrom(p.HostIP, p.HostPort))
}

func netGuestURL(i engine.Info) string {
	return fmt.Sprintf("http://%s/", netip.AddrPortFrom(i.Network.GuestIP.Addr(), 8080))
}

// netGet fetches url on a fresh connection and wants hello-go's greeting.
func netGet(url string, timeout time.Duration) (string, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 || !strings.Contains(string(b), "hello from unik") {
		return string(b), fmt.Errorf("GET %s: %d %q", url, resp.StatusCode, b)
	}
	return string(b), nil
}

// netOpenTap attaches to a tap as QEMU would (TUNSETIFF, IFF_TAP|IFF_NO_PI): whatever the test
// writes to it is what a root guest's kernel can put on the wire.
func netOpenTap(t *testing.T, name string) *os.File {
	t.Helper()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
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

// netNeighbour is the host's neighbour (ARP) entry for ip on link, or nil.
func netNeighbour(t *testing.T, link string, ip netip.Addr) net.HardwareAddr {
	t.Helper()
	l, err := netlink.LinkByName(link)
	if err != nil {
		t.Fatal(err)
	}
	neighs, err := netlink.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP.To4()); ok && a == ip {
			return n.HardwareAddr
		}
	}
	return nil
}

// netFDBPort is the name of the bridge port the bridge has learned mac on ("" if none).
func netFDBPort(t *testing.T, bridge string, mac net.HardwareAddr) string {
	t.Helper()
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		t.Fatal(err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]string{}
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			ports[l.Attrs().Index] = l.Attrs().Name
		}
	}
	fdb, err := netlink.NeighList(0, unix.AF_BRIDGE)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fdb {
		if name, ok := ports[e.LinkIndex]; ok && e.HardwareAddr.String() == mac.String() && e.Flags&netlink.NTF_SELF == 0 {
			return name
		}
	}
	return ""
}

// netCapture reads the frames that reach the host through the bridge (not those the host
// sends), as `tcpdump -i BRIDGE -Q in` would.
type netCapture struct{ fd int }

func netCaptureOn(t *testing.T, link string) *netCapture {
	t.Helper()
	l, err := netlink.LinkByName(link)
	if err != nil {
		t.Fatal(err)
	}
	proto := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: l.Attrs().Index}); err != nil {
		t.Fatalf("bind packet socket to %s: %v", link, err)
	}
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return &netCapture{fd: fd}
}

// until reads frames until one holds stop or the deadline passes, and returns which of markers
// (stop included) the frames held.
func (c *netCapture) until(t *testing.T, stop string, markers []string, timeout time.Duration) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(timeout)
	for !seen[stop] && time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(c.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("capture: %v", err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		for _, m := range append(markers, stop) {
			if strings.Contains(string(buf[:n]), m) {
				seen[m] = true
			}
		}
	}
	return seen
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
