// Command bench-cell measures the unik cell against the raw engine, in one run on this
// machine (scripts/bench-cell):
//
//   - start: DesireLRP -> RUNNING in the BBS -> first HTTP 200 through the reported endpoint,
//     against the engine booting the same image to its first HTTP 200 (same kernel, same
//     network mode), as a ratio of medians (goal <= 1.3x);
//   - scale: one app from 1 to 10 instances on one cell, time until all are RUNNING;
//   - crash: the app exits -> ActualLRPCrashedEvent from the BBS (goal < 2 s);
//   - task: DesireTask of the same droplet (`hello-go once`, as `cf run-task` would) -> the
//     task Running in the BBS (its VM booted) -> Completed, beside the LRP start above.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/unik-cf/unik/src/devenv/localdiego"
	"github.com/unik-cf/unik/src/devenv/push"
	"github.com/unik-cf/unik/src/engine"
	"github.com/unik-cf/unik/src/hypervisor/qemu"
	"github.com/unik-cf/unik/src/imagestore"
	"github.com/unik-cf/unik/src/network"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-cell:", err)
		os.Exit(1)
	}
}

type result struct {
	StartCellMS    []int64 `json:"start_cell_ms"`
	StartEngineMS  []int64 `json:"start_engine_ms"`
	StartRatio     float64 `json:"start_ratio_of_medians"`
	FirstStartMS   int64   `json:"first_start_cold_cache_ms"`
	Scale1To10MS   int64   `json:"scale_1_to_10_all_running_ms"`
	Scale1To10HTTP int64   `json:"scale_1_to_10_all_answering_ms"`
	CrashMS        []int64 `json:"crash_to_bbs_ms"`
	TaskRunningMS  []int64 `json:"task_desire_to_running_ms"`
	TaskDoneMS     []int64 `json:"task_desire_to_completed_ms"`
	Accel          string  `json:"accel"`
}

// httpc polls with a short timeout: a SYN sent before the guest's network is up gets no
// answer, and a long timeout would measure the client, not the boot.
var httpc = &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

func run() error {
	repo := flag.String("repo", ".", "the UniK repository")
	dir := flag.String("dir", "", "working directory (default: a temporary one, removed)")
	rounds := flag.Int("rounds", 5, "start measurements of each kind")
	out := flag.String("json", "", "also write the results as JSON here")
	flag.Parse()
	root, _ := filepath.Abs(*repo)
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "unik-bench-cell-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	_ = os.Chmod(work, 0o755)
	ctx := context.Background()
	logger := lager.NewLogger("bench")
	say("building and starting local Diego (1 cell)...")
	bin, err := localdiego.Build(ctx, root, localdiego.DefaultDiegoBinDir, filepath.Join(work, "bin"))
	if err != nil {
		return err
	}
	d, err := localdiego.Start(ctx, localdiego.Options{Dir: filepath.Join(work, "diego"), Bin: bin, Repo: root, Cells: 1,
		NetPrefix: "ukbc", SubnetBase: 50, PortBase: 48000, ConvergeInterval: 5 * time.Second, PollingInterval: 10 * time.Second,
		CellMemoryMB: 8192, Logger: logger})
	if err != nil {
		return err
	}
	defer d.Stop()
	drops, err := push.Serve("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer drops.Close()
	init := filepath.Join(root, "bin", "unik-init")
	drop, err := push.MakeDroplet(ctx, filepath.Join(root, "examples", "hello-go"), filepath.Join(work, "hello.tgz"), "./hello-go", init, true)
	if err != nil {
		return err
	}
	url := drops.Add("hello.tgz", drop.Path)
	b := bench{d: d, logger: logger, url: url, drop: drop}

	var res result
	say("first start (cold droplet cache)...")
	if res.FirstStartMS, err = b.startOnce(); err != nil {
		return err
	}
	eng, cleanup, err := rawEngine(d, work)
	if err != nil {
		return err
	}
	defer cleanup()
	img, err := cellImage(d)
	if err != nil {
		return err
	}
	for i := 0; i < *rounds; i++ {
		c, err := b.startOnce()
		if err != nil {
			return err
		}
		e, accel, err := engineStart(eng, img)
		if err != nil {
			return err
		}
		res.StartCellMS, res.StartEngineMS, res.Accel = append(res.StartCellMS, c), append(res.StartEngineMS, e), accel
		say(fmt.Sprintf("round %d: cell %d ms, engine %d ms", i+1, c, e))
	}
	res.StartRatio = float64(median(res.StartCellMS)) / float64(median(res.StartEngineMS))
	say("scale 1 -> 10...")
	if res.Scale1To10MS, res.Scale1To10HTTP, err = b.scale(); err != nil {
		return err
	}
	say("crash latency...")
	if res.CrashMS, err = b.crash(3); err != nil {
		return err
	}
	say("tasks...")
	if res.TaskRunningMS, res.TaskDoneMS, err = b.tasks(*rounds); err != nil {
		return err
	}
	fmt.Printf("start (DesireLRP -> RUNNING -> HTTP 200), median of %d: cell %d ms, engine %d ms, ratio %.2fx (goal <= 1.3x); first start with a cold cache %d ms\n",
		*rounds, median(res.StartCellMS), median(res.StartEngineMS), res.StartRatio, res.FirstStartMS)
	fmt.Printf("scale 1 -> 10 on one cell: all RUNNING after %d ms, all answering after %d ms\n", res.Scale1To10MS, res.Scale1To10HTTP)
	fmt.Printf("app exit -> CrashActualLRP in the BBS: %v ms (goal < 2000)\n", res.CrashMS)
	fmt.Printf("task (DesireTask -> Running -> Completed), median of %d: running after %d ms, completed after %d ms; LRP start of the same droplet %d ms\n",
		len(res.TaskDoneMS), median(res.TaskRunningMS), median(res.TaskDoneMS), median(res.StartCellMS))
	fmt.Printf("accelerator: %s\n", res.Accel)
	if *out != "" {
		j, _ := json.MarshalIndent(res, "", "  ")
		return os.WriteFile(*out, j, 0o644)
	}
	return nil
}

func say(s string) { fmt.Fprintln(os.Stderr, "bench-cell:", s) }

func median(v []int64) int64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

type bench struct {
	d      *localdiego.Diego
	logger lager.Logger
	url    string
	drop   push.Droplet
	n      int
}

func (b *bench) desire(instances int, health string) string {
	b.n++
	lrp := push.DesiredLRP(push.App{Name: fmt.Sprintf("bench-%d", b.n), Instances: instances, HealthCheck: health}, b.url, b.drop.SHA256)
	if err := b.d.BBSClient.DesireLRP(b.logger, "", lrp); err != nil {
		panic(err)
	}
	return lrp.ProcessGuid
}

func (b *bench) running(pg string) []*models.ActualLRP {
	lrps, _ := b.d.BBSClient.ActualLRPs(b.logger, "", models.ActualLRPFilter{ProcessGuid: pg})
	var out []*models.ActualLRP
	for _, l := range lrps {
		if l.State == models.ActualLRPStateRunning {
			out = append(out, l)
		}
	}
	return out
}

func (b *bench) remove(pg string) {
	_ = b.d.BBSClient.RemoveDesiredLRP(b.logger, "", pg)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		lrps, _ := b.d.BBSClient.ActualLRPs(b.logger, "", models.ActualLRPFilter{ProcessGuid: pg})
		if len(lrps) == 0 {
			time.Sleep(500 * time.Millisecond) // let the cell finish deleting the VM
			return
		}
	}
}

