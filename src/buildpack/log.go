package buildpack

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// logger writes the staging log in the usual buildpack style: "-----> " for steps, seven
// spaces for details, "**ERROR**" / "**WARNING**" for problems.
type logger struct{ out, err io.Writer }

func (l logger) Step(format string, a ...any) { fmt.Fprintf(l.out, "-----> "+format+"\n", a...) }

func (l logger) Info(format string, a ...any) {
	fmt.Fprint(l.out, indent(fmt.Sprintf(format, a...)))
}

func (l logger) Warn(format string, a ...any) {
	fmt.Fprint(l.out, indent("**WARNING** "+fmt.Sprintf(format, a...)))
}

func (l logger) Error(format string, a ...any) {
	fmt.Fprint(l.err, indent("**ERROR** "+fmt.Sprintf(format, a...)))
}

// indent prefixes every line with seven spaces and ends with a newline.
func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("       ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// tail returns at most n last lines of out.
func tail(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = append([][]byte{[]byte(fmt.Sprintf("... (%d lines above)", len(lines)-n))}, lines[len(lines)-n:]...)
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// size formats a byte count.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
