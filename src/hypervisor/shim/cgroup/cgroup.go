// Package cgroup puts one VMM under a control group with a memory limit, a pids limit and a
// CPU weight, on cgroup v1 or v2, whichever the host mounts: Debian machines of this project
// mount v1 controllers under /sys/fs/cgroup/{cpu,memory,pids} (and an empty v2 hierarchy at
// /sys/fs/cgroup/unified); newer BOSH stemcells mount only v2 at /sys/fs/cgroup. The host's
// layout is detected from /proc/self/mountinfo, never assumed.
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Version of the cgroup interface.
type Version int

const (
	V1 Version = 1
	V2 Version = 2
)

// controllers are the ones a VMM's group needs.
func controllers() []string { return []string{"cpu", "memory", "pids"} }

// Hierarchy says where the host's cgroups are mounted.
type Hierarchy struct {
	Version Version
	V1      map[string]string // v1: controller -> its hierarchy's mount point
	Unified string            // v2: the cgroup2 mount point
}

// Host detects the running host's hierarchy. A v2 hierarchy must offer every controller
// (cgroup.controllers of its root).
func Host() (Hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Hierarchy{}, fmt.Errorf("cgroup: %w", err)
	}
	defer f.Close()
	h, err := Parse(f)
	if err != nil {
		return h, err
	}
	if h.Version == V2 {
		b, err := os.ReadFile(filepath.Join(h.Unified, "cgroup.controllers"))
		if err != nil {
			return h, fmt.Errorf("cgroup: %w", err)
		}
		have := strings.Fields(string(b))
		for _, c := range controllers() {
			if !contains(have, c) {
				return h, fmt.Errorf("cgroup: the v2 hierarchy at %s lacks the %s controller (has: %s)", h.Unified, c, strings.TrimSpace(string(b)))
			}
		}
	}
	return h, nil
}

// Parse reads a mountinfo table. It chooses v1 when the v1 hierarchies hold the controllers
// (a cgroup2 mount beside them is then the empty "unified" one of a hybrid host), v2 when no
// v1 hierarchy holds any of them.
func Parse(mountinfo io.Reader) (Hierarchy, error) {
	h := Hierarchy{V1: map[string]string{}}
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, sf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(sf) < 3 {
			continue
		}
		mountPoint := unescape(pf[4])
		switch sf[0] {
		case "cgroup2":
			if h.Unified == "" {
				h.Unified = mountPoint
			}
		case "cgroup":
			for _, opt := range strings.Split(sf[2], ",") {
				if contains(controllers(), opt) && h.V1[opt] == "" {
					h.V1[opt] = mountPoint
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return h, fmt.Errorf("cgroup: mountinfo: %w", err)
	}
	var missing []string
	for _, c := range controllers() {
		if h.V1[c] == "" {
			missing = append(missing, c)
		}
	}
	switch {
	case len(missing) == 0:
		h.Version = V1
	case len(missing) < len(controllers()):
		return h, fmt.Errorf("cgroup: v1 hierarchies mount some controllers but not %s", strings.Join(missing, ", "))
	case h.Unified != "":
		h.Version, h.V1 = V2, nil
	default:
		return h, errors.New("cgroup: no cgroup v1 controllers and no cgroup2 mount")
	}
	return h, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
