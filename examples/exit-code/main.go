// Command exit-code writes one line to stdout and one to stderr, then exits with status 3, or
// with $EXIT_CODE when set. UniK tests use it to check exit-status and log delivery.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	code := 3
	if v := os.Getenv("EXIT_CODE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			fmt.Fprintf(os.Stderr, "exit-code: EXIT_CODE=%q is not 0..255\n", v)
			os.Exit(2)
		}
		code = n
	}
	fmt.Fprintln(os.Stdout, "exit-code: stdout line")
	fmt.Fprintln(os.Stderr, "exit-code: stderr line")
	os.Exit(code)
}
