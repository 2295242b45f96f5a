package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unik-cf/unik/src/engine"
)

func cmdPs(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("ps", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "machine-readable output")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("ps: takes no arguments")
	}
	e, err := c.engine()
	if err != nil {
		return err
	}
	list, err := e.List()
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []engine.Info{}
		}
		return json.NewEncoder(c.env.Stdout).Encode(list)
	}
	w := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tIMAGE\tSTATE\tADDRESS\tPORTS\tACCEL\tUPTIME\tEXIT")
	for _, i := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.Image, i.Display(), i.Network.GuestIP.Addr(),
			ports(i), i.Accel, uptime(i), exit(i))
	}
	return w.Flush()
}

func ports(i engine.Info) string {
	var out []string
	for _, p := range i.Network.Ports {
		out = append(out, fmt.Sprintf("%s:%d->%d", p.HostIP, p.HostPort, p.GuestPort))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

func uptime(i engine.Info) string {
	if i.State != engine.StateRunning && i.State != engine.StateBooting {
		return "-"
	}
	return time.Since(i.Created).Round(time.Second).String()
}

func exit(i engine.Info) string {
	if i.ExitCode == nil {
		return "-"
	}
	if i.Signal != "" {
		return fmt.Sprintf("%d (%s)", *i.ExitCode, i.Signal)
	}
	return fmt.Sprint(*i.ExitCode)
}

func cmdImages(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "machine-readable output")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	list, err := c.store().List()
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			Name         string    `json:"name"`
			Digest       string    `json:"digest"`
			Size         int64     `json:"size"`
			Created      time.Time `json:"created"`
			StartCommand string    `json:"start_command"`
		}
		rows := []row{}
		for _, i := range list {
			rows = append(rows, row{i.Name, i.Digest, i.Size, i.Created, i.Manifest.StartCommand})
		}
		return json.NewEncoder(c.env.Stdout).Encode(rows)
	}
	w := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tDIGEST\tSIZE\tCREATED\tSTART COMMAND")
	for _, i := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", i.Name, shortDigest(i.Digest), humanSize(i.Size),
			i.Created.Local().Format(time.DateTime), i.Manifest.StartCommand)
	}
	return w.Flush()
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func cmdInfo(ctx context.Context, c *cmdCtx, args []string) error {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "machine-readable output")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	e, err := c.engine()
	if err != nil {
		return err
	}
	n, err := c.network()
	if err != nil {
		return err
	}
	out := map[string]any{"state_dir": c.s.stateDir, "cache_dir": c.s.cacheDir, "network": n.Mode(), "init": c.s.initPath}
	k, kerr := e.Kernel()
	if kerr != nil {
		out["kernel_error"] = kerr.Error()
	} else {
		accel, why := e.Accel(ctx, k)
		out["kernel"], out["kernel_fallback"], out["accel"], out["accel_reason"] = k.Name, k.Fallback, accel, why
	}
	if *asJSON {
		return json.NewEncoder(c.env.Stdout).Encode(out)
	}
	for _, key := range []string{"kernel", "kernel_fallback", "kernel_error", "accel", "accel_reason", "network", "state_dir", "cache_dir", "init"} {
		if v, ok := out[key]; ok {
			fmt.Fprintf(c.env.Stdout, "%-16s %v\n", key+":", v)
		}
	}
	return nil
}
