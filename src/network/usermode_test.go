package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func netListenLoopback() (net.Listener, error) { return net.Listen("tcp4", "127.0.0.1:0") }

func userNetwork(t *testing.T, stateDir string) *Network {
	t.Helper()
	n, err := New(Config{Mode: ModeUser, StateDir: stateDir, PortRange: freeRange(t, 100)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// User mode needs no root: Attach only leases host ports.
func TestUserModeAttachDetach(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n := userNetwork(t, dir)
	a, err := n.Attach(ctx, "web-1", []PortRequest{{GuestPort: 8080}, {GuestPort: 2222}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != ModeUser || a.Tap != "" || a.GuestIP.String() != "10.0.2.15/24" ||
		a.Gateway.String() != "10.0.2.2" || fmt.Sprint(a.DNS) != "[10.0.2.3]" || a.MAC != "52:54:0a:00:02:0f" {
		t.Errorf("attachment: %+v", a)
	}
	if len(a.Ports) != 2 || a.Ports[0].GuestPort != 8080 || a.Ports[1].GuestPort != 2222 ||
		a.Ports[0].HostPort == a.Ports[1].HostPort || a.Ports[0].HostIP.String() != "127.0.0.1" {
		t.Errorf("ports: %+v", a.Ports)
	}
	if _, err := n.Attach(ctx, "web-1", nil); !errors.Is(err, ErrExists) {
		t.Errorf("second Attach of web-1: %v, want ErrExists", err)
	}

	// Another instance, as another process would, sees the leases.
	other, err := New(n.Config())
	if err != nil {
		t.Fatal(err)
	}
	list, err := other.Attachments()
	if err != nil || len(list) != 1 || list[0].ID != "web-1" {
		t.Fatalf("Attachments from another instance: %+v, %v", list, err)
	}
	b, err := other.Attach(ctx, "web-2", []PortRequest{{GuestPort: 8080}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range a.Ports {
		if p.HostPort == b.Ports[0].HostPort {
			t.Errorf("web-2 got port %d of web-1", p.HostPort)
		}
	}
	_, err = other.Attach(ctx, "web-3", []PortRequest{{HostPort: a.Ports[0].HostPort, GuestPort: 80}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), fmt.Sprintf("host port %d is already in use", a.Ports[0].HostPort)) {
		t.Errorf("Attach on a leased port: %v", err)
	}

	for _, id := range []string{"web-1", "web-2", "web-1", "never-attached"} {
		if err := n.Detach(ctx, id); err != nil {
			t.Errorf("Detach %s: %v", id, err)
		}
	}
	assertStateEmpty(t, n)
}

// A failed Attach rolls back the leases it had already taken.
func TestUserModeFailedAttachLeavesNothing(t *testing.T) {
	ctx := context.Background()
	l, err := netListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := netip.MustParseAddrPort(l.Addr().String()).Port()
	n := userNetwork(t, t.TempDir())
	// The free port is leased before the busy one is refused: rollback frees it.
	_, err = n.Attach(ctx, "vm", []PortRequest{{GuestPort: 1}, {HostPort: freePort(t), GuestPort: 2}, {HostPort: busy, GuestPort: 3}})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Attach with a busy port: %v", err)
	}
	if want := fmt.Sprintf("attach vm: host port %d is already in use", busy); err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	assertStateEmpty(t, n)
}

func TestAttachRejectsBadInput(t *testing.T) {
	n := userNetwork(t, t.TempDir())
	ctx := context.Background()
	if _, err := n.Attach(ctx, "../x", nil); err == nil {
		t.Error("Attach accepted id ../x")
	}
	if _, err := n.Attach(ctx, "vm", []PortRequest{{HostPort: 80}}); err == nil {
		t.Error("Attach accepted GuestPort 0")
	}
	if err := n.Detach(ctx, "a/b"); err == nil {
		t.Error("Detach accepted id a/b")
	}
}

func TestLeftoverLeases(t *testing.T) {
	ctx := context.Background()
	n := userNetwork(t, t.TempDir())
	if _, err := n.Attach(ctx, "kept", []PortRequest{{GuestPort: 80}}); err != nil {
		t.Fatal(err)
	}
	// A crash between leasing and writing the record leaves this.
	crashed := portLeaseName(n.cfg.PortRange[1])
	if ok, err := n.dir.createLease(crashed, "crashed"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	l, err := n.Leftovers(ctx)
	if err != nil || fmt.Sprint(l.Leases) != "["+crashed+"]" || len(l.Taps)+len(l.Rules) != 0 {
		t.Fatalf("Leftovers: %+v, %v", l, err)
	}
	if _, err := n.RemoveLeftovers(ctx); err != nil {
		t.Fatal(err)
	}
	if l, err := n.Leftovers(ctx); err != nil || !l.Empty() {
		t.Errorf("Leftovers after RemoveLeftovers: %+v, %v", l, err)
	}
	if list, _ := n.Attachments(); len(list) != 1 {
		t.Errorf("RemoveLeftovers touched a recorded attachment: %+v", list)
	}
}

// assertStateEmpty checks that StateDir records nothing and holds no lease.
func assertStateEmpty(t *testing.T, n *Network) {
	t.Helper()
	if list, err := n.Attachments(); err != nil || len(list) != 0 {
		t.Errorf("attachments left: %+v, %v", list, err)
	}
	for _, d := range []string{n.dir.leasesDir(), n.dir.attachmentsDir()} {
		entries, err := os.ReadDir(d)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Error(err)
		}
		for _, e := range entries {
			t.Errorf("left in %s: %s", d, e.Name())
		}
	}
}
