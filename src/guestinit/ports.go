//go:build linux

package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ports are the four host channels, opened by name, and each sidecar's stdout and stderr.
type ports struct {
	stdout, stderr, status, control *os.File
	sidecars                        [][2]*os.File
}

func (p *ports) Close() {
	files := []*os.File{p.stdout, p.stderr, p.status, p.control}
	for _, sc := range p.sidecars {
		files = append(files, sc[0], sc[1])
	}
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// openSidecars opens the output ports of n sidecars (PortSidecarStdout/Stderr), waiting up
// to timeout for them to appear.
func (p *ports) openSidecars(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i := 0; i < n; i++ {
		var pair [2]*os.File
		for j, name := range []string{PortSidecarStdout(i), PortSidecarStderr(i)} {
			var dev string
			for {
				if d, ok := portDevices()[name]; ok || time.Now().After(deadline) {
					dev = d
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if dev == "" {
				return fmt.Errorf("virtio port %s not found", name)
			}
			f, err := os.OpenFile(dev, os.O_WRONLY, 0)
			if err != nil {
				return fmt.Errorf("open %s (%s): %w", name, dev, err)
			}
			pair[j] = f
		}
		p.sidecars = append(p.sidecars, pair)
	}
	return nil
}

// openPorts finds the virtio-serial ports by their names in sysfs and opens their device
// nodes. Devices may still be probing when init starts, so it waits up to timeout.
func openPorts(timeout time.Duration) (*ports, error) {
	want := []string{PortStdout, PortStderr, PortStatus, PortControl}
	deadline := time.Now().Add(timeout)
	var found map[string]string
	for {
		found = portDevices()
		if len(found) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p := &ports{}
	targets := map[string]**os.File{PortStdout: &p.stdout, PortStderr: &p.stderr, PortStatus: &p.status, PortControl: &p.control}
	var errs []error
	for _, name := range want {
		dev, ok := found[name]
		if !ok {
			errs = append(errs, fmt.Errorf("virtio port %s not found", name))
			continue
		}
		flag := os.O_WRONLY
		if name == PortControl {
			flag = os.O_RDONLY
		}
		f, err := os.OpenFile(dev, flag, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("open %s (%s): %w", name, dev, err))
			continue
		}
		*targets[name] = f
	}
	if err := errors.Join(errs...); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// portDevices maps port names to /dev paths.
func portDevices() map[string]string {
	out := map[string]string{}
	dirs, _ := filepath.Glob("/sys/class/virtio-ports/*")
	for _, d := range dirs {
		name, err := os.ReadFile(filepath.Join(d, "name"))
		if err != nil {
			continue
		}
		dev := "/dev/" + filepath.Base(d)
		if _, err := os.Stat(dev); err != nil {
			continue
		}
		out[strings.TrimSpace(string(name))] = dev
	}
	return out
}
