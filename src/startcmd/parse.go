package startcmd

import (
	"fmt"
	"strings"
)

const (
	hintDefault  = "run one program with its arguments and move this logic into the program (or a wrapper binary)"
	hintQuote    = "quote the character if it is meant literally"
	hintRedirect = "stdout and stderr already go to separate logs; move the redirection into the program"
)

// isReserved reports whether s is a shell reserved word, which would make the command a
// compound command.
func isReserved(s string) bool {
	switch s {
	case "!", "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until",
		"do", "done", "function", "time", "[[", "]]", "coproc", "{", "}":
		return true
	}
	return false
}

// Parse checks and splits cmd. It supports words separated by blanks; single quotes (literal);
// double quotes (with $VAR/${VAR} expansion and backslash escapes of \ " $ `); backslash
// escapes and line continuations outside quotes; $VAR and ${VAR} outside single quotes;
// comments; leading NAME=value assignments (they become environment of the program); a
// leading exec word, which is dropped. Anything else a shell would do is an *Error.
func Parse(cmd string) (*Command, error) {
	p := &parser{src: cmd}
	words, err := p.words()
	if err != nil {
		return nil, err
	}
	c := &Command{}
	i := 0
	for ; i < len(words) && words[i].assign != ""; i++ {
		c.assigns = append(c.assigns, assignment{name: words[i].assign, value: words[i].parts})
	}
	if i < len(words) && literal(words[i]) == "exec" { // a builtin: quoting does not matter
		i++
		if i < len(words) && strings.HasPrefix(words[i].raw, "-") {
			return nil, &Error{Offset: words[i].offset, Feature: fmt.Sprintf("an exec option (%q)", words[i].raw),
				Hint: hintDefault, Err: ErrShellFeature}
		}
	}
	if i == len(words) {
		what := "no program word"
		if len(words) > 0 {
			what = "only assignments or exec, no program"
		}
		return nil, &Error{Offset: len(cmd), Feature: what,
			Hint: "give the program to run, e.g. ./my-app", Err: ErrEmpty}
	}
	first := words[i]
	if isReserved(first.raw) {
		return nil, &Error{Offset: first.offset, Feature: fmt.Sprintf("the shell keyword %q", first.raw),
			Hint: hintDefault, Err: ErrShellFeature}
	}
	if prog, ok := (&Command{words: words[i : i+1]}).Program(); ok && prog == "" {
		return nil, &Error{Offset: first.offset, Feature: "an empty program name",
			Hint: "give the program to run, e.g. ./my-app", Err: ErrEmpty}
	}
	for _, w := range words[i:] {
		w.assign = ""
		c.words = append(c.words, w)
	}
	return c, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) peek(off int) byte {
	if p.pos+off < len(p.src) {
		return p.src[p.pos+off]
	}
	return 0
}

func (p *parser) unsupported(off int, feature, hint string) error {
	return &Error{Offset: off, Feature: feature, Hint: hint, Err: ErrShellFeature}
}

func (p *parser) syntax(off int, feature string) error {
	return &Error{Offset: off, Feature: feature, Err: ErrSyntax}
}

// words splits the whole command into words.
func (p *parser) words() ([]word, error) {
	var out []word
	inAssign := true
	for {
		for p.pos < len(p.src) {
			if c := p.src[p.pos]; c == ' ' || c == '\t' {
				p.pos++
			} else if c == '\\' && p.peek(1) == '\n' {
				p.pos += 2
			} else {
				break
			}
		}
		if p.pos >= len(p.src) {
			return out, nil
		}
		switch p.src[p.pos] {
		case '\n':
			if strings.TrimSpace(p.src[p.pos:]) == "" {
				return out, nil
			}
			return nil, p.unsupported(p.pos, "a newline (a command list)", hintDefault)
		case '#':
			end := strings.IndexByte(p.src[p.pos:], '\n')
			if end < 0 {
				return out, nil
			}
			p.pos += end
			continue
		}
		w, err := p.word(inAssign)
		if err != nil {
			return nil, err
		}
		inAssign = inAssign && w.assign != ""
		out = append(out, w)
	}
}

