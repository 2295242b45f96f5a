package localdiego

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Env is what local Diego publishes for its clients (unik-push, people): written to
// <dir>/env.json while it runs.
type Env struct {
	BBSURL     string   `json:"bbs_url"`
	CACert     string   `json:"ca_cert"`
	Cert       string   `json:"cert"`
	Key        string   `json:"key"`
	DropletDir string   `json:"droplet_dir"` // unik-push copies droplets here
	DropletURL string   `json:"droplet_url"` // ...and they are served under this URL
	Cells      []string `json:"cells"`
	LogFile    string   `json:"log_file"` // app logs received by the loggregator ingress
	Dir        string   `json:"dir"`
}

// EnvPath is where Env is written.
func EnvPath(dir string) string { return filepath.Join(dir, "env.json") }

// WriteEnv writes e to EnvPath(e.Dir).
func WriteEnv(e Env) error { return writeJSON(EnvPath(e.Dir), e) }

// ReadEnv reads the Env of a running local Diego.
func ReadEnv(dir string) (Env, error) {
	var e Env
	b, err := os.ReadFile(EnvPath(dir))
	if err != nil {
		return e, err
	}
	return e, json.Unmarshal(b, &e)
}
