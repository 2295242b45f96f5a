package recipe

import (
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/unik-cf/unik/src/cell/healthcheck"
)

// checks reads the CheckDefinition when it has checks (Diego's declarative health checks),
// else the monitor action (CC's /tmp/lifecycle/healthcheck runs).
func checks(def *models.CheckDefinition, monitor *models.Action) ([]healthcheck.Check, error) {
	if def != nil && len(def.Checks) > 0 {
		return declarative(def.Checks), nil
	}
	var out []healthcheck.Check
	err := walk(monitor, func(a *models.Action) error {
		switch {
		case a.RunAction != nil && a.RunAction.Path == Healthcheck:
			c, err := parseHealthcheckArgs(a.RunAction.Args)
			if err != nil {
				return err
			}
			out = append(out, c)
		case a.RunAction != nil:
			return unsupported("a monitor that runs %s inside the instance; use a port or http health check", a.RunAction.Path)
		case a.DownloadAction != nil || a.UploadAction != nil:
			return unsupported("a monitor that transfers files")
		}
		return nil
	})
	return out, err
}

// readiness reads the CheckDefinition's readiness checks: they decide whether a healthy
// instance is routable.
func readiness(def *models.CheckDefinition) []healthcheck.Check {
	if def == nil {
		return nil
	}
	return declarative(def.ReadinessChecks)
}

// declarative turns Diego's declarative checks into probes, with their timeouts and intervals.
func declarative(cs []*models.Check) []healthcheck.Check {
	var out []healthcheck.Check
	for _, c := range cs {
		switch {
		case c.HttpCheck != nil:
			out = append(out, healthcheck.Check{Kind: healthcheck.HTTP, Port: uint16(c.HttpCheck.Port),
				Path: c.HttpCheck.Path, Timeout: ms(c.HttpCheck.RequestTimeoutMs), Interval: ms(c.HttpCheck.IntervalMs)})
		case c.TcpCheck != nil:
			out = append(out, healthcheck.Check{Kind: healthcheck.TCP, Port: uint16(c.TcpCheck.Port),
				Timeout: ms(c.TcpCheck.ConnectTimeoutMs), Interval: ms(c.TcpCheck.IntervalMs)})
		}
	}
	return out
}

func ms(v uint64) time.Duration { return time.Duration(v) * time.Millisecond }

// parseHealthcheckArgs reads the flags CC gives Diego's healthcheck: -port=N [-uri=/path]
// [-timeout=1s]. A uri makes it an HTTP check.
func parseHealthcheckArgs(args []string) (healthcheck.Check, error) {
	c := healthcheck.Check{Kind: healthcheck.TCP, Port: 8080}
	for _, a := range args {
		name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "port":
			p, err := strconv.ParseUint(value, 10, 16)
			if err != nil || p == 0 {
				return c, unsupported("healthcheck argument %q is not a port", a)
			}
			c.Port = uint16(p)
		case "uri":
			c.Kind, c.Path = healthcheck.HTTP, value
		case "timeout":
			d, err := time.ParseDuration(value)
			if err != nil {
				return c, unsupported("healthcheck argument %q is not a duration", a)
			}
			c.Timeout = d
		case "network":
			if value != "tcp" && value != "" {
				return c, unsupported("healthcheck network %q", value)
			}
		}
		// -liveness-interval, -startup-interval and the like: the cell's own intervals apply.
	}
	return c, nil
}
