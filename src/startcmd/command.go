package startcmd

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by Parse is an *Error wrapping one of the first three;
// Expand returns errors wrapping ErrEmptyProgram.
var (
	// ErrShellFeature: the command uses a shell feature the guest cannot honour.
	ErrShellFeature = errors.New("start command needs a shell")
	// ErrSyntax: the command is malformed (unterminated quote, trailing backslash, ...).
	ErrSyntax = errors.New("start command syntax error")
	// ErrEmpty: the command names no program.
	ErrEmpty = errors.New("empty start command")
	// ErrEmptyProgram: after expansion argv[0] is missing or empty.
	ErrEmptyProgram = errors.New("start command program name is empty")
)

// Error describes why Parse rejected a command.
type Error struct {
	Offset  int    // byte offset in the command
	Feature string // what was found, e.g. `a pipe ("|")`
	Hint    string // what to do instead; may be empty
	Err     error  // ErrShellFeature, ErrSyntax or ErrEmpty
}

func (e *Error) Error() string {
	var msg string
	switch e.Err {
	case ErrShellFeature:
		msg = fmt.Sprintf("start command uses %s at offset %d: the guest has no shell", e.Feature, e.Offset)
	case ErrEmpty:
		msg = fmt.Sprintf("start command is empty (%s)", e.Feature)
	default:
		msg = fmt.Sprintf("start command has %s at offset %d", e.Feature, e.Offset)
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// part is a piece of a word: literal text or a variable reference.
type part struct {
	text   string // the literal text, or the variable name when isVar
	isVar  bool
	quoted bool // a variable inside double quotes is not field-split
}

// word is one shell word before expansion.
type word struct {
	parts  []part
	raw    string // the source text of the word
	offset int
	assign string // NAME when the word has the form NAME=value (value in parts)
}

type assignment struct {
	name  string
	value []part
}

// Command is a parsed start command: leading environment assignments and the words of the
// program invocation. Create it with Parse.
type Command struct {
	assigns []assignment
	words   []word
}

// Expand resolves variables through lookup (an unset variable expands to the empty string, as
// in a shell; a nil lookup treats every variable as unset) and returns the assignments as
// "NAME=value" in order, and argv. Like a shell, an assignment sees the assignments before it,
// arguments do not see the assignments, and unquoted variables are split into fields on
// blanks (no pathname expansion of the results). argv[0] is never empty.
func (c *Command) Expand(lookup func(name string) (string, bool)) (env []string, argv []string, err error) {
	get := func(name string) string {
		if lookup == nil {
			return ""
		}
		v, _ := lookup(name)
		return v
	}
	assigned := map[string]string{}
	withAssigned := func(name string) string {
		if v, ok := assigned[name]; ok {
			return v
		}
		return get(name)
	}
	for _, a := range c.assigns {
		var b strings.Builder
		for _, p := range a.value {
			if p.isVar {
				b.WriteString(withAssigned(p.text))
			} else {
				b.WriteString(p.text)
			}
		}
		assigned[a.name] = b.String()
		env = append(env, a.name+"="+b.String())
	}
	for _, w := range c.words {
		argv = append(argv, fields(w.parts, get)...)
	}
	if len(c.words) == 0 {
		return nil, nil, fmt.Errorf("%w: the command has no program word", ErrEmptyProgram)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, nil, fmt.Errorf("%w: %q expands to nothing; check the variables it uses",
			ErrEmptyProgram, c.words[0].raw)
	}
	return env, argv, nil
}

// Program returns argv[0] when it contains no variable, so it is known before run time.
func (c *Command) Program() (string, bool) {
	if len(c.words) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, p := range c.words[0].parts {
		if p.isVar {
			return "", false
		}
		b.WriteString(p.text)
	}
	return b.String(), true
}

// fields expands one word into zero or more fields, splitting unquoted variable values on
// blanks the way a shell with the default IFS does.
func fields(parts []part, get func(string) string) []string {
	var out []string
	var cur strings.Builder
	have := false
	emit := func() {
		if have {
			out = append(out, cur.String())
		}
		cur.Reset()
		have = false
	}
	for _, p := range parts {
		if !p.isVar {
			cur.WriteString(p.text)
			have = true
			continue
		}
		v := get(p.text)
		if p.quoted {
			cur.WriteString(v)
			have = true
			continue
		}
		if v == "" {
			continue
		}
		if isIFS(rune(v[0])) {
			emit()
		}
		for i, f := range strings.FieldsFunc(v, isIFS) {
			if i > 0 {
				emit()
			}
			cur.WriteString(f)
			have = true
		}
		if isIFS(rune(v[len(v)-1])) {
			emit()
		}
	}
	emit()
	return out
}

func isIFS(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }
