package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Root integration tests use their own bridge, table, subnet, port range
// (from a port the kernel says is free) and StateDir, so that they never disturb a real unik network on the host.
var testSubnet = netip.MustParsePrefix("10.213.250.0/24")

const (
	testBridgePrefix = "ukt"
	testTablePrefix  = "unikt"
	skipRootEnv      = "UNIK_NETWORK_TESTS"
	// testIDPrefix starts every attachment id of the root tests, so that
	// their taps (ukzt...) are recognisable as stale after a killed run.
	testIDPrefix = "zt"
)

// requireRoot fails the test when it cannot run, unless skipping was asked
// for explicitly: CI runs as root, so a silent skip would hide a gap.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			t.Fatalf("root integration test needs /dev/net/tun: %v", err)
		}
		return
	}
	if os.Getenv(skipRootEnv) == "skip-root" {
		t.Skipf("not root; skipped because %s=skip-root", skipRootEnv)
	}
	t.Fatalf("this integration test needs root (euid 0) to create bridges, taps and nftables rules; "+
		"run `sudo go test ./src/network/`, or set %s=skip-root to skip the root tests", skipRootEnv)
}

// rootNetwork gives a bridge-mode Network on a fresh test bridge and table;
// cleanup detaches what is left and tears the bridge and table down.
func rootNetwork(t *testing.T) *Network {
	t.Helper()
	requireRoot(t)
	lockRootTests(t)
	removeStaleTestObjects(t)
	suffix := randomHex(t, 3)
	n, err := New(Config{
		Mode:      ModeBridge,
		StateDir:  t.TempDir(),
		RunDir:    t.TempDir(),
		Bridge:    testBridgePrefix + suffix,
		Table:     testTablePrefix + suffix,
		Subnet:    testSubnet,
		PortRange: freeRange(t, 100),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := n.Attachments()
		if err != nil {
			t.Error(err)
		}
		for _, a := range list {
			if err := n.Detach(ctx, a.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if _, err := n.RemoveLeftovers(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := n.Teardown(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return n
}

// lockRootTests serialises root tests across processes (two `go test` runs
// at once would both route the test subnet).
func lockRootTests(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "unik-network-roottests.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
}

// removeStaleTestObjects deletes test bridges and tables left by a test
// binary that was killed before its cleanup ran. The lock is held, so no
// running test owns them.
func removeStaleTestObjects(t *testing.T) {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		name := l.Attrs().Name
		stale := l.Type() == "bridge" && strings.HasPrefix(name, testBridgePrefix) ||
			l.Type() == "tuntap" && strings.HasPrefix(name, tapPrefix+testIDPrefix) ||
			l.Type() == "veth" && strings.HasPrefix(name, "ukv")
		if stale {
			t.Logf("removing stale test link %s", name)
			if err := netlink.LinkDel(l); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if strings.HasPrefix(tb.Name, testTablePrefix) {
			t.Logf("removing stale test table %s", tb.Name)
			c.DelTable(tb)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// inNetns runs f on an OS thread switched into ns, and switches back. If
// switching back fails the thread stays locked and dies with its goroutine.
func inNetns(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// newNetns creates an anonymous network namespace, gone once its handle is
// closed and the sockets in it are.
func newNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if ns, err = netns.New(); err != nil {
			errc <- err
			return
		}
		if err := netns.Set(orig); err != nil {
			errc <- err
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() { _ = ns.Close() })
	return ns
}

// fakeGuest stands in for a VM: a veth pair whose host end is plugged into
// the bridge like a tap and whose other end, in its own namespace, has the
// attachment's MAC and address. It returns the host end's name and the
// namespace.
func fakeGuestLink(t *testing.T) (hostEnd, peer string) {
	t.Helper()
	suffix := randomHex(t, 3)
	hostEnd, peer = "ukv"+suffix, "ukp"+suffix
	la := netlink.NewLinkAttrs()
	la.Name = hostEnd
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: peer}); err != nil {
		t.Fatalf("create veth: %v", err)
	}
	t.Cleanup(func() {
		if err := deleteLink(hostEnd); err != nil {
			t.Error(err)
		}
	})
	return hostEnd, peer
}

// configureGuest moves peer into ns and gives it a's MAC, address and
// default route.
func configureGuest(t *testing.T, ns netns.NsHandle, peer string, a Attachment) {
	t.Helper()
	link, err := netlink.LinkByName(peer)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetNsFd(link, int(ns)); err != nil {
		t.Fatalf("move %s to netns: %v", peer, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if link, err = h.LinkByName(peer); err != nil {
		t.Fatal(err)
	}
	mac, err := net.ParseMAC(a.MAC)
	if err != nil {
		t.Fatal(err)
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		h.LinkSetHardwareAddr(link, mac),
		h.AddrAdd(link, &netlink.Addr{IPNet: prefixToIPNet(a.GuestIP)}),
		h.LinkSetUp(link),
		h.LinkSetUp(lo),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatalf("configure guest: %v", err)
	}
	gw := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: a.Gateway.AsSlice()}
	if err := h.RouteAdd(gw); err != nil {
		t.Fatalf("guest default route: %v", err)
	}
}

func tunFlags(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/class/net", name, "tun_flags"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