// word reads one word starting at p.pos.
func (p *parser) word(inAssign bool) (word, error) {
	w := word{offset: p.pos}
	tildeAt := p.pos // a tilde here would be expanded by a shell
	// bash expands a tilde after the = and after each : of any word shaped like an assignment.
	assignShape := false
	if n := nameLen(p.src[p.pos:]); n > 0 && p.peek(n) == '=' {
		assignShape = true
		if inAssign {
			w.assign = p.src[p.pos : p.pos+n]
		} else {
			w.add(part{text: p.src[p.pos : p.pos+n+1]})
		}
		p.pos += n + 1
		tildeAt = p.pos
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '~' && p.pos == tildeAt {
			return w, p.unsupported(p.pos, `tilde expansion ("~")`, "use $HOME or an absolute path")
		}
		switch c {
		case ' ', '\t', '\n':
			w.raw = p.src[w.offset:p.pos]
			return w, nil
		case '\'':
			end := strings.IndexByte(p.src[p.pos+1:], '\'')
			if end < 0 {
				return w, p.syntax(p.pos, "an unterminated single quote")
			}
			w.add(part{text: p.src[p.pos+1 : p.pos+1+end], quoted: true})
			p.pos += end + 2
		case '"':
			if err := p.doubleQuoted(&w); err != nil {
				return w, err
			}
		case '\\':
			switch p.peek(1) {
			case 0:
				return w, p.syntax(p.pos, "a trailing backslash")
			case '\n':
			default:
				w.add(part{text: p.src[p.pos+1 : p.pos+2]})
			}
			p.pos += 2
		case '$':
			if err := p.dollar(&w, false); err != nil {
				return w, err
			}
		case ':':
			w.add(part{text: ":"})
			p.pos++
			if assignShape {
				tildeAt = p.pos
			}
		default:
			if err := p.operator(c); err != nil {
				return w, err
			}
			w.add(part{text: p.src[p.pos : p.pos+1]})
			p.pos++
		}
	}
	w.raw = p.src[w.offset:p.pos]
	return w, nil
}

// operator rejects an unquoted character that is special to the shell.
func (p *parser) operator(c byte) error {
	next := p.peek(1)
	switch c {
	case '|':
		if next == '|' {
			return p.unsupported(p.pos, `a command list ("||")`, hintDefault)
		}
		return p.unsupported(p.pos, `a pipe ("|")`, hintDefault)
	case '&':
		if next == '&' {
			return p.unsupported(p.pos, `a command list ("&&")`, hintDefault)
		}
		if next == '>' {
			return p.unsupported(p.pos, `a redirection ("&>")`, hintRedirect)
		}
		return p.unsupported(p.pos, `a background job ("&")`, hintDefault)
	case ';':
		return p.unsupported(p.pos, `a command list (";")`, hintDefault)
	case '<', '>':
		if next == '(' {
			return p.unsupported(p.pos, fmt.Sprintf("process substitution (%q)", string(c)+"("), hintDefault)
		}
		return p.unsupported(p.pos, fmt.Sprintf("a redirection (%q)", redirection(p.src[p.pos:])), hintRedirect)
	case '(', ')':
		return p.unsupported(p.pos, fmt.Sprintf("a subshell (%q)", string(c)), hintDefault)
	case '`':
		return p.unsupported(p.pos, "command substitution (\"`\")", hintDefault)
	case '*', '?', '[':
		return p.unsupported(p.pos, fmt.Sprintf("a glob pattern (%q)", string(c)),
			"list the files explicitly or "+hintQuote)
	case '{', '}':
		return p.unsupported(p.pos, fmt.Sprintf("brace expansion or a group (%q)", string(c)), hintQuote)
	}
	return nil
}

