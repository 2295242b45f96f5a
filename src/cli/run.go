package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/network"
)

func cmdRun(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var ports multi
	var envSources []envSource
	fs.Var(envFlag{list: &envSources}, "env", "NAME=value, or NAME to take the value from unik's environment; repeatable")
	fs.Var(envFlag{list: &envSources, file: true}, "env-file", "a file of NAME=value lines; repeatable")
	fs.Var(&ports, "port", "HOST:GUEST, repeatable")
	memory := fs.Int("memory", 128, "memory in MB")
	cpus := fs.Int("cpus", 1, "virtual CPUs")
	asJSON := fs.Bool("json", false, "machine-readable output")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the app to answer HTTP")
	wait := fs.Bool("wait", true, "wait until the app answers HTTP")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("run: want one image name, got %d arguments", len(pos))
	}
	reqs, err := portRequests(ports)
	if err != nil {
		return err
	}
	envs, err := appEnv(envSources, c.lookupEnv)
	if err != nil {
		return err
	}
	img, err := c.store().Get(pos[0])
	if err != nil {
		return err
	}
	if len(reqs) == 0 {
		for _, p := range img.Manifest.Ports {
			reqs = append(reqs, network.PortRequest{GuestPort: uint16(p)})
		}
	}
	if !hasEnv(envs, "PORT") && len(reqs) > 0 {
		// as Cloud Foundry does: the app listens where its first port is forwarded
		envs = append([]string{fmt.Sprintf("PORT=%d", reqs[0].GuestPort)}, envs...)
	}
	e, err := c.engine()
	if err != nil {
		return err
	}
	if k, err := e.Kernel(); err == nil && k.Fallback && c.s.kernelDir == "" {
		fmt.Fprintf(c.env.Stderr, "unik: warning: booting the fallback kernel %s: the minimal kernel is not built (scripts/build-kernel)\n", k.Name)
	}
	c.progress("booting %s...", img.Name)
	start := time.Now()
	info, err := e.Run(ctx, engine.RunSpec{Image: img, Env: envs, Ports: reqs, MemoryMB: *memory, CPUs: *cpus})
	if err != nil {
		return err
	}
	url := instanceURL(info)
	if *wait && url != "" {
		c.progress("instance %s booting (%s), waiting for %s", info.ID, info.Accel, url)
		if info, err = waitHTTP(ctx, e, info.ID, url, *timeout); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	if *asJSON {
		out := map[string]any{"id": info.ID, "url": url, "state": info.State, "accel": info.Accel,
			"kernel": info.Kernel, "guest_ip": info.Network.GuestIP.Addr().String(), "boot_ms": elapsed.Milliseconds()}
		if len(info.Network.Ports) > 0 {
			out["host_port"] = info.Network.Ports[0].HostPort
		}
		return json.NewEncoder(c.env.Stdout).Encode(out)
	}
	fmt.Fprintf(c.env.Stdout, "%s %s\n", info.ID, url)
	return nil
}

// portRequests parses HOST:GUEST (or GUEST alone: any free host port).
func portRequests(specs []string) ([]network.PortRequest, error) {
	var out []network.PortRequest
	for _, s := range specs {
		h, g, ok := strings.Cut(s, ":")
		if !ok {
			h, g = "0", s
		}
		hp, err1 := strconv.ParseUint(h, 10, 16)
		gp, err2 := strconv.ParseUint(g, 10, 16)
		if err1 != nil || err2 != nil || gp == 0 {
			return nil, usagef("run: --port %q is not HOST:GUEST (ports 1-65535; HOST 0 = any)", s)
		}
		out = append(out, network.PortRequest{HostPort: uint16(hp), GuestPort: uint16(gp)})
	}
	return out, nil
}

func instanceURL(info engine.Info) string {
	if len(info.Network.Ports) == 0 {
		return ""
	}
	p := info.Network.Ports[0]
	return fmt.Sprintf("http://%s:%d", p.HostIP, p.HostPort)
}

// waitHTTP polls url until any HTTP answer, the instance ends, or the timeout.
func waitHTTP(ctx context.Context, e *engine.Engine, id, url string, timeout time.Duration) (engine.Info, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		info, gerr := e.Get(id)
		if gerr == nil && info.State == engine.StateRunning {
			// probe only once init reports the app started: an earlier probe to a guest
			// that is not up yet leaves a failed ARP entry that costs about a second
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				return e.Get(id)
			}
			info, gerr = e.Get(id)
		}
		if gerr != nil {
			return info, gerr
		}
		if info.State != engine.StateBooting && info.State != engine.StateRunning {
			return info, fmt.Errorf("instance %s is %s before answering HTTP%s (see `unik logs %s`)", id, info.Display(), reason(info), id)
		}
		if time.Now().After(deadline) {
			return info, fmt.Errorf("instance %s did not answer HTTP at %s within %s; it is still %s (see `unik logs %s`)", id, url, timeout, info.Display(), id)
		}
		select {
		case <-ctx.Done():
			return info, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func reason(info engine.Info) string {
	if info.Reason == "" {
		return ""
	}
	return ": " + info.Reason
}

func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}
