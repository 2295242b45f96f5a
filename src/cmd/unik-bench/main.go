// Command unik-bench measures boot time the way a user sees it: wall time from starting
// `unik run` until it returns (it returns once the app answered HTTP), then the app's first
// HTTP 200 is checked, QEMU's RSS read, and the instance removed. Kernels are interleaved boot
// by boot so that both see the same machine. Run it through scripts/bench-boot.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

type kernelRun struct {
	label, dir string
	boots      []time.Duration
	rss        []uint64
}

func main() {
	n := flag.Int("n", 10, "boots per kernel")
	unik := flag.String("unik", "bin/unik", "the unik binary")
	app := flag.String("app", "examples/hello-go", "app directory")
	flag.Parse()
	if err := run(*unik, *app, *n, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "unik-bench:", err)
		os.Exit(1)
	}
}

// run boots app n times on each kernel given as LABEL=DIR ("" DIR: the default kernel).
func run(unik, app string, n int, kernels []string) error {
	state, err := os.MkdirTemp("", "unik-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	env := append(os.Environ(), "UNIK_STATE_DIR="+state)
	if out, err := cmd(env, unik, "build", app, "--name", "bench"); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}
	var img []struct{ Size int64 }
	out, err := cmd(env, unik, "images", "--json")
	if err != nil || json.Unmarshal(out, &img) != nil || len(img) != 1 {
		return fmt.Errorf("images: %v %s", err, out)
	}
	runs := make([]*kernelRun, 0, len(kernels))
	for _, k := range kernels {
		label, dir, _ := strings.Cut(k, "=")
		runs = append(runs, &kernelRun{label: label, dir: dir})
	}
	for i := 0; i < n; i++ {
		for _, k := range runs {
			d, rss, err := boot(env, unik, k.dir)
			if err != nil {
				return fmt.Errorf("%s boot %d: %w", k.label, i+1, err)
			}
			k.boots, k.rss = append(k.boots, d), append(k.rss, rss)
		}
	}
	fmt.Printf("app %s, image payload %.1f MB, %d boots per kernel, interleaved\n", app, float64(img[0].Size)/(1<<20), n)
	fmt.Printf("%-26s %12s %12s %12s %14s\n", "kernel", "median", "p95", "min", "QEMU RSS (med)")
	for _, k := range runs {
		fmt.Printf("%-26s %12s %12s %12s %11.0f MB\n", k.label, ms(pct(k.boots, 50)), ms(pct(k.boots, 95)), ms(pct(k.boots, 0)), float64(medianU(k.rss))/(1<<20))
	}
	if len(runs) == 2 {
		fmt.Printf("ratio %s/%s (median): %.2f\n", runs[0].label, runs[1].label, float64(pct(runs[0].boots, 50))/float64(pct(runs[1].boots, 50)))
	}
	return nil
}

func boot(env []string, unik, kernelDir string) (time.Duration, uint64, error) {
	if kernelDir != "" {
		env = append(env, "UNIK_KERNEL="+kernelDir)
	}
	start := time.Now()
	out, err := cmd(env, unik, "run", "--json", "bench")
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, out)
	}
	var r struct{ ID, URL string }
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, 0, err
	}
	defer cmd(env, unik, "rm", "-f", r.ID)
	resp, err := http.Get(r.URL)
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("GET %s: %d", r.URL, resp.StatusCode)
	}
	var ps []struct {
		ID    string
		Stats struct {
			RSSBytes uint64 `json:"rss_bytes"`
		}
	}
	out, err = cmd(env, unik, "ps", "--json")
	if err != nil || json.Unmarshal(out, &ps) != nil {
		return 0, 0, fmt.Errorf("ps: %v", err)
	}
	var rss uint64
	for _, p := range ps {
		if p.ID == r.ID {
			rss = p.Stats.RSSBytes
		}
	}
	return elapsed, rss, nil
}

func cmd(env []string, name string, args ...string) ([]byte, error) {
	c := exec.Command(name, args...)
	c.Env = env
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s) - 1) * p / 100
	if p == 95 && len(s) > 1 { // nearest rank
		i = (len(s)*95 + 99) / 100
		if i > 0 {
			i--
		}
	}
	return s[i]
}

func medianU(v []uint64) uint64 {
	s := append([]uint64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
