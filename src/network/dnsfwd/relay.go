package dnsfwd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

const (
	headerLen = 12
	maxMsg    = 65535
)

// serveUDP reads queries and relays each in its own goroutine.
func (f *Forwarder) serveUDP(ctx context.Context) error {
	buf := make([]byte, maxMsg)
	for {
		n, from, err := f.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read udp: %w", err)
		}
		if n < headerLen || !f.allowed(from.Addr()) || !f.acquire() {
			continue
		}
		query := append([]byte(nil), buf[:n]...)
		go func() {
			defer f.release()
			resp := f.relay(ctx, query, f.exchangeUDP)
			if resp != nil {
				_, _ = f.udp.WriteToUDPAddrPort(resp, from)
			}
		}()
	}
}

// serveTCP accepts clients; each sends length-prefixed queries on its connection.
func (f *Forwarder) serveTCP(ctx context.Context) error {
	for {
		c, err := f.tcp.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept tcp: %w", err)
		}
		from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		if !f.allowed(from.Addr()) || !f.acquire() {
			_ = c.Close()
			continue
		}
		go func() {
			defer f.release()
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { _ = c.Close() })
			defer stop()
			for {
				_ = c.SetReadDeadline(time.Now().Add(tcpIdle))
				query, err := readTCPMsg(c)
				if err != nil || len(query) < headerLen {
					return
				}
				resp := f.relay(ctx, query, f.exchangeTCP)
				if resp == nil {
					return
				}
				_ = c.SetWriteDeadline(time.Now().Add(f.cfg.Timeout))
				if err := writeTCPMsg(c, resp); err != nil {
					return
				}
			}
		}()
	}
}

// relay asks each upstream in turn and returns the first answer to query, or a SERVFAIL
// when none answers (nil if the query is too malformed for one).
func (f *Forwarder) relay(ctx context.Context, query []byte, exchange func(context.Context, netip.AddrPort, []byte) ([]byte, error)) []byte {
	for _, u := range f.cfg.Upstreams {
		if ctx.Err() != nil {
			return nil
		}
		resp, err := exchange(ctx, u, query)
		if err == nil {
			return resp
		}
	}
	return servfail(query)
}

// exchangeUDP sends query to u and waits for the answer with its id.
func (f *Forwarder) exchangeUDP(ctx context.Context, u netip.AddrPort, query []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", u.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, maxMsg)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if answers(query, buf[:n]) {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

// exchangeTCP sends query to u over a connection of its own.
func (f *Forwarder) exchangeTCP(ctx context.Context, u netip.AddrPort, query []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", u.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if err := writeTCPMsg(c, query); err != nil {
		return nil, err
	}
	resp, err := readTCPMsg(c)
	if err != nil {
		return nil, err
	}
	if !answers(query, resp) {
		return nil, errors.New("answer does not match the query")
	}
	return resp, nil
}

// answers reports whether resp is a response (QR set) with query's id.
func answers(query, resp []byte) bool {
	return len(resp) >= headerLen && resp[0] == query[0] && resp[1] == query[1] && resp[2]&0x80 != 0
}

// servfail is the SERVFAIL response to a query of one question: its header with QR and RA
// set, rcode 2, and the question; nil if the query is not one of one question.
func servfail(query []byte) []byte {
	if len(query) < headerLen || query[2]&0x80 != 0 || binary.BigEndian.Uint16(query[4:]) != 1 {
		return nil
	}
	off := headerLen
	for {
		if off >= len(query) {
			return nil
		}
		n := int(query[off])
		if n == 0 {
			break
		}
		if n > 63 {
			return nil
		}
		off += 1 + n
	}
	end := off + 1 + 4 // the root label, type and class
	if end > len(query) {
		return nil
	}
	resp := append([]byte(nil), query[:end]...)
	resp[2] = 0x80 | query[2]&0x79 // QR, the opcode and RD of the query
	resp[3] = 0x80 | 2             // RA, SERVFAIL
	clear(resp[6:headerLen])       // no answer, authority or additional records
	return resp
}

func readTCPMsg(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func writeTCPMsg(w io.Writer, msg []byte) error {
	if len(msg) > maxMsg {
		return fmt.Errorf("message of %d bytes", len(msg))
	}
	_, err := w.Write(binary.BigEndian.AppendUint16(nil, uint16(len(msg))))
	if err == nil {
		_, err = w.Write(msg)
	}
	return err
}

// Upstreams reads the nameserver lines of a resolv.conf file, port 53.
func Upstreams(path string) ([]netip.AddrPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.AddrPort
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(fields[1])
		if err != nil {
			continue
		}
		out = append(out, netip.AddrPortFrom(a, 53))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no nameserver", path)
	}
	return out, nil
}
