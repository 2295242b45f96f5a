package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
)

// PortRequest asks for a host TCP port forwarded to a guest port. HostPort 0
// means "pick a free one from Config.PortRange".
type PortRequest struct {
	HostPort  uint16
	GuestPort uint16
}

// PortMapping is a host TCP port forwarded to a guest port.
type PortMapping struct {
	HostIP    netip.Addr `json:"host_ip"`
	HostPort  uint16     `json:"host_port"`
	GuestPort uint16     `json:"guest_port"`
}

// Attachment is what one microVM got: its tap (bridge mode), its guest-side
// network configuration and its host ports.
type Attachment struct {
	ID      string        `json:"id"`
	Mode    Mode          `json:"mode"`
	Tap     string        `json:"tap,omitempty"`
	MAC     string        `json:"mac"`
	GuestIP netip.Prefix  `json:"guest_ip"`
	Gateway netip.Addr    `json:"gateway"`
	DNS     []netip.Addr  `json:"dns,omitempty"`
	Ports   []PortMapping `json:"ports,omitempty"`
}

// Leftovers are objects of this network that no attachment record accounts
// for, typically after a crash or a manual intervention.
type Leftovers struct {
	// Taps named uk* on the bridge (or on no bridge at all).
	Taps []string
	// Rules in the nftables table whose comment names an unknown attachment.
	Rules []RuleRef
	// Lease files of the store naming an unknown attachment.
	Leases []string
	// Taps named in the anti-spoofing guard's sets that no record holds.
	Guards []string
	// Egress chains and sets of taps no record holds, and dispatch
	// elements ("egress <address>") of addresses or taps no record holds.
	Egress []string
}

// RuleRef names one nftables rule.
type RuleRef struct {
	Chain  string
	Handle uint64
	ID     string // the attachment named by the rule's comment
}

// Empty reports whether nothing was left over.
func (l Leftovers) Empty() bool {
	return len(l.Taps) == 0 && len(l.Rules) == 0 && len(l.Leases) == 0 && len(l.Guards) == 0 && len(l.Egress) == 0
}

// Errors of Attach; test with errors.Is.
var (
	ErrPortInUse = errors.New("host port is already in use")
	ErrExhausted = errors.New("pool exhausted")
	ErrExists    = errors.New("attachment already exists")
	// ErrNotOwner: Detach of an attachment another StateDir made.
	ErrNotOwner = errors.New("attachment belongs to another owner")
)

// portInUseError names the port and matches ErrPortInUse.
type portInUseError struct{ port uint16 }

func (e *portInUseError) Error() string {
	return fmt.Sprintf("host port %d is already in use", e.port)
}

func (e *portInUseError) Is(target error) bool { return target == ErrPortInUse }

const maxIDLen = 128

// validID accepts ids that are safe as file names and nftables comments.
func validID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("attachment id %q must have 1 to %d characters", id, maxIDLen)
	}
	for i, r := range id {
		ok := isAlnum(r) || (i > 0 && (r == '.' || r == '_' || r == '-'))
		if !ok {
			return fmt.Errorf("attachment id %q may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit", id)
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

const (
	tapPrefix  = "uk"
	tapIDChars = 12
)

// TapName derives the tap device name of an attachment: "uk" followed by the
// first 12 letters and digits of the id (a hash of the id if it has none).
func TapName(id string) string {
	b := make([]byte, 0, tapIDChars)
	for _, r := range id {
		if len(b) == tapIDChars {
			break
		}
		if isAlnum(r) {
			b = append(b, byte(r))
		}
	}
	if len(b) == 0 {
		sum := sha256.Sum256([]byte(id))
		b = []byte(hex.EncodeToString(sum[:tapIDChars/2]))
	}
	return tapPrefix + string(b)
}

// MACFor derives a guest MAC from its IPv4 address: 52:54 (locally
// administered, unicast) followed by the four address bytes, so that
// 10.213.0.5 gets 52:54:0a:d5:00:05.
func MACFor(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}
