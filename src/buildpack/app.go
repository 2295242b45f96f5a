package buildpack

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// app is what the buildpack sees at the top of an app directory.
type app struct {
	goMod       bool     // go.mod: a Go source app
	web         string   // the Procfile's web: command, "" if none
	hasProcfile bool     // a Procfile exists (with or without web:)
	executables []string // x86-64 Linux ELF executables at the top, sorted
}

// inspect reads the top of an app directory.
func inspect(dir string) (app, error) {
	var a app
	entries, err := os.ReadDir(dir)
	if err != nil {
		return a, fmt.Errorf("read app directory: %w", err)
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case name == "go.mod" && e.Type().IsRegular():
			a.goMod = true
		case name == "Procfile":
			a.hasProcfile = true
			if a.web, err = procfileWeb(filepath.Join(dir, name)); err != nil {
				return a, err
			}
		case e.Type().IsRegular() && isExecutable(filepath.Join(dir, name)):
			a.executables = append(a.executables, name)
		}
	}
	sort.Strings(a.executables)
	return a, nil
}

// procfileWeb returns the command of the Procfile's web: line ("" if none). Simple quotes
// around the command are removed, as YAML would (the lifecycle reads the Procfile as YAML).
func procfileWeb(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read Procfile: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, cmd, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) != "web" {
			continue
		}
		cmd = strings.TrimSpace(cmd)
		if len(cmd) >= 2 && (cmd[0] == '"' || cmd[0] == '\'') && cmd[len(cmd)-1] == cmd[0] {
			cmd = cmd[1 : len(cmd)-1]
		}
		return cmd, nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read Procfile: %w", err)
	}
	return "", nil
}

// isExecutable reports whether path is an executable x86-64 Linux ELF program (not a shared
// library).
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return false
	}
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return false
	}
	switch f.Type {
	case elf.ET_EXEC:
		return true
	case elf.ET_DYN: // a PIE program, unless it is a shared library
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return true
			}
		}
		return !strings.Contains(filepath.Base(path), ".so")
	}
	return false
}

// dirSize is the total size of the regular files under dir, skipping the names in skip at its
// top.
func dirSize(dir string, skip ...string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if filepath.Dir(p) == dir {
			for _, s := range skip {
				if d.Name() == s {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
			}
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return n, err
}
