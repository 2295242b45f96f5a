package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/network"
)

// Record is what the engine writes about an instance when it starts it.
type Record struct {
	ID          string             `json:"id"`
	Image       string             `json:"image"`
	ImageDigest string             `json:"image_digest"`
	Created     time.Time          `json:"created"`
	MemoryMB    int                `json:"memory_mb"`
	CPUs        int                `json:"cpus"`
	Accel       string             `json:"accel"`
	AccelReason string             `json:"accel_reason,omitempty"`
	Kernel      string             `json:"kernel"`
	Network     network.Attachment `json:"network"`
	StopGraceMS int                `json:"stop_grace_ms"`
	Tags        map[string]string  `json:"tags,omitempty"`
	Sidecars    []string           `json:"sidecars,omitempty"` // names, in port order
	// JailID is the user and group id the instance's jailed VMM runs as; 0: not jailed.
	JailID       uint32 `json:"jail_id,omitempty"`
	CPUWeight    int    `json:"cpu_weight,omitempty"`
	LogRateLimit int64  `json:"log_rate_limit,omitempty"`
}

// instanceDir holds every file of one instance: the VM's files (hypervisor.Dir) plus the
// engine's own.
type instanceDir struct{ hypervisor.Dir }

func (d instanceDir) record() string        { return filepath.Join(string(d.Dir), "instance.json") }
func (d instanceDir) stopRequested() string { return filepath.Join(string(d.Dir), "stop-requested") }
func (d instanceDir) Control() string       { return d.ChannelInput(guestinit.PortControl) }

func (d instanceDir) writeRecord(r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := d.record() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, d.record())
}

func (d instanceDir) readRecord() (Record, error) {
	var r Record
	b, err := os.ReadFile(d.record())
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", d.record(), err)
	}
	return r, nil
}

// StatusCap bounds the status channel on disk (jailed): init writes a few short lines; only
// a hostile guest writes more, and then only its own status suffers.
const StatusCap = 64 << 10

// channels are the four guest channels of the init protocol, and two output channels for
// each of n sidecars; every app (and sidecar) output keeps at most logCap bytes on disk (0:
// the driver's default) and they share the instance's log rate limit.
func channels(sidecars int, logCap int64) []hypervisor.Channel {
	out := []hypervisor.Channel{
		{Name: guestinit.PortStdout, AppLog: true, CapBytes: logCap},
		{Name: guestinit.PortStderr, AppLog: true, CapBytes: logCap},
		{Name: guestinit.PortStatus, CapBytes: StatusCap},
		{Name: guestinit.PortControl, Input: true},
	}
	for i := 0; i < sidecars; i++ {
		out = append(out, hypervisor.Channel{Name: guestinit.PortSidecarStdout(i), AppLog: true, CapBytes: logCap},
			hypervisor.Channel{Name: guestinit.PortSidecarStderr(i), AppLog: true, CapBytes: logCap})
	}
	return out
}
