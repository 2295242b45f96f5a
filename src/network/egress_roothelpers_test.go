package network

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/unik-cf/unik/src/devenv/outside"
)

// egressOutsidePrefix is where the root tests' world beyond the bridge lives: a namespace of
// the test's own, routed from the host (the bridge is testSubnet).
var egressOutsidePrefix = netip.MustParsePrefix("10.213.251.0/24")

// egressOutside makes the outside namespace with two addresses (.2 and .3), a TCP banner
// server on two ports and a UDP one on two ports of each.
func egressOutside(t *testing.T) (w *outside.World, tcp, udp [2]uint16) {
	t.Helper()
	w, err := outside.New(egressOutsidePrefix, "ukvw"+randomHex(t, 3), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	for i := range 2 {
		if tcp[i], err = w.ServeTCP(0); err != nil {
			t.Fatal(err)
		}
		if udp[i], err = w.ServeUDP(0); err != nil {
			t.Fatal(err)
		}
	}
	return w, tcp, udp
}

// egressGuest attaches a fake guest (a veth whose other end is in a namespace) with rules.
func egressGuest(t *testing.T, n *Network, id string, rules []EgressRule) (Attachment, netns.NsHandle) {
	t.Helper()
	ns := newNetns(t)
	hostEnd, peer := fakeGuestLink(t)
	a, err := n.attach(t.Context(), id, nil, rules, hostEnd)
	if err != nil {
		t.Fatal(err)
	}
	configureGuest(t, ns, peer, a)
	return a, ns
}

// Probes expected to get through wait long enough for one retransmission: a fake guest's
// first ARP for its gateway, sent as its veth comes up, is sometimes lost and retried a
// second later. Probes expected to be dropped wait less, after one that got through.
const (
	egressPass = 3 * time.Second
	egressDrop = time.Second
)

// egressTCP connects from the namespace and returns what the server wrote.
func egressTCP(ns netns.NsHandle, ap netip.AddrPort, timeout time.Duration) (string, error) {
	var got string
	err := inNetns(ns, func() error {
		c, err := net.DialTimeout("tcp4", ap.String(), timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(c)
		got = string(b)
		return err
	})
	return got, err
}

// egressUDP sends a datagram from the namespace and returns the answer.
func egressUDP(ns netns.NsHandle, ap netip.AddrPort, timeout time.Duration) (string, error) {
	var got string
	err := inNetns(ns, func() error {
		c, err := net.Dial("udp4", ap.String())
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		b := make([]byte, 512)
		n, err := c.Read(b)
		got = string(b[:n])
		return err
	})
	return got, err
}

// egressICMP sends an ICMP message of type typ (echo 8 or timestamp 13) from the namespace
// (a root guest) to dst and reports whether dst answered (echo reply 0, timestamp reply 14).
func egressICMP(t *testing.T, ns netns.NsHandle, dst netip.Addr, typ byte) bool {
	t.Helper()
	answered := false
	err := inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		msg := []byte{typ, 0, 0, 0, 0x75, 0x6b, 0, 1}
		if typ == 13 {
			msg = append(msg, make([]byte, 12)...)
		}
		sum := icmpChecksum(msg)
		msg[2], msg[3] = byte(sum>>8), byte(sum)
		if err := unix.Sendto(fd, msg, 0, &unix.SockaddrInet4{Addr: dst.As4()}); err != nil {
			return err
		}
		want := map[byte]byte{8: 0, 13: 14}[typ]
		buf := make([]byte, 1500)
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return err
			}
			sa, ok := from.(*unix.SockaddrInet4)
			ihl := int(buf[0]&0x0f) * 4
			if ok && netip.AddrFrom4(sa.Addr) == dst && n > ihl+5 && buf[ihl] == want && buf[ihl+4] == 0x75 {
				answered = true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("icmp from guest to %v: %v", dst, err)
	}
	return answered
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// egressKmsg reads the kernel log from now on (raw non-blocking reads: one record each).
type egressKmsg struct{ fd int }

func egressKernelLog(t *testing.T) *egressKmsg {
	t.Helper()
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open the kernel log: %v", err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	if _, err := unix.Seek(fd, 0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	return &egressKmsg{fd}
}

// lines returns the records written since the last call that contain substr.
func (k *egressKmsg) lines(t *testing.T, substr string) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(k.fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return out
		case errors.Is(err, unix.EPIPE): // records overwritten meanwhile: keep reading
			continue
		case err != nil:
			t.Fatalf("read the kernel log: %v", err)
		}
		if line := string(buf[:n]); strings.Contains(line, substr) {
			out = append(out, strings.TrimSpace(line))
		}
	}
}

// egressRouteVia routes dst through gw in the current thread's namespace.
func egressRouteVia(dst, gw netip.Addr) error {
	return netlink.RouteAdd(&netlink.Route{Dst: &net.IPNet{IP: dst.AsSlice(), Mask: net.CIDRMask(32, 32)}, Gw: gw.AsSlice()})
}
