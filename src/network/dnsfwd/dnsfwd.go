// Package dnsfwd is the DNS forwarder guests reach on their gateway: it listens on the
// bridge's address, UDP and TCP port 53, and relays each query as it is to the host's own
// resolvers (the nameservers of /etc/resolv.conf, or configured ones), and their answers
// back. It exists because a cell's resolvers are often out of a VM's reach: BOSH DNS listens
// on 169.254.0.2, a link-local address of the cell itself, and a resolver on loopback
// (127.0.0.53) is the host's alone; the forwarder is the one host service guests may open
// (package network's input chain accepts DNS to the gateway and nothing else new).
//
// It parses no more of a message than its 12-byte header: the id, to match answers to
// queries, and the question's end, to make a SERVFAIL when no resolver answers. Answers are
// relayed unchanged, truncation included (the guest retries over TCP). Queries are
// answered only from Config.Allow (the guests' subnet), so the forwarder is no open
// resolver for whoever can route to the gateway's address.
package dnsfwd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config of a forwarder. Listen is required; the zero value of every other field means
// the default.
type Config struct {
	// Listen is the gateway's address and port 53 (port 0 picks a free one, for tests).
	Listen netip.AddrPort
	// Upstreams are the resolvers asked, in order. Default: the nameservers of ResolvConf.
	Upstreams []netip.AddrPort
	// ResolvConf is read for Upstreams when none are given. Default /etc/resolv.conf.
	ResolvConf string
	// Allow are the client prefixes answered; a query from elsewhere is dropped. None:
	// every client.
	Allow []netip.Prefix
	// Timeout bounds one attempt at one upstream. Default 2s.
	Timeout time.Duration
	// MaxInFlight bounds the queries being relayed at once (and TCP clients); more are
	// dropped. Default 256.
	MaxInFlight int
}

// Defaults.
const (
	DefaultResolvConf  = "/etc/resolv.conf"
	DefaultTimeout     = 2 * time.Second
	DefaultMaxInFlight = 256
	tcpIdle            = 10 * time.Second
)

func (c Config) withDefaults() Config {
	if c.ResolvConf == "" {
		c.ResolvConf = DefaultResolvConf
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	c = c.withDefaults()
	if !c.Listen.Addr().IsValid() {
		return errors.New("dns forwarder Listen: required")
	}
	for _, u := range c.Upstreams {
		if !u.IsValid() || u.Port() == 0 {
			return fmt.Errorf("dns forwarder Upstreams: %v is not an address and port", u)
		}
		if u == c.Listen {
			return fmt.Errorf("dns forwarder Upstreams: %v is the forwarder itself", u)
		}
	}
	if c.Timeout < 0 || c.MaxInFlight < 0 {
		return fmt.Errorf("dns forwarder: Timeout %v and MaxInFlight %d must not be negative", c.Timeout, c.MaxInFlight)
	}
	return nil
}

// Forwarder relays DNS queries. New binds its sockets; Serve relays until its context ends.
type Forwarder struct {
	cfg      Config
	udp      *net.UDPConn
	tcp      *net.TCPListener
	inFlight chan struct{}
	wg       sync.WaitGroup
}

// New reads the upstreams (from ResolvConf if none are given) and binds UDP and TCP on
// Listen. The address need not exist yet (IP_FREEBIND): the bridge may come later.
func New(ctx context.Context, c Config) (*Forwarder, error) {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(c.Upstreams) == 0 {
		ups, err := Upstreams(c.ResolvConf)
		if err != nil {
			return nil, fmt.Errorf("dns forwarder: %w", err)
		}
		for _, u := range ups {
			if u != c.Listen {
				c.Upstreams = append(c.Upstreams, u)
			}
		}
		if len(c.Upstreams) == 0 {
			return nil, fmt.Errorf("dns forwarder: no upstream in %s but the forwarder itself", c.ResolvConf)
		}
	}
	lc := net.ListenConfig{Control: freebind}
	pc, err := lc.ListenPacket(ctx, "udp", c.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("dns forwarder: listen udp %v: %w", c.Listen, err)
	}
	udp := pc.(*net.UDPConn)
	addr := c.Listen
	if addr.Port() == 0 {
		addr = netip.AddrPortFrom(addr.Addr(), udp.LocalAddr().(*net.UDPAddr).AddrPort().Port())
	}
	l, err := lc.Listen(ctx, "tcp", addr.String())
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("dns forwarder: listen tcp %v: %w", addr, err)
	}
	c.Listen = addr
	return &Forwarder{cfg: c, udp: udp, tcp: l.(*net.TCPListener), inFlight: make(chan struct{}, c.MaxInFlight)}, nil
}

// freebind lets the forwarder bind the gateway's address before the bridge holds it.
func freebind(_, _ string, rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	}); err != nil {
		return err
	}
	return serr
}

// Addr is where the forwarder listens (UDP and TCP).
func (f *Forwarder) Addr() netip.AddrPort { return f.cfg.Listen }

// Upstreams are the resolvers it asks, in order.
func (f *Forwarder) Upstreams() []netip.AddrPort {
	return append([]netip.AddrPort(nil), f.cfg.Upstreams...)
}

// Serve relays queries until ctx ends, then closes the sockets and waits for the queries in
// flight. It returns nil when stopped by ctx.
func (f *Forwarder) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	f.wg.Add(2) // the loops count too, so that acquire never adds to a zero count
	go func() { defer f.wg.Done(); errc <- f.serveUDP(ctx) }()
	go func() { defer f.wg.Done(); errc <- f.serveTCP(ctx) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	_ = f.udp.Close()
	_ = f.tcp.Close()
	f.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("dns forwarder on %v: %w", f.cfg.Listen, err)
}

// allowed reports whether a client may ask.
func (f *Forwarder) allowed(from netip.Addr) bool {
	if len(f.cfg.Allow) == 0 {
		return true
	}
	from = from.Unmap()
	for _, p := range f.cfg.Allow {
		if p.Contains(from) {
			return true
		}
	}
	return false
}

// acquire takes an in-flight slot, or reports that none is free.
func (f *Forwarder) acquire() bool {
	select {
	case f.inFlight <- struct{}{}:
		f.wg.Add(1)
		return true
	default:
		return false
	}
}

func (f *Forwarder) release() {
	<-f.inFlight
	f.wg.Done()
}