func endpoint(l *models.ActualLRP) string {
	return fmt.Sprintf("http://%s:%d/", l.Address, l.Ports[0].HostPort)
}

func ok(url string) bool {
	resp, err := httpc.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// startOnce desires one instance and times RUNNING and the first 200 through its endpoint.
func (b *bench) startOnce() (int64, error) {
	t0 := time.Now()
	pg := b.desire(1, "port")
	defer b.remove(pg)
	for time.Since(t0) < 2*time.Minute {
		if ls := b.running(pg); len(ls) == 1 {
			for time.Since(t0) < 2*time.Minute {
				if ok(endpoint(ls[0])) {
					return time.Since(t0).Milliseconds(), nil
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("the instance did not answer within 2 minutes")
}

func (b *bench) scale() (int64, int64, error) {
	pg := b.desire(1, "port")
	defer b.remove(pg)
	for len(b.running(pg)) < 1 {
		time.Sleep(50 * time.Millisecond)
	}
	update := &models.DesiredLRPUpdate{}
	update.SetInstances(10)
	t0 := time.Now()
	if err := b.d.BBSClient.UpdateDesiredLRP(b.logger, "", pg, update); err != nil {
		return 0, 0, err
	}
	var allRunning int64
	for time.Since(t0) < 5*time.Minute {
		ls := b.running(pg)
		if len(ls) == 10 {
			if allRunning == 0 {
				allRunning = time.Since(t0).Milliseconds()
			}
			answering := 0
			for _, l := range ls {
				if ok(endpoint(l)) {
					answering++
				}
			}
			if answering == 10 {
				return allRunning, time.Since(t0).Milliseconds(), nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, 0, fmt.Errorf("10 instances were not running within 5 minutes")
}

// crash makes n instances exit once each and times the BBS's crash event.
func (b *bench) crash(n int) ([]int64, error) {
	pg := b.desire(n, "port")
	defer b.remove(pg)
	for len(b.running(pg)) < n {
		time.Sleep(50 * time.Millisecond)
	}
	es, err := b.d.BBSClient.SubscribeToInstanceEvents(b.logger)
	if err != nil {
		return nil, err
	}
	defer es.Close()
	crashed := make(chan string, 16)
	go func() {
		for {
			e, err := es.Next()
			if err != nil {
				return
			}
			if c, ok := e.(*models.ActualLRPCrashedEvent); ok && c.ProcessGuid == pg {
				crashed <- c.InstanceGuid
			}
		}
	}()
	var out []int64
	for _, l := range b.running(pg) {
		t0 := time.Now()
		_, _ = httpc.Get(endpoint(l) + "exit?code=3")
		select {
		case <-crashed:
			out = append(out, time.Since(t0).Milliseconds())
		case <-time.After(time.Minute):
			return out, fmt.Errorf("no crash event within a minute")
		}
	}
	return out, nil
}

// rawEngine is an engine with its own network, next to the cell's, for the baseline.
func rawEngine(d *localdiego.Diego, work string) (*engine.Engine, func(), error) {
	c := d.Cells[0].Config
	net, err := network.New(network.Config{Mode: network.ModeBridge, StateDir: filepath.Join(work, "raw", "network"), Bridge: "ukbraw",
		Table: "ukbraw", Subnet: netip.MustParsePrefix("10.213.59.0/24"), HostIP: netip.MustParseAddr("127.0.0.1"), PortRange: [2]uint16{48900, 48999}})
	if err != nil {
		return nil, nil, err
	}
	eng, err := engine.New(engine.Config{StateDir: filepath.Join(work, "raw", "engine"), CacheDir: c.VM.CacheDir, InitPath: c.VM.InitPath,
		ShimPath: c.VM.ShimPath}, qemu.Driver{}, net)
	if err != nil {
		return nil, nil, err
	}
	return eng, func() {
		vms, _ := eng.List()
		for _, v := range vms {
			_ = eng.Remove(context.Background(), v.ID, true)
		}
		_ = net.Teardown(context.Background())
	}, nil
}

func cellImage(d *localdiego.Diego) (imagestore.Image, error) {
	imgs, err := imagestore.Store{Dir: filepath.Join(d.Cells[0].Config.VM.StateDir, "images")}.List()
	if err != nil || len(imgs) == 0 {
		return imagestore.Image{}, fmt.Errorf("the cell has no image: %v", err)
	}
	return imgs[0], nil
}

// engineStart boots img with the env the cell gives and times its first HTTP 200.
func engineStart(eng *engine.Engine, img imagestore.Image) (int64, string, error) {
	t0 := time.Now()
	info, err := eng.Run(context.Background(), engine.RunSpec{Image: img, Env: []string{"PORT=8080"}, MemoryMB: 128,
		Ports: []network.PortRequest{{GuestPort: 8080}}})
	if err != nil {
		return 0, "", err
	}
	defer eng.Remove(context.Background(), info.ID, true)
	url := fmt.Sprintf("http://%s:%d/", info.Network.Ports[0].HostIP, info.Network.Ports[0].HostPort)
	// Its best case: connect once the guest reports the app started. Connecting earlier, before
	// the guest answers ARP, leaves a failed neighbour entry that costs about a second.
	for time.Since(t0) < 2*time.Minute {
		if i, err := eng.Get(info.ID); err == nil && i.State == engine.StateRunning {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for time.Since(t0) < 2*time.Minute {
		if ok(url) {
			return time.Since(t0).Milliseconds(), info.Accel, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, "", fmt.Errorf("the engine's instance did not answer")
}

// tasks desires n one-off tasks of the droplet, one after the other, and times each until the
// BBS has it Running and then Completed (successfully).
func (b *bench) tasks(n int) (running, done []int64, err error) {
	for i := 0; i < n; i++ {
		b.n++
		guid := fmt.Sprintf("bench-task-%d", b.n)
		def := push.TaskDefinition(push.App{Name: "bench-task"}, push.Task{Name: "once", Command: "./hello-go once"}, b.url, b.drop.SHA256)
		t0 := time.Now()
		if err := b.d.BBSClient.DesireTask(b.logger, "", guid, push.TaskDomain, def); err != nil {
			return nil, nil, err
		}
		var r int64
		for {
			t, err := b.d.BBSClient.TaskByGuid(b.logger, "", guid)
			if err != nil {
				return nil, nil, err
			}
			if r == 0 && t.State >= models.Task_Running {
				r = time.Since(t0).Milliseconds()
			}
			if t.State == models.Task_Completed {
				if t.Failed {
					return nil, nil, fmt.Errorf("task %s failed: %s", guid, t.FailureReason)
				}
				running, done = append(running, r), append(done, time.Since(t0).Milliseconds())
				break
			}
			if time.Since(t0) > 2*time.Minute {
				return nil, nil, fmt.Errorf("task %s did not complete within 2 minutes (state %s)", guid, t.State)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := b.d.BBSClient.ResolvingTask(b.logger, "", guid); err == nil {
			_ = b.d.BBSClient.DeleteTask(b.logger, "", guid) // a failure only leaves a record the BBS expires
		}
	}
	return running, done, nil
}
