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
}

// instanceDir holds every file of one instance: the VM's files (hypervisor.Dir) plus the
// engine's own.
type instanceDir struct{ hypervisor.Dir }

func (d instanceDir) record() string        { return filepath.Join(string(d.Dir), "instance.json") }
func (d instanceDir) stopRequested() string { return filepath.Join(string(d.Dir), "stop-requested") }
func (d instanceDir) Stdout() string        { return d.Channel(guestinit.PortStdout) }
func (d instanceDir) Stderr() string        { return d.Channel(guestinit.PortStderr) }
func (d instanceDir) Status() string        { return d.Channel(guestinit.PortStatus) }
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

// channels are the four guest channels of the init protocol, and two output channels for
// each of n sidecars.
func channels(sidecars int) []hypervisor.Channel {
	out := []hypervisor.Channel{
		{Name: guestinit.PortStdout},
		{Name: guestinit.PortStderr},
		{Name: guestinit.PortStatus},
		{Name: guestinit.PortControl, Input: true},
	}
	for i := 0; i < sidecars; i++ {
		out = append(out, hypervisor.Channel{Name: guestinit.PortSidecarStdout(i)}, hypervisor.Channel{Name: guestinit.PortSidecarStderr(i)})
	}
	return out
}
