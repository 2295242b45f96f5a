package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// envSource is one --env or --env-file flag, kept in command-line order.
type envSource struct {
	file  bool
	value string // NAME=value or NAME (--env), a path (--env-file)
}

// envFlag is the flag.Value of --env (file false) or --env-file (file true); both append to
// one list so that a later flag wins whichever kind it is.
type envFlag struct {
	list *[]envSource
	file bool
}

func (f envFlag) String() string { return "" }

func (f envFlag) Set(v string) error {
	*f.list = append(*f.list, envSource{file: f.file, value: v})
	return nil
}

// appEnv resolves the sources into NAME=value entries: --env NAME=value as given, --env NAME
// from unik's own environment, --env-file FILE line by line. A name given twice keeps its
// first position and its last value. Errors name the flag or the file and line, never a value.
func appEnv(sources []envSource, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	at := map[string]int{}
	add := func(name, value string) {
		if i, ok := at[name]; ok {
			out[i] = name + "=" + value
			return
		}
		at[name] = len(out)
		out = append(out, name+"="+value)
	}
	for i, s := range sources {
		if s.file {
			kvs, err := readEnvFile(s.value)
			if err != nil {
				return nil, err
			}
			for _, kv := range kvs {
				name, value, _ := strings.Cut(kv, "=")
				add(name, value)
			}
			continue
		}
		name, value, hasValue := strings.Cut(s.value, "=")
		if hasValue && name == "" {
			return nil, usagef("run: --env number %d has no name (want NAME=value or NAME)", i+1)
		}
		if !hasValue {
			if !validEnvName(name) {
				return nil, usagef("run: --env %q is not a variable name (want NAME=value or NAME)", name)
			}
			v, ok := lookup(name)
			if !ok {
				return nil, usagef("run: --env %s: %s is not set in unik's environment", name, name)
			}
			value = v
		}
		add(name, value)
	}
	return out, nil
}

// readEnvFile reads an env file; see parseEnvFile.
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("run: --env-file: %v", err)
	}
	defer f.Close()
	return parseEnvFile(path, f)
}

// parseEnvFile reads lines NAME=value. The value is the rest of the line after the first '='
// exactly (no quotes, escapes or expansion; a trailing CR is dropped). Blank lines and lines
// whose first non-blank character is '#' are skipped.
func parseEnvFile(name string, r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var out []string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			return nil, usagef("run: env file %s line %d: no '=' (want NAME=value)", name, n)
		}
		if !validEnvName(k) {
			return nil, usagef("run: env file %s line %d: %q is not a variable name (letters, digits and '_', not starting with a digit)", name, n, k)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("run: env file %s: %w", name, err)
	}
	return out, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return true
}
