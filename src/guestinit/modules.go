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
	var pending []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if file := strings.TrimSpace(sc.Text()); file != "" {
			pending = append(pending, file)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	// Load in the listed order; a module whose dependencies are not loaded yet fails with
	// ENOENT (unknown symbol) and is tried again in the next round.
	for len(pending) > 0 {
		var retry []string
		var errs []error
		for _, file := range pending {
			if err := loadModule(filepath.Join(dir, file), moduleParams(string(cmdline), file)); err != nil {
				retry, errs = append(retry, file), append(errs, err)
			}
		}
		if len(retry) == len(pending) {
			return errors.Join(errs...)
		}
		pending = retry
	}
	return nil
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
