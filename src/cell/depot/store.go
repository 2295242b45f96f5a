package depot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"code.cloudfoundry.org/executor"
)

// record is what the depot keeps on disk about a container.
type record struct {
	Container executor.Container `json:"container"`
	VMID      string             `json:"vm_id,omitempty"`      // the engine instance
	VMStarted time.Time          `json:"vm_started,omitempty"` // when the VM was booted
	ImageSize int64              `json:"image_size,omitempty"` // payload bytes (disk usage)
	LogSource string             `json:"log_source,omitempty"` // the app's (APP/PROC/WEB)
	// Result is a completed task's result file (TaskResult); ResultError why it could not be read.
	Result      string `json:"result,omitempty"`
	ResultError string `json:"result_error,omitempty"`
}

// recordDir holds one JSON file per container guid.
type recordDir string

func (d recordDir) path(guid string) string { return filepath.Join(string(d), safeName(guid)+".json") }

// safeName keeps guids that are file names as they are and maps any other character.
func safeName(guid string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, guid)
}

func (d recordDir) write(r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := d.path(r.Container.Guid) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write container record: %w", err)
	}
	return os.Rename(tmp, d.path(r.Container.Guid))
}

func (d recordDir) remove(guid string) error {
	err := os.Remove(d.path(guid))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (d recordDir) readAll() ([]record, error) {
	files, err := filepath.Glob(filepath.Join(string(d), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []record
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil || r.Container.Guid == "" {
			os.Remove(f) // half-written by a crash: nothing to recover from it
			continue
		}
		out = append(out, r)
	}
	tmps, _ := filepath.Glob(filepath.Join(string(d), "*.tmp"))
	for _, t := range tmps {
		os.Remove(t)
	}
	return out, nil
}
