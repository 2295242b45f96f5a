package localdiego

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"code.cloudfoundry.org/go-loggregator/v9/rpc/loggregator_v2"

	"github.com/unik-cf/unik/src/devenv/push"
)

// Serve adds what people use next to a local Diego: a droplet server (for unik-push), app
// logs printed to out and kept in <dir>/app.log, and <dir>/env.json. The function returned
// stops the droplet server.
func Serve(d *Diego, out io.Writer) (Env, func(), error) {
	dropletDir := filepath.Join(d.opts.Dir, "droplets")
	if err := os.MkdirAll(dropletDir, 0o755); err != nil {
		return Env{}, nil, err
	}
	srv, err := push.ServeDir("127.0.0.1:0", dropletDir)
	if err != nil {
		return Env{}, nil, err
	}
	logPath := filepath.Join(d.opts.Dir, "app.log")
	logf, err := os.Create(logPath)
	if err != nil {
		srv.Close()
		return Env{}, nil, err
	}
	var mu sync.Mutex
	d.Ingress.SetOnEnvelope(func(e *loggregator_v2.Envelope) {
		line := FormatLog(e)
		if line == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(logf, line)
		if out != nil {
			fmt.Fprintln(out, line)
		}
	})
	env := Env{BBSURL: d.BBSURL, CACert: d.Certs.CA(), Cert: d.Certs.Cert(), Key: d.Certs.Key(),
		DropletDir: dropletDir, DropletURL: srv.URL + "/droplets", LogFile: logPath, Dir: d.opts.Dir}
	for _, c := range d.Cells {
		env.Cells = append(env.Cells, c.ID)
	}
	if err := WriteEnv(env); err != nil {
		srv.Close()
		return Env{}, nil, err
	}
	return env, func() { srv.Close(); logf.Close() }, nil
}

// FormatLog renders a log envelope as `cf logs` does: time [SOURCE/INSTANCE] OUT|ERR message.
func FormatLog(e *loggregator_v2.Envelope) string {
	l := e.GetLog()
	if l == nil {
		return ""
	}
	stream := "OUT"
	if l.Type == loggregator_v2.Log_ERR {
		stream = "ERR"
	}
	src := e.Tags["source_type"]
	app := e.Tags["app_name"]
	if app == "" {
		app = e.SourceId
	}
	return fmt.Sprintf("%s [%s/%s] %s %s", app, src, e.InstanceId, stream, strings.TrimRight(string(l.Payload), "\n"))
}
