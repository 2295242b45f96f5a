package dnsfwd

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unik-cf/unik/src/devenv/outside"
)

var names = map[string]netip.Addr{"app.unik.internal.": netip.MustParseAddr("10.9.8.7")}

// query builds a DNS query of one question.
func query(id uint16, name string, qtype uint16) []byte {
	q := binary.BigEndian.AppendUint16(nil, id)
	q = append(q, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // RD, one question
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(append(q, byte(len(l))), l...)
	}
	q = append(q, 0)
	q = binary.BigEndian.AppendUint16(q, qtype)
	return binary.BigEndian.AppendUint16(q, 1)
}

// upstream answers names on 127.0.0.1 (UDP and TCP, one port), or never answers if mute.
func upstream(t *testing.T, mute bool) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	ap := netip.MustParseAddrPort(pc.LocalAddr().String())
	l, err := net.Listen("tcp4", ap.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, err := outside.Answer(buf[:n], names); err == nil && !mute {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					q, err := readTCPMsg(c)
					if err != nil {
						return
					}
					resp, err := outside.Answer(q, names)
					if err != nil || mute {
						continue
					}
					if err := writeTCPMsg(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ap
}

func startForwarder(t *testing.T, c Config) *Forwarder {
	t.Helper()
	if !c.Listen.IsValid() {
		c.Listen = netip.MustParseAddrPort("127.0.0.1:0")
	}
	if c.Timeout == 0 {
		c.Timeout = 300 * time.Millisecond
	}
	f, err := New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return f
}

func askUDP(t *testing.T, f *Forwarder, q []byte, wait time.Duration) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("udp4", f.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	return buf[:n], err
}

func askTCP(t *testing.T, f *Forwarder, qs ...[]byte) [][]byte {
	t.Helper()
	c, err := net.DialTimeout("tcp4", f.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var out [][]byte
	for _, q := range qs {
		if err := writeTCPMsg(c, q); err != nil {
			t.Fatal(err)
		}
		resp, err := readTCPMsg(c)
		if err != nil {
			t.Fatalf("tcp answer: %v", err)
		}
		out = append(out, resp)
	}
	return out
}

// wantA checks resp answers q with the A record of names.
func wantA(t *testing.T, q, resp []byte) {
	t.Helper()
	want, err := outside.Answer(q, names)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("answer % x, want % x (relayed unchanged)", resp, want)
	}
}

// The first resolver never answers: the forwarder moves on to the second within Timeout,
// over UDP and over TCP (two queries on one connection), and the id travels back.
func TestRelaysToTheFirstResolverThatAnswers(t *testing.T) {
	f := startForwarder(t, Config{Upstreams: []netip.AddrPort{upstream(t, true), upstream(t, false)}})
	q := query(0xbeef, "app.unik.internal.", 1)
	resp, err := askUDP(t, f, q, 3*time.Second)
	if err != nil {
		t.Fatalf("udp: %v", err)
	}
	wantA(t, q, resp)
	q2 := query(0x1234, "App.Unik.Internal.", 1)
	got := askTCP(t, f, q, q2)
	wantA(t, q, got[0])
	wantA(t, q2, got[1])
}

// No resolver answers: the client gets SERVFAIL with its question, not silence.
func TestServfailWhenNoResolverAnswers(t *testing.T) {
	f := startForwarder(t, Config{Upstreams: []netip.AddrPort{upstream(t, true)}})
	q := query(7, "app.unik.internal.", 28)
	resp, err := askUDP(t, f, q, 3*time.Second)
	if err != nil {
		t.Fatalf("udp: %v", err)
	}
	if len(resp) != len(q) || resp[0] != 0 || resp[1] != 7 || resp[2] != 0x81 || resp[3] != 0x82 || !reflect.DeepEqual(resp[12:], q[12:]) {
		t.Errorf("SERVFAIL % x for query % x", resp, q)
	}
	if servfail([]byte{1, 2, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1}) != nil {
		t.Error("a response was given a SERVFAIL")
	}
	if servfail(q[:len(q)-2]) != nil {
		t.Error("a query cut short was given a SERVFAIL")
	}
}

// A client outside Allow gets nothing.
func TestOnlyAllowedClients(t *testing.T) {
	f := startForwarder(t, Config{Upstreams: []netip.AddrPort{upstream(t, false)},
		Allow: []netip.Prefix{netip.MustParsePrefix("10.213.0.0/24")}})
	if resp, err := askUDP(t, f, query(1, "app.unik.internal.", 1), 500*time.Millisecond); err == nil {
		t.Errorf("a client outside Allow got % x", resp)
	}
	open := startForwarder(t, Config{Upstreams: []netip.AddrPort{upstream(t, false)},
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if _, err := askUDP(t, open, query(1, "app.unik.internal.", 1), 3*time.Second); err != nil {
		t.Errorf("a client inside Allow: %v", err)
	}
}

// The gateway's address need not exist yet when the forwarder binds it.
func TestBindsAnAddressTheHostDoesNotHaveYet(t *testing.T) {
	ap := netip.MustParseAddrPort("10.213.252.1:0")
	f, err := New(context.Background(), Config{Listen: ap, Upstreams: []netip.AddrPort{upstream(t, false)}})
	if err != nil {
		t.Fatalf("bind %v: %v", ap, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Serve(ctx); err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if f.Addr().Addr() != ap.Addr() || f.Addr().Port() == 0 {
		t.Errorf("Addr() = %v", f.Addr())
	}
}

func TestUpstreamsFromResolvConf(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "resolv.conf")
	content := "# bosh\nsearch example.com\nnameserver 169.254.0.2\nnameserver bogus\noptions ndots:1\nnameserver fd00::53\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Upstreams(p)
	want := []netip.AddrPort{netip.MustParseAddrPort("169.254.0.2:53"), netip.MustParseAddrPort("[fd00::53]:53")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Upstreams = %v, %v; want %v", got, err, want)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("search x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Upstreams(empty); err == nil {
		t.Error("a resolv.conf without nameserver gave upstreams")
	}
	listen := netip.MustParseAddrPort("127.0.0.1:0")
	if _, err := New(context.Background(), Config{Listen: listen, ResolvConf: empty}); err == nil {
		t.Error("New without upstreams succeeded")
	}
	for name, c := range map[string]Config{
		"no listen": {},
		"self":      {Listen: netip.MustParseAddrPort("10.0.0.1:53"), Upstreams: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:53")}},
		"port 0":    {Listen: listen, Upstreams: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:0")}},
		"timeout":   {Listen: listen, Timeout: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}
