package buildpack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/unik-cf/unik/src/droplet"
)

// Release writes bin/release's YAML: the image's start command as the web process, so Cloud
// Controller shows the command the microVM runs. (A Procfile's web: line, which the lifecycle
// prefers, is the same command: finalize takes it first.)
func Release(buildDir string, w io.Writer) error {
	l := droplet.Layout{AppDir: buildDir}
	data, err := os.ReadFile(l.Image())
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("release: %w: %s is missing (finalize did not run or failed)", droplet.ErrNoImage, l.Image())
	}
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	img, err := droplet.DecodeImage(data)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	// A JSON string is a valid YAML double-quoted scalar.
	cmd, err := json.Marshal(img.Manifest.StartCommand)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	_, err = fmt.Fprintf(w, "---\ndefault_process_types:\n  web: %s\n", cmd)
	return err
}
