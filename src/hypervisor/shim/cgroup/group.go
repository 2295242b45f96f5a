package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Limits of one group.
type Limits struct {
	MemoryBytes int64  // memory.limit_in_bytes (v1), memory.max (v2); swap is not allowed on top
	Pids        int64  // pids.max: processes and threads
	CPUShares   uint64 // cpu.shares (v1); v2 writes the equivalent cpu.weight
}

// Validate names the first bad limit.
func (l Limits) Validate() error {
	switch {
	case l.MemoryBytes < 16<<20:
		return fmt.Errorf("cgroup limits: memory %d bytes is below 16 MiB", l.MemoryBytes)
	case l.Pids < 1:
		return fmt.Errorf("cgroup limits: pids %d is below 1", l.Pids)
	case l.CPUShares < 2 || l.CPUShares > 262144:
		return fmt.Errorf("cgroup limits: cpu shares %d is not between 2 and 262144", l.CPUShares)
	}
	return nil
}

// SharesFromWeight is Diego's CPU shares for a cpu_weight of 1-100: 1024 * weight / 100
// (a weight of 100 is a full default share). 0 counts as 100.
func SharesFromWeight(weight int) uint64 {
	if weight <= 0 || weight > 100 {
		weight = 100
	}
	return max(2, uint64(1024*weight/100))
}

// WeightFromShares converts v1 cpu.shares [2, 262144] to v2 cpu.weight [1, 10000] as runc
// does, so that 1024 shares (the v1 default) give about 39 and 2 give 1.
func WeightFromShares(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

// Group is one control group: a directory in each v1 hierarchy, or one in v2.
type Group struct {
	Dirs []string
}

// Path is the group's place below the hierarchy roots ("unik/<vm name>"). It refuses
// absolute paths and "..".
func (h Hierarchy) Group(path string) (Group, error) {
	clean := filepath.Clean(path)
	if path == "" || filepath.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "..") {
		return Group{}, fmt.Errorf("cgroup: path %q is not relative below the hierarchy root", path)
	}
	switch h.Version {
	case V1:
		var g Group
		for _, c := range controllers() {
			g.Dirs = append(g.Dirs, filepath.Join(h.V1[c], clean))
		}
		return g, nil
	case V2:
		return Group{Dirs: []string{filepath.Join(h.Unified, clean)}}, nil
	}
	return Group{}, fmt.Errorf("cgroup: unknown hierarchy version %d", h.Version)
}

// Create makes the group at path with limits l (a leftover group of that path is reused).
// On v2 it first enables the controllers for the path's ancestors.
func (h Hierarchy) Create(path string, l Limits) (Group, error) {
	if err := l.Validate(); err != nil {
		return Group{}, err
	}
	g, err := h.Group(path)
	if err != nil {
		return g, err
	}
	if h.Version == V2 {
		if err := enableControllers(h.Unified, filepath.Clean(path)); err != nil {
			return g, err
		}
	}
	for _, d := range g.Dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return g, fmt.Errorf("cgroup: %w", err)
		}
	}
	if err := h.apply(g, l); err != nil {
		_ = g.Remove()
		return g, err
	}
	return g, h.weighParent(path)
}

// Release removes the group at path (gone already is fine) and reweighs its parent.
func (h Hierarchy) Release(path string) error {
	g, err := h.Group(path)
	if err != nil {
		return err
	}
	if err := g.Remove(); err != nil {
		return err
	}
	return h.weighParent(path)
}

// weighParent gives the groups' parent the CPU weight of as many default processes as it
// holds groups (1024 shares, or v2 weight 100, each): together the VMs weigh against the
// host's other work what as many unjailed VMMs would, and their own weights divide that
// among them. A parent at the hierarchy root is left alone.
func (h Hierarchy) weighParent(path string) error {
	parent := filepath.Dir(filepath.Clean(path))
	if parent == "." {
		return nil
	}
	root, file := h.Unified, "cpu.weight"
	if h.Version == V1 {
		root, file = h.V1["cpu"], "cpu.shares"
	}
	dir := filepath.Join(root, parent)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			n++
		}
	}
	value := min(max(uint64(n), 1)*1024, 262144)
	if h.Version == V2 {
		value = min(max(uint64(n), 1)*100, 10000)
	}
	return write(filepath.Join(dir, file), strconv.FormatUint(value, 10))
}

func (h Hierarchy) apply(g Group, l Limits) error {
	mem := strconv.FormatInt(l.MemoryBytes, 10)
	if h.Version == V1 {
		cpu, memory, pids := g.Dirs[0], g.Dirs[1], g.Dirs[2]
		return firstError(
			write(filepath.Join(memory, "memory.limit_in_bytes"), mem),
			writeIfPresent(filepath.Join(memory, "memory.memsw.limit_in_bytes"), mem), // no swap on top
			write(filepath.Join(pids, "pids.max"), strconv.FormatInt(l.Pids, 10)),
			write(filepath.Join(cpu, "cpu.shares"), strconv.FormatUint(l.CPUShares, 10)),
		)
	}
	d := g.Dirs[0]
	return firstError(
		write(filepath.Join(d, "memory.max"), mem),
		writeIfPresent(filepath.Join(d, "memory.swap.max"), "0"),
		write(filepath.Join(d, "pids.max"), strconv.FormatInt(l.Pids, 10)),
		write(filepath.Join(d, "cpu.weight"), strconv.FormatUint(WeightFromShares(l.CPUShares), 10)),
	)
}

// enableControllers writes "+cpu +memory +pids" to cgroup.subtree_control of the root and of
// every ancestor of path, creating the ancestors.
func enableControllers(root, path string) error {
	var enable []string
	for _, c := range controllers() {
		enable = append(enable, "+"+c)
	}
	dir := root
	parts := strings.Split(path, string(filepath.Separator))
	for i := 0; ; i++ {
		if err := write(filepath.Join(dir, "cgroup.subtree_control"), strings.Join(enable, " ")); err != nil {
			return err
		}
		if i == len(parts)-1 {
			return nil
		}
		dir = filepath.Join(dir, parts[i])
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
}

// ProcsFiles are the files a process writes its pid (or 0: itself) to, to join the group.
func (g Group) ProcsFiles() []string {
	var out []string
	for _, d := range g.Dirs {
		out = append(out, filepath.Join(d, "cgroup.procs"))
	}
	return out
}

// JoinSelf moves the calling process into the group.
func (g Group) JoinSelf() error {
	for _, p := range g.ProcsFiles() {
		if err := write(p, "0"); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes the group; a group already gone is fine. It fails while processes remain.
func (g Group) Remove() error {
	var errs []error
	for _, d := range g.Dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}

func write(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("cgroup: write %s to %s: %w", value, path, err)
	}
	return nil
}

func writeIfPresent(path, value string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return write(path, value)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
