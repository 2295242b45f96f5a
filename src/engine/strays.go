package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// HalfBuilt lists instance directories that have no readable record: a Run killed before it
// wrote one. List does not show them; RemoveHalfBuilt removes them.
func (e *Engine) HalfBuilt() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(e.cfg.StateDir, "instances"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ent := range entries {
		if !ent.IsDir() || strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		if _, err := e.dir(ent.Name()).readRecord(); err != nil {
			out = append(out, ent.Name())
		}
	}
	return out, nil
}

// RemoveHalfBuilt removes a half-built instance: its VMM if one was started, its network
// attachment, its directory.
func (e *Engine) RemoveHalfBuilt(ctx context.Context, id string) error {
	if !validRef(id) || len(id) != 12 {
		return fmt.Errorf("%w: %q is not an instance id", ErrNoInstance, id)
	}
	d := e.dir(id)
	if m, err := e.driver.Open(d.Dir, id); err == nil && m.Alive() {
		if err := m.Kill(); err != nil {
			return fmt.Errorf("remove half-built %s: %w", id, err)
		}
	}
	return errors.Join(e.net.Detach(ctx, id), os.RemoveAll(string(d.Dir)))
}
