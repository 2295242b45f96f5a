package outside

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
)

// Banner is what the TCP servers write, and the UDP servers answer, naming the address and
// port that was reached: "outside 10.213.240.2:40000\n".
func Banner(ap netip.AddrPort) string { return "outside " + ap.String() + "\n" }

// ServeTCP listens on every address of the namespace on one port (a free one if port is 0)
// and writes Banner to each connection, then closes it. It returns the port.
func (w *World) ServeTCP(port uint16) (uint16, error) {
	for _, a := range w.Addrs {
		var l net.Listener
		err := w.Do(func() (err error) {
			l, err = net.Listen("tcp4", netip.AddrPortFrom(a, port).String())
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("outside: listen tcp on %v: %w", a, err)
		}
		ap := netip.MustParseAddrPort(l.Addr().String())
		port = ap.Port()
		w.closers = append(w.closers, l.Close)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte(Banner(ap)))
				_ = c.Close()
			}
		}()
	}
	return port, nil
}

// ServeUDP answers each datagram sent to any address of the namespace on one port (a free
// one if port is 0) with Banner. It returns the port.
func (w *World) ServeUDP(port uint16) (uint16, error) {
	for _, a := range w.Addrs {
		var c net.PacketConn
		err := w.Do(func() (err error) {
			c, err = net.ListenPacket("udp4", netip.AddrPortFrom(a, port).String())
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("outside: listen udp on %v: %w", a, err)
		}
		ap := netip.MustParseAddrPort(c.LocalAddr().String())
		port = ap.Port()
		w.closers = append(w.closers, c.Close)
		go func() {
			buf := make([]byte, 2048)
			for {
				_, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = c.WriteTo([]byte(Banner(ap)), from)
			}
		}()
	}
	return port, nil
}

// ServeDNS answers DNS queries for names (A records; AAAA gets an empty answer, other names
// NXDOMAIN) over UDP and TCP on the namespace's first address, on a free port, and returns
// that address and port. Queries counts the queries answered.
func (w *World) ServeDNS(names map[string]netip.Addr) (netip.AddrPort, *Queries, error) {
	a := w.Addrs[0]
	var (
		pc net.PacketConn
		l  net.Listener
	)
	err := w.Do(func() (err error) {
		if pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(a, 0).String()); err != nil {
			return err
		}
		port := netip.MustParseAddrPort(pc.LocalAddr().String()).Port()
		l, err = net.Listen("tcp4", net.JoinHostPort(a.String(), strconv.Itoa(int(port))))
		return err
	})
	if err != nil {
		if pc != nil {
			_ = pc.Close()
		}
		return netip.AddrPort{}, nil, fmt.Errorf("outside: dns server: %w", err)
	}
	w.closers = append(w.closers, pc.Close, l.Close)
	q := &Queries{}
	go serveDNSUDP(pc, names, q)
	go serveDNSTCP(l, names, q)
	return netip.MustParseAddrPort(pc.LocalAddr().String()), q, nil
}

// Queries counts the queries a DNS server answered, by transport.
type Queries struct {
	mu       sync.Mutex
	UDP, TCP int
}

// Count is the number of queries answered over UDP and over TCP.
func (q *Queries) Count() (udp, tcp int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.UDP, q.TCP
}

func serveDNSUDP(c net.PacketConn, names map[string]netip.Addr, q *Queries) {
	buf := make([]byte, 4096)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		resp, err := Answer(buf[:n], names)
		if err != nil {
			continue
		}
		q.mu.Lock()
		q.UDP++
		q.mu.Unlock()
		_, _ = c.WriteTo(resp, from)
	}
}

func serveDNSTCP(l net.Listener, names map[string]netip.Addr, q *Queries) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			for {
				var hdr [2]byte
				if _, err := readFull(c, hdr[:]); err != nil {
					return
				}
				msg := make([]byte, int(hdr[0])<<8|int(hdr[1]))
				if _, err := readFull(c, msg); err != nil {
					return
				}
				resp, err := Answer(msg, names)
				if err != nil {
					return
				}
				q.mu.Lock()
				q.TCP++
				q.mu.Unlock()
				out := append([]byte{byte(len(resp) >> 8), byte(len(resp))}, resp...)
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Answer builds the response to a DNS query of one question: A records from names (keys are
// lower-case names with the trailing dot), an empty answer for AAAA of a known name,
// NXDOMAIN for others.
func Answer(query []byte, names map[string]netip.Addr) ([]byte, error) {
	if len(query) < 12 || query[2]&0x80 != 0 || query[4] != 0 || query[5] != 1 {
		return nil, errors.New("not a query of one question")
	}
	name, end, err := readName(query, 12)
	if err != nil {
		return nil, err
	}
	if end+4 > len(query) {
		return nil, errors.New("question cut short")
	}
	qtype := int(query[end])<<8 | int(query[end+1])
	question := query[12 : end+4]
	addr, known := names[name]
	resp := []byte{query[0], query[1], 0x80 | query[2]&0x01, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}
	if !known {
		resp[3] |= 3 // NXDOMAIN
	}
	resp = append(resp, question...)
	if known && qtype == 1 {
		resp[7] = 1
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, addr.AsSlice()...)
	}
	return resp, nil
}

// readName reads an uncompressed name at off: "example.com." and the offset after it.
func readName(msg []byte, off int) (string, int, error) {
	name := ""
	for {
		if off >= len(msg) {
			return "", 0, errors.New("name cut short")
		}
		n := int(msg[off])
		off++
		if n == 0 {
			break
		}
		if n > 63 || off+n > len(msg) {
			return "", 0, errors.New("bad label")
		}
		for _, b := range msg[off : off+n] {
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			name += string(rune(b))
		}
		name += "."
		off += n
	}
	if name == "" {
		name = "."
	}
	return name, off, nil
}
