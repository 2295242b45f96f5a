package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// stateDir is the one place where paths of a store are made (StateDir in
// user mode, RunDir/<bridge> in bridge mode):
//
//	lock                      flock held around every change
//	leases/ip-10.213.0.5      created O_EXCL, holds the attachment id
//	leases/port-40001         created O_EXCL, holds the attachment id
//	attachments/<id>.json     record of everything an attachment created
type stateDir string

func (d stateDir) lockPath() string         { return filepath.Join(string(d), "lock") }
func (d stateDir) leasesDir() string        { return filepath.Join(string(d), "leases") }
func (d stateDir) attachmentsDir() string   { return filepath.Join(string(d), "attachments") }
func (d stateDir) lease(name string) string { return filepath.Join(d.leasesDir(), name) }
func (d stateDir) recordPath(id string) string {
	return filepath.Join(d.attachmentsDir(), id+".json")
}

func ipLeaseName(a netip.Addr) string { return "ip-" + a.String() }
func portLeaseName(p uint16) string   { return "port-" + strconv.Itoa(int(p)) }

func (d stateDir) ensure() error {
	for _, p := range []string{d.leasesDir(), d.attachmentsDir()} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
	}
	return nil
}

// lock takes the store-wide exclusive flock, waiting until ctx is done.
// flock conflicts between separate open file descriptions, so it serialises
// goroutines of one process as well as processes.
func (d stateDir) lock(ctx context.Context) (unlock func(), err error) {
	if err := d.ensure(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(d.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", d.lockPath(), err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", d.lockPath(), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// createLease creates a lease file exclusively; it reports false if the
// lease is already held.
func (d stateDir) createLease(name, id string) (bool, error) {
	f, err := os.OpenFile(d.lease(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create lease %s: %w", name, err)
	}
	_, werr := f.WriteString(id)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(d.lease(name))
		return false, fmt.Errorf("write lease %s: %w", name, err)
	}
	return true, nil
}

// releaseLease removes a lease if it is held by id.
func (d stateDir) releaseLease(name, id string) error {
	holder, err := os.ReadFile(d.lease(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read lease %s: %w", name, err)
	}
	if string(holder) != id {
		return nil
	}
	if err := os.Remove(d.lease(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// leases maps every lease file name to the id holding it.
func (d stateDir) leases() (map[string]string, error) {
	entries, err := os.ReadDir(d.leasesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		holder, err := os.ReadFile(d.lease(e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read lease %s: %w", e.Name(), err)
		}
		out[e.Name()] = string(holder)
	}
	return out, nil
}

// record is written before any kernel object is created, so that Detach can
// always undo an Attach, even one that crashed half-way.
type record struct {
	Attachment Attachment `json:"attachment"`
	// Owner is the StateDir of the Network that made the attachment: a
	// store in bridge mode is shared by every process on the bridge, and
	// each lists, and may detach, only its own attachments.
	Owner  string   `json:"owner,omitempty"`
	Bridge string   `json:"bridge,omitempty"`
	Table  string   `json:"table,omitempty"`
	Leases []string `json:"leases"`
}

func (d stateDir) writeRecord(r record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode record %s: %w", r.Attachment.ID, err)
	}
	path := d.recordPath(r.Attachment.ID)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write record %s: %w", r.Attachment.ID, err)
	}
	_, werr := f.Write(append(data, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write record %s: %w", r.Attachment.ID, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write record %s: %w", r.Attachment.ID, err)
	}
	return nil
}

// readRecord returns fs.ErrNotExist (wrapped) for an unknown id.
func (d stateDir) readRecord(id string) (record, error) {
	var r record
	data, err := os.ReadFile(d.recordPath(id))
	if err != nil {
		return r, fmt.Errorf("read record %s: %w", id, err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("decode record %s: %w", id, err)
	}
	return r, nil
}

func (d stateDir) removeRecord(id string) error {
	if err := os.Remove(d.recordPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove record %s: %w", id, err)
	}
	return nil
}

// records returns every attachment record, sorted by id.
func (d stateDir) records() ([]record, error) {
	entries, err := os.ReadDir(d.attachmentsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	var out []record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || validID(id) != nil {
			continue
		}
		r, err := d.readRecord(id)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
