package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Jail ids: every jailed VMM on the host runs as its own user and group (the same number),
// so no two VMMs can signal, trace or open each other's files even if one escapes its
// guest. Engines on one host (the CLI's, a cell's, tests') share the leases: a lease is a
// file named after the id in a host-wide directory, holding the instance directory that
// owns it; a lease whose instance directory is gone is free again. Allocation holds a lock
// on the directory.

// leaseJailID leases the lowest free id of r to owner (an instance directory).
func leaseJailID(dir string, r IDRange, owner string) (uint32, error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("jail ids: %w", err)
	}
	held := map[uint32]bool{}
	for _, e := range entries {
		id, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if _, err := os.Stat(strings.TrimSpace(string(b))); err == nil {
			held[uint32(id)] = true
		}
	}
	for i := uint32(0); i < r.Count; i++ {
		id := r.First + i
		if held[id] {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, strconv.FormatUint(uint64(id), 10)), []byte(owner+"\n"), 0o600); err != nil {
			return 0, fmt.Errorf("jail ids: %w", err)
		}
		return id, nil
	}
	return 0, fmt.Errorf("jail ids: all %d ids from %d are leased", r.Count, r.First)
}

// releaseJailID ends owner's lease of id (a lease someone else holds now is left alone).
func releaseJailID(dir string, id uint32, owner string) error {
	if id == 0 {
		return nil
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	p := filepath.Join(dir, strconv.FormatUint(uint64(id), 10))
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jail ids: %w", err)
	}
	if strings.TrimSpace(string(b)) != owner {
		return nil
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("jail ids: %w", err)
	}
	return nil
}

func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("jail ids: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jail ids: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("jail ids: lock: %w", err)
	}
	return func() { f.Close() }, nil
}
