// Command configcheck holds the unik-cell job's rendered config to the cell's own Go contract
// (src/cell/config): it decodes the file as config.Load does (unknown fields refused), fills
// the defaults and validates, with the file paths that only exist on a cell (certificates,
// guest init) pointed at placeholders. It prints the decoded config as JSON.
//
//	go build -o configcheck ./spec/testdata/configcheck && configcheck unik-cell.json
//
// It lives under testdata so that `go build ./...` and `go vet ./...` leave it alone; the
// release's RSpec suite builds and runs it (spec/config_contract_spec.rb).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/unik-cf/unik/src/cell/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "configcheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: configcheck CONFIG.json")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var c config.Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("decode %s: %w", args[0], err)
	}
	dir, err := os.MkdirTemp("", "configcheck")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	placeholder := func(p *string) error {
		if *p == "" {
			return nil
		}
		*p = filepath.Join(dir, filepath.Base(*p))
		return os.WriteFile(*p, nil, 0o600)
	}
	for _, p := range []*string{&c.CaCertFile, &c.CertFile, &c.KeyFile, &c.VM.InitPath} {
		if err := placeholder(p); err != nil {
			return err
		}
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
