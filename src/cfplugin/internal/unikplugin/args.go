package unikplugin

import (
	"fmt"
	"slices"
	"strings"
)

// UsageError is a wrong command line; its text ends with the command's usage.
type UsageError struct {
	Command string
	Problem string
}

func (e *UsageError) Error() string {
	return fmt.Sprintf("Incorrect Usage: %s\n\nUSAGE:\n   %s", e.Problem, usageOf(e.Command))
}

// flagSet describes the options of enable-unik and disable-unik.
type flagSet struct {
	bools   []string          // long names of boolean flags
	values  []string          // long names of flags that take a value
	aliases map[string]string // short name -> long name
}

// parsed is a parsed command line: positional arguments and flag values.
type parsed struct {
	args   []string
	bools  map[string]bool
	values map[string]string
}

// parse reads "--name", "--name=value", "--name value" and the short aliases
// ("-s value"), flags and arguments in any order.
func (fs flagSet) parse(cmd string, argv []string) (parsed, error) {
	p := parsed{bools: map[string]bool{}, values: map[string]string{}}
	for i := 0; i < len(argv); i++ {
		tok := argv[i]
		if tok == "--" {
			p.args = append(p.args, argv[i+1:]...)
			break
		}
		if !strings.HasPrefix(tok, "-") || tok == "-" {
			p.args = append(p.args, tok)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		if long, ok := fs.aliases[name]; ok && !strings.HasPrefix(tok, "--") {
			name = long
		}
		switch {
		case slices.Contains(fs.bools, name):
			if hasVal {
				return p, &UsageError{cmd, fmt.Sprintf("flag --%s takes no value", name)}
			}
			p.bools[name] = true
		case slices.Contains(fs.values, name):
			if !hasVal {
				if i+1 >= len(argv) {
					return p, &UsageError{cmd, fmt.Sprintf("flag --%s needs a value", name)}
				}
				i++
				val = argv[i]
			}
			p.values[name] = val
		default:
			return p, &UsageError{cmd, fmt.Sprintf("unknown flag %q", tok)}
		}
	}
	return p, nil
}

// oneApp returns the single APP_NAME argument.
func (p parsed) oneApp(cmd string) (string, error) {
	switch len(p.args) {
	case 0:
		return "", &UsageError{cmd, "the required argument `APP_NAME` was not provided"}
	case 1:
		return p.args[0], nil
	default:
		return "", &UsageError{cmd, fmt.Sprintf("unexpected argument %q", p.args[1])}
	}
}
