package startcmd

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func lookupFrom(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

var testVars = map[string]string{
	"PORT":  "8080",
	"HOME":  "/home/vcap/app",
	"ARGS":  "  -a  b\tc ",
	"EMPTY": "",
	"SP":    " ",
	"X":     "x",
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		cmd     string
		env     []string
		argv    []string
		program string // "" means Program() reports false
	}{
		{cmd: "./hello", argv: []string{"./hello"}, program: "./hello"},
		{cmd: "  ./hello   a\tb  ", argv: []string{"./hello", "a", "b"}, program: "./hello"},
		{cmd: "exec ./hello", argv: []string{"./hello"}, program: "./hello"},
		{cmd: "A=1 B=$A exec ./app $A", env: []string{"A=1", "B=1"}, argv: []string{"./app"}, program: "./app"},
		{cmd: "./app --port=$PORT", argv: []string{"./app", "--port=8080"}, program: "./app"},
		{cmd: "./app ${PORT}x ${UNSET}y", argv: []string{"./app", "8080x", "y"}, program: "./app"},
		{cmd: `./app 'a b' "c d" e\ f`, argv: []string{"./app", "a b", "c d", "e f"}, program: "./app"},
		{cmd: `./app '$PORT' "$PORT" \$PORT`, argv: []string{"./app", "$PORT", "8080", "$PORT"}, program: "./app"},
		{cmd: `./app "a\"b" "a\\b" "a\$b" "a\b" "a\` + "`" + `b"`, argv: []string{"./app", `a"b`, `a\b`, `a$b`, `a\b`, "a`b"}, program: "./app"},
		{cmd: `./app '' "" x""y`, argv: []string{"./app", "", "", "xy"}, program: "./app"},
		{cmd: `./app $EMPTY $UNSET "$EMPTY"`, argv: []string{"./app", ""}, program: "./app"},
		{cmd: `./app $ARGS`, argv: []string{"./app", "-a", "b", "c"}, program: "./app"},
		{cmd: `./app x$ARGS"y"`, argv: []string{"./app", "x", "-a", "b", "c", "y"}, program: "./app"},
		{cmd: `./app "$ARGS"`, argv: []string{"./app", "  -a  b\tc "}, program: "./app"},
		{cmd: `./app $X$SP$X`, argv: []string{"./app", "x", "x"}, program: "./app"},
		{cmd: `$X/app`, argv: []string{"x/app"}},
		{cmd: `"./my app" a`, argv: []string{"./my app", "a"}, program: "./my app"},
		{cmd: `./app a=b x~ "~" \~ a=\~ --a=~ a:~`, argv: []string{"./app", "a=b", "x~", "~", "~", "a=~", "--a=~", "a:~"}, program: "./app"},
		{cmd: `A="x y" B='$PORT' C=$PORT:$HOME D= ./app`, env: []string{"A=x y", "B=$PORT", "C=8080:/home/vcap/app", "D="},
			argv: []string{"./app"}, program: "./app"},
		{cmd: `A=$ARGS ./app`, env: []string{"A=  -a  b\tc "}, argv: []string{"./app"}, program: "./app"},
		{cmd: "./app a \\\n b", argv: []string{"./app", "a", "b"}, program: "./app"},
		{cmd: "./app a\n", argv: []string{"./app", "a"}, program: "./app"},
		{cmd: "./app a # a comment; | &", argv: []string{"./app", "a"}, program: "./app"},
		{cmd: "./app a#b $ a$ \"$\" x$/", argv: []string{"./app", "a#b", "$", "a$", "$", "x$/"}, program: "./app"},
		{cmd: `./app "it's" 'say "hi"'`, argv: []string{"./app", "it's", `say "hi"`}, program: "./app"},
		{cmd: `./app ] ^ % , - @ ! =`, argv: []string{"./app", "]", "^", "%", ",", "-", "@", "!", "="}, program: "./app"},
		{cmd: `./app "*?[" '{a,b}'`, argv: []string{"./app", "*?[", "{a,b}"}, program: "./app"},
		{cmd: `"exec" ./app`, argv: []string{"./app"}, program: "./app"},
		{cmd: `"if" ./app`, argv: []string{"if", "./app"}, program: "if"},
		{cmd: `./app héllo`, argv: []string{"./app", "héllo"}, program: "./app"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			c, err := Parse(tt.cmd)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			env, argv, err := c.Expand(lookupFrom(testVars))
			if err != nil {
				t.Fatalf("Expand: %v", err)
			}
			if !reflect.DeepEqual(env, tt.env) {
				t.Errorf("env = %q, want %q", env, tt.env)
			}
			if !reflect.DeepEqual(argv, tt.argv) {
				t.Errorf("argv = %q, want %q", argv, tt.argv)
			}
			prog, ok := c.Program()
			if ok != (tt.program != "") || prog != tt.program {
				t.Errorf("Program() = %q, %v; want %q", prog, ok, tt.program)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		cmd     string
		err     error
		feature string // substring of the message
		offset  int
	}{
		{"./app | grep x", ErrShellFeature, `a pipe ("|")`, 6},
		{"./app || ./b", ErrShellFeature, `("||")`, 6},
		{"./app && ./b", ErrShellFeature, `("&&")`, 6},
		{"./app; ./b", ErrShellFeature, `(";")`, 5},
		{"./app &", ErrShellFeature, "background", 6},
		{"./app > log", ErrShellFeature, `redirection (">")`, 6},
		{"./app >> log", ErrShellFeature, `redirection (">>")`, 6},
		{"./app 2>&1", ErrShellFeature, `redirection (">&")`, 7},
		{"./app < in", ErrShellFeature, "redirection", 6},
		{"./app &> log", ErrShellFeature, `("&>")`, 6},
		{"./app <(x)", ErrShellFeature, "process substitution", 6},
		{"./app $(date)", ErrShellFeature, `command substitution ("$(")`, 6},
		{"./app \"$(date)\"", ErrShellFeature, "command substitution", 7},
		{"./app `date`", ErrShellFeature, "command substitution", 6},
		{"./app \"`date`\"", ErrShellFeature, "command substitution", 7},
		{"./app $((1+2))", ErrShellFeature, "arithmetic", 6},
		{"(./app)", ErrShellFeature, "subshell", 0},
		{"./app *.txt", ErrShellFeature, `glob pattern ("*")`, 6},
		{"./app file?", ErrShellFeature, `("?")`, 10},
		{"./app [ab]", ErrShellFeature, `("[")`, 6},
		{"./app {a,b}", ErrShellFeature, "brace", 6},
		{"./app ${PORT:-8080}", ErrShellFeature, `parameter operator ("${PORT:-8080}")`, 6},
		{"./app ${#PORT}", ErrShellFeature, "parameter operator", 6},
		{"./app \"${PORT%0}\"", ErrShellFeature, "parameter operator", 7},
		{"./app ~/x", ErrShellFeature, "tilde", 6},
		{"A=~/x ./app", ErrShellFeature, "tilde", 2},
		{"A=/x:~/y ./app", ErrShellFeature, "tilde", 5},
		{"./app $1", ErrShellFeature, `special parameter "$1"`, 6},
		{"./app $@", ErrShellFeature, "special parameter", 6},
		{"./app $'a'", ErrShellFeature, "ANSI-C", 6},
		{"./app\n./b", ErrShellFeature, "newline", 5},
		{"if ./app", ErrShellFeature, `keyword "if"`, 0},
		{"A=1 while ./app", ErrShellFeature, `keyword "while"`, 4},
		{"./app ~", ErrShellFeature, "tilde", 6},
		{"./app a=~", ErrShellFeature, "tilde", 8},
		{"./app a=b:~", ErrShellFeature, "tilde", 10},
		{"! ./app", ErrShellFeature, `keyword "!"`, 0},
		{"time ./app", ErrShellFeature, "keyword", 0},
		{"exec -a name ./app", ErrShellFeature, "exec option", 5},
		{"", ErrEmpty, "no program", 0},
		{"   \t ", ErrEmpty, "no program", 5},
		{"# only a comment", ErrEmpty, "no program", 16},
		{"A=1 B=2", ErrEmpty, "no program", 7},
		{"exec", ErrEmpty, "no program", 4},
		{`"" a`, ErrEmpty, "empty program name", 0},
		{"./app 'x", ErrSyntax, "unterminated single quote", 6},
		{"./app \"x", ErrSyntax, "unterminated double quote", 6},
		{"./app x\\", ErrSyntax, "trailing backslash", 7},
		{"./app ${PORT", ErrSyntax, "unterminated", 6},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			c, err := Parse(tt.cmd)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want error", c)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v is not %v", err, tt.err)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error", err)
			}
			if pe.Offset != tt.offset {
				t.Errorf("offset = %d, want %d (%v)", pe.Offset, tt.offset, err)
			}
			if !strings.Contains(err.Error(), tt.feature) {
				t.Errorf("message %q does not mention %q", err, tt.feature)
			}
			if tt.err == ErrShellFeature && !strings.Contains(err.Error(), "the guest has no shell") {
				t.Errorf("message %q does not say the guest has no shell", err)
			}
		})
	}
}

func TestPipeMessage(t *testing.T) {
	_, err := Parse("./app --x | tee log")
	want := `start command uses a pipe ("|") at offset 10: the guest has no shell; `
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %v, want prefix %q", err, want)
	}
}

func TestExpandEmptyProgram(t *testing.T) {
	for _, cmd := range []string{"$UNSET", "$EMPTY $UNSET", `"$EMPTY" ./app`} {
		c, err := Parse(cmd)
		if err != nil {
			t.Fatalf("Parse(%q): %v", cmd, err)
		}
		if _, _, err := c.Expand(lookupFrom(testVars)); !errors.Is(err, ErrEmptyProgram) {
			t.Errorf("Expand(%q) error = %v, want ErrEmptyProgram", cmd, err)
		}
	}
	// Field splitting can drop an empty unquoted variable, making the next word the program.
	c, err := Parse("$EMPTY ./app")
	if err != nil {
		t.Fatal(err)
	}
	if _, argv, err := c.Expand(lookupFrom(testVars)); err != nil || !reflect.DeepEqual(argv, []string{"./app"}) {
		t.Errorf("argv = %q, err = %v", argv, err)
	}
	if _, _, err := (&Command{}).Expand(nil); !errors.Is(err, ErrEmptyProgram) {
		t.Errorf("zero Command: err = %v", err)
	}
}

func TestExpandNilLookup(t *testing.T) {
	c, err := Parse("A=$PORT ./app $PORT x")
	if err != nil {
		t.Fatal(err)
	}
	env, argv, err := c.Expand(nil)
	if err != nil || !reflect.DeepEqual(env, []string{"A="}) || !reflect.DeepEqual(argv, []string{"./app", "x"}) {
		t.Errorf("env = %q, argv = %q, err = %v", env, argv, err)
	}
}