// redirection returns the redirection operator at the start of s, e.g. ">", ">>", ">&".
func redirection(s string) string {
	n := 1
	for n < len(s) && n < 3 && strings.IndexByte("<>&|", s[n]) >= 0 {
		n++
	}
	return s[:n]
}

// doubleQuoted reads a double-quoted string starting at p.pos.
func (p *parser) doubleQuoted(w *word) error {
	start := p.pos
	p.pos++
	w.add(part{quoted: true}) // "" is an (empty) word of its own
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '"':
			p.pos++
			return nil
		case '\\':
			switch n := p.peek(1); n {
			case '\\', '"', '$', '`':
				w.add(part{text: string(n), quoted: true})
				p.pos += 2
			case '\n':
				p.pos += 2
			default:
				w.add(part{text: `\`, quoted: true})
				p.pos++
			}
		case '$':
			if err := p.dollar(w, true); err != nil {
				return err
			}
		case '`':
			return p.unsupported(p.pos, "command substitution (\"`\")", hintDefault)
		default:
			w.add(part{text: p.src[p.pos : p.pos+1], quoted: true})
			p.pos++
		}
	}
	return p.syntax(start, "an unterminated double quote")
}

// dollar reads a $ expression starting at p.pos.
func (p *parser) dollar(w *word, quoted bool) error {
	start := p.pos
	next := p.peek(1)
	switch {
	case next == '(' && p.peek(2) == '(', next == '[':
		return p.unsupported(start, fmt.Sprintf("arithmetic expansion (%q)", p.src[start:start+2]), hintDefault)
	case next == '(':
		return p.unsupported(start, `command substitution ("$(")`, hintDefault)
	case next == '{':
		return p.braced(w, quoted)
	case nameLen(p.src[p.pos+1:]) > 0:
		n := nameLen(p.src[p.pos+1:])
		w.add(part{text: p.src[p.pos+1 : p.pos+1+n], isVar: true, quoted: quoted})
		p.pos += 1 + n
		return nil
	case next >= '0' && next <= '9', next != 0 && strings.IndexByte("@*#?$!-", next) >= 0:
		return p.unsupported(start, fmt.Sprintf("the special parameter %q", p.src[start:start+2]),
			"use a named environment variable")
	case !quoted && next == '\'':
		return p.unsupported(start, `ANSI-C quoting ("$'...'")`, "use single or double quotes")
	case !quoted && next == '"':
		return p.unsupported(start, `locale translation ("$\"...\"")`, "use double quotes")
	}
	w.add(part{text: "$", quoted: quoted})
	p.pos++
	return nil
}

// braced reads ${NAME} starting at p.pos; any operator inside the braces is rejected.
func (p *parser) braced(w *word, quoted bool) error {
	start := p.pos
	end := strings.IndexByte(p.src[start:], '}')
	if end < 0 {
		return p.syntax(start, `an unterminated "${"`)
	}
	inner := p.src[start+2 : start+end]
	if n := nameLen(inner); n > 0 && n == len(inner) {
		w.add(part{text: inner, isVar: true, quoted: quoted})
		p.pos = start + end + 1
		return nil
	}
	return p.unsupported(start, fmt.Sprintf("a parameter operator (%q)", p.src[start:start+end+1]),
		"only plain $VAR and ${VAR} are supported; set defaults through the app's environment")
}

// literal returns the text of a word without variables ("" if it has any).
func literal(w word) string {
	prog, _ := (&Command{words: []word{w}}).Program()
	return prog
}

// add appends a part to the word, merging adjacent literal text.
func (w *word) add(pt part) {
	if n := len(w.parts); n > 0 && !pt.isVar && !w.parts[n-1].isVar {
		w.parts[n-1].text += pt.text
		return
	}
	w.parts = append(w.parts, pt)
}

// nameLen returns the length of the shell variable name at the start of s (0 if none).
func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return i
		}
	}
	return len(s)
}
