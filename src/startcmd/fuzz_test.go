package startcmd

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"./hello", "A=1 exec ./app --port=$PORT", `./a 'b c' "d $E ${F}" g\ h`, "./a | b",
		"./a ${X:-y}", "./a $(b)", "~/x", "A=x:~ y", "./a $'x'", "\"", "'", "\\", "${", "$", "# c\n./a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(s) {
				t.Fatalf("Parse(%q) = %v: want *Error with offset in range", s, err)
			}
			return
		}
		env, argv, err := c.Expand(func(name string) (string, bool) { return " " + name + " x", true })
		if err == nil && (len(argv) == 0 || argv[0] == "") {
			t.Fatalf("Expand(%q) gave empty argv[0] without error", s)
		}
		_ = env
		c.Program()
	})
}
