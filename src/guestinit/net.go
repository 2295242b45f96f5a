//go:build linux

package guestinit

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

func configureInterface(n *NetConfig) error {
	ifname := n.Interface
	if ifname == "" {
		ifname = "eth0"
	}
	prefix, err := netip.ParsePrefix(n.Address)
	if err != nil || !prefix.Addr().Is4() {
		return fmt.Errorf("network: address %q is not an IPv4 CIDR", n.Address)
	}
	if err := waitForLink(ifname, 5*time.Second); err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("network: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return err
	}
	if err := ifr.SetInet4Addr(prefix.Addr().AsSlice()); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, ifr); err != nil {
		return fmt.Errorf("network: set address of %s: %w", ifname, err)
	}
	m := ^uint32(0) << (32 - prefix.Bits())
	var maskBytes [4]byte
	binary.BigEndian.PutUint32(maskBytes[:], m)
	if err := ifr.SetInet4Addr(maskBytes[:]); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFNETMASK, ifr); err != nil {
		return fmt.Errorf("network: set netmask of %s: %w", ifname, err)
	}
	if err := linkUp(ifname); err != nil {
		return fmt.Errorf("network: bring up %s: %w", ifname, err)
	}
	if n.Gateway != "" {
		gw, err := netip.ParseAddr(n.Gateway)
		if err != nil || !gw.Is4() {
			return fmt.Errorf("network: gateway %q is not an IPv4 address", n.Gateway)
		}
		if err := addDefaultRoute(ifname, gw); err != nil {
			return fmt.Errorf("network: default route via %s: %w", gw, err)
		}
	}
	return nil
}

func waitForLink(ifname string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := linkIndex(ifname); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("network: interface %s did not appear within %s", ifname, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func linkIndex(ifname string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, err
	}
	return int(ifr.Uint32()), nil
}

func linkUp(ifname string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// addDefaultRoute sends one RTM_NEWROUTE over rtnetlink: 0.0.0.0/0 via gw on ifname.
func addDefaultRoute(ifname string, gw netip.Addr) error {
	idx, err := linkIndex(ifname)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	msg := routeMessage(idx, gw)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	return netlinkAck(buf[:n])
}

func routeMessage(oif int, gw netip.Addr) []byte {
	le := binary.LittleEndian // rtnetlink uses host byte order; x86 is little-endian
	attr := func(typ uint16, data []byte) []byte {
		b := make([]byte, 4, 4+len(data)+3)
		le.PutUint16(b[0:], uint16(4+len(data)))
		le.PutUint16(b[2:], typ)
		b = append(b, data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	rtm := []byte{
		unix.AF_INET, 0, 0, 0, // family, dst_len, src_len, tos
		unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST,
		0, 0, 0, 0, // flags
	}
	oifb := make([]byte, 4)
	le.PutUint32(oifb, uint32(oif))
	body := append(rtm, attr(unix.RTA_GATEWAY, gw.AsSlice())...)
	body = append(body, attr(unix.RTA_OIF, oifb)...)
	hdr := make([]byte, unix.NLMSG_HDRLEN)
	le.PutUint32(hdr[0:], uint32(len(hdr)+len(body)))
	le.PutUint16(hdr[4:], unix.RTM_NEWROUTE)
	le.PutUint16(hdr[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	le.PutUint32(hdr[8:], 1)
	return append(hdr, body...)
}

func netlinkAck(b []byte) error {
	if len(b) < unix.NLMSG_HDRLEN+4 {
		return fmt.Errorf("short netlink answer")
	}
	le := binary.LittleEndian
	if le.Uint16(b[4:]) != unix.NLMSG_ERROR {
		return fmt.Errorf("unexpected netlink answer type %d", le.Uint16(b[4:]))
	}
	if code := int32(le.Uint32(b[unix.NLMSG_HDRLEN:])); code != 0 {
		return unix.Errno(-code)
	}
	return nil
}
