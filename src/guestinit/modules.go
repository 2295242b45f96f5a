//go:build linux

package guestinit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// loadModules loads the kernel modules a fallback kernel ships as a cpio segment: dir/order
// lists the .ko files in load order. Parameters come from the kernel command line
// (module.param=value), as modprobe would take them. The minimal kernel has no modules and
// no such directory.
func loadModules(dir string) error {
	f, err := os.Open(filepath.Join(dir, "order"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	cmdline, _ := os.ReadFile("/proc/cmdline")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		file := strings.TrimSpace(sc.Text())
		if file == "" {
			continue
		}
		if err := loadModule(filepath.Join(dir, file), moduleParams(string(cmdline), file)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func loadModule(path, params string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load module: %w", err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), params, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("load module %s: %w", filepath.Base(path), err)
	}
	return nil
}

// moduleParams picks "name.key=value" words for module file name.ko from a command line.
func moduleParams(cmdline, file string) string {
	mod := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".ko"), "-", "_")
	var params []string
	for _, w := range strings.Fields(cmdline) {
		name, rest, ok := strings.Cut(w, ".")
		if ok && strings.ReplaceAll(name, "-", "_") == mod && strings.Contains(rest, "=") {
			params = append(params, rest)
		}
	}
	return strings.Join(params, " ")
}
