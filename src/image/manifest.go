package image

import (
	"encoding/json"
	"fmt"
)

// Guest paths and identities of the image layout.
const (
	SchemaVersion = 1                     // Manifest.SchemaVersion written by this package
	GuestAppDir   = "/home/vcap/app"      // where the app directory is copied
	GuestInit     = "/init"               // the guest init binary
	ManifestPath  = "/unik/manifest.json" // the manifest
	VcapUser      = "vcap"                // the user running the app
	VcapUID       = 2000
	VcapGID       = 2000
	DefaultPort   = 8080

	maxManifestSize = 1 << 20
)

// Manifest describes the image for the engine and the guest init. It is stored as JSON at
// ManifestPath.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	StartCommand  string `json:"start_command"` // as given; parsed by startcmd at build and run time
	Program       string `json:"program"`       // absolute guest path of argv[0], e.g. /home/vcap/app/hello
	WorkDir       string `json:"work_dir"`      // GuestAppDir
	User          string `json:"user"`          // VcapUser
	UID           int    `json:"uid"`
	GID           int    `json:"gid"`
	Ports         []int  `json:"ports"`
	// Env holds defaults baked into the image (BuildOptions.Env, plus LD_LIBRARY_PATH when a
	// library lives in a directory the guest's loader would not search by itself). Never secrets.
	Env         map[string]string `json:"env,omitempty"`
	Interpreter string            `json:"interpreter,omitempty"` // ELF interpreter (PT_INTERP)
	Libraries   []string          `json:"libraries,omitempty"`   // guest paths of the shared libraries, sorted
}

func encodeManifest(m Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

func decodeManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("read image manifest: %w: %w", ErrCorruptPayload, err)
	}
	if m.SchemaVersion != SchemaVersion {
		return Manifest{}, fmt.Errorf("read image manifest: %w: schema_version %d, this build understands %d; rebuild the image",
			ErrCorruptPayload, m.SchemaVersion, SchemaVersion)
	}
	return m, nil
}
