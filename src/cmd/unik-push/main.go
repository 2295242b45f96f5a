// Command unik-push pushes an app directory to a local Diego (scripts/local-diego) the way
// Cloud Controller would: it packs a droplet (staged with the unik image, or --plain), puts
// it on local Diego's droplet server and desires the LRP with CC's fields. Then scale, look,
// curl and delete:
//
//	unik-push push examples/hello-go --name hello [--instances 2] [--plain] [--memory 128]
//	unik-push apps
//	unik-push app hello          # instances: state, cell, address (curl it)
//	unik-push scale hello 3
//	unik-push run-task hello --command "./hello-go once" [--name migrate] [--memory 128]
//	unik-push tasks hello        # the app's tasks: state, cell, failed, reason
//	unik-push delete hello
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/unik-cf/unik/src/devenv/localdiego"
	"github.com/unik-cf/unik/src/devenv/push"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "unik-push:", err)
		os.Exit(1)
	}
}

func usage() error {
	return fmt.Errorf("usage: unik-push [--dir LOCAL_DIEGO_DIR] push DIR --name NAME [--instances N] [--plain] [--memory MB] [--start-command CMD] [--health port|http|process] [--endpoint /path]\n" +
		"       unik-push apps | app NAME | scale NAME N | delete NAME\n" +
		"       unik-push run-task NAME --command CMD [--name TASK] [--memory MB] | tasks NAME")
}

func run(args []string) error {
	global := flag.NewFlagSet("unik-push", flag.ContinueOnError)
	dir := global.String("dir", envOr("UNIK_LOCAL_DIEGO", "/var/tmp/unik-local-diego"), "local Diego's directory")
	repo := global.String("repo", ".", "the UniK repository (for bin/unik-init)")
	if err := global.Parse(args); err != nil {
		return err
	}
	args = global.Args()
	if len(args) == 0 {
		return usage()
	}
	env, err := localdiego.ReadEnv(*dir)
	if err != nil {
		return fmt.Errorf("no local Diego running in %s (start scripts/local-diego): %w", *dir, err)
	}
	client, err := bbs.NewClientWithConfig(bbs.ClientConfig{URL: env.BBSURL, IsTLS: true, CAFile: env.CACert,
		CertFile: env.Cert, KeyFile: env.Key, RequestTimeout: 30 * time.Second})
	if err != nil {
		return err
	}
	logger := lager.NewLogger("unik-push")
	switch args[0] {
	case "push":
		return pushCmd(logger, client, env, *repo, args[1:])
	case "apps":
		return apps(logger, client)
	case "app":
		if len(args) != 2 {
			return usage()
		}
		return app(logger, client, args[1])
	case "scale":
		if len(args) != 3 {
			return usage()
		}
		var n int
		if _, err := fmt.Sscan(args[2], &n); err != nil || n < 0 {
			return fmt.Errorf("scale: %q is not a number of instances", args[2])
		}
		return scale(logger, client, args[1], n)
	case "delete":
		if len(args) != 2 {
			return usage()
		}
		return del(logger, client, args[1])
	case "run-task":
		return runTask(logger, client, env, args[1:])
	case "tasks":
		if len(args) != 2 {
			return usage()
		}
		return tasks(logger, client, args[1])
	}
	return usage()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func pushCmd(logger lager.Logger, client bbs.Client, env localdiego.Env, repo string, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	name := fs.String("name", "", "app name")
	instances := fs.Int("instances", 1, "instances")
	plain := fs.Bool("plain", false, "push a plain droplet: the cell builds the image")
	memory := fs.Int("memory", 128, "memory per instance, MB")
	start := fs.String("start-command", "", "start command (default: the Procfile's web line)")
	health := fs.String("health", "port", "health check type: port, http or process")
	endpoint := fs.String("endpoint", "/", "http health check endpoint")
	if len(args) == 0 {
		return usage()
	}
	appDir := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" {
		*name = filepath.Base(filepath.Clean(appDir))
	}
	guid := push.GUIDFor(*name)
	if old, _ := push.Find(logger, client, guid); len(old) > 0 {
		return fmt.Errorf("app %s exists: unik-push delete %s first", *name, *name)
	}
	out := filepath.Join(env.DropletDir, guid+".tgz")
	fmt.Fprintf(os.Stderr, "packing %s into a droplet (staged: %v)...\n", appDir, !*plain)
	d, err := push.MakeDroplet(context.Background(), appDir, out, *start, filepath.Join(repo, "bin", "unik-init"), !*plain)
	if err != nil {
		return err
	}
	a := push.App{Name: *name, GUID: guid, Instances: *instances, MemoryMB: *memory, StartCommand: *start,
		HealthCheck: *health, HealthCheckEndpoint: *endpoint, Routes: []string{*name + ".local"}, SSH: true}
	lrp := push.DesiredLRP(a, env.DropletURL+"/"+guid+".tgz", d.SHA256)
	if err := client.DesireLRP(logger, "", lrp); err != nil {
		return err
	}
	fmt.Printf("desired %s (process guid %s), %d instance(s); watch with: unik-push app %s\n", *name, lrp.ProcessGuid, *instances, *name)
	return nil
}

func apps(logger lager.Logger, client bbs.Client) error {
	lrps, err := client.DesiredLRPs(logger, "", models.DesiredLRPFilter{Domain: "cf-apps"})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "APP\tPROCESS GUID\tINSTANCES\tRUNNING")
	for _, l := range lrps {
		ins, _ := push.Instances(logger, client, l.ProcessGuid)
		running := 0
		for _, i := range ins {
			if i.State == models.ActualLRPStateRunning {
				running++
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", appName(l), l.ProcessGuid, l.Instances, running)
	}
	return w.Flush()
}

func appName(l *models.DesiredLRP) string {
	if t, ok := l.MetricTags["app_name"]; ok && t.Static != "" {
		return t.Static
	}
	return l.LogGuid
}

func app(logger lager.Logger, client bbs.Client, name string) error {
	lrps, err := push.Find(logger, client, push.GUIDFor(name))
	if err != nil {
		return err
	}
	if len(lrps) == 0 {
		return fmt.Errorf("no app %s", name)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "INDEX\tSTATE\tCELL\tADDRESS\tVM\tCRASHES\tREASON")
	for _, l := range lrps {
		ins, err := push.Instances(logger, client, l.ProcessGuid)
		if err != nil {
			return err
		}
		for _, i := range ins {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", i.Index, i.State, i.Cell, i.Address, i.Internal, i.Crashes, i.Reason)
		}
	}
	return w.Flush()
}

func scale(logger lager.Logger, client bbs.Client, name string, n int) error {
	lrps, err := push.Find(logger, client, push.GUIDFor(name))
	if err != nil {
		return err
	}
	if len(lrps) == 0 {
		return fmt.Errorf("no app %s", name)
	}
	update := &models.DesiredLRPUpdate{}
	update.SetInstances(int32(n))
	for _, l := range lrps {
		if err := client.UpdateDesiredLRP(logger, "", l.ProcessGuid, update); err != nil {
			return err
		}
	}
	fmt.Printf("scaled %s to %d\n", name, n)
	return nil
}

func del(logger lager.Logger, client bbs.Client, name string) error {
	lrps, err := push.Find(logger, client, push.GUIDFor(name))
	if err != nil {
		return err
	}
	if len(lrps) == 0 {
		return fmt.Errorf("no app %s", name)
	}
	for _, l := range lrps {
		if err := client.RemoveDesiredLRP(logger, "", l.ProcessGuid); err != nil {
			return err
		}
	}
	fmt.Printf("deleted %s\n", name)
	return nil
}

// runTask desires a one-off task of a pushed app's droplet, as `cf run-task` makes Cloud
// Controller do.
func runTask(logger lager.Logger, client bbs.Client, env localdiego.Env, args []string) error {
	if len(args) == 0 {
		return usage()
	}
	appName := args[0]
	fs := flag.NewFlagSet("run-task", flag.ContinueOnError)
	command := fs.String("command", "", "the task's command (required)")
	name := fs.String("name", "", "the task's name (default: a random one)")
	memory := fs.Int("memory", 0, "memory, MB (default: the app's)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *command == "" {
		return fmt.Errorf("run-task: --command is required")
	}
	guid := push.GUIDFor(appName)
	lrps, err := push.Find(logger, client, guid)
	if err != nil {
		return err
	}
	if len(lrps) == 0 {
		return fmt.Errorf("no app %s", appName)
	}
	droplet := firstDownload(lrps[0].Setup)
	if droplet == nil {
		return fmt.Errorf("app %s: its LRP downloads no droplet", appName)
	}
	taskGUID := push.GUIDFor(fmt.Sprintf("%s-task-%d", appName, time.Now().UnixNano()))
	if *name == "" {
		*name = taskGUID[:8]
	}
	def := push.TaskDefinition(push.App{Name: appName, GUID: guid}, push.Task{Name: *name, Command: *command, MemoryMB: *memory},
		droplet.From, droplet.ChecksumValue)
	if err := client.DesireTask(logger, "", taskGUID, push.TaskDomain, def); err != nil {
		return err
	}
	fmt.Printf("desired task %s (guid %s) of %s; watch with: unik-push tasks %s\n", *name, taskGUID, appName, appName)
	return nil
}

func tasks(logger lager.Logger, client bbs.Client, appName string) error {
	ts, err := client.TasksWithFilter(logger, "", models.TaskFilter{Domain: push.TaskDomain})
	if err != nil {
		return err
	}
	guid := push.GUIDFor(appName)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tGUID\tSTATE\tCELL\tFAILED\tREASON")
	for _, t := range ts {
		if t.LogGuid != guid {
			continue
		}
		name := strings.TrimPrefix(runSource(t.Action), "APP/TASK/")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\n", name, t.TaskGuid, t.State, t.CellId, t.Failed, t.FailureReason)
	}
	return w.Flush()
}

// runSource is the log source of the task's Run (APP/TASK/<name>).
func runSource(a *models.Action) string {
	switch {
	case a == nil:
		return ""
	case a.RunAction != nil:
		return a.RunAction.LogSource
	case a.SerialAction != nil:
		for _, c := range a.SerialAction.Actions {
			if s := runSource(c); s != "" {
				return s
			}
		}
	}
	return ""
}

func firstDownload(a *models.Action) *models.DownloadAction {
	switch {
	case a == nil:
		return nil
	case a.DownloadAction != nil:
		return a.DownloadAction
	case a.SerialAction != nil:
		for _, c := range a.SerialAction.Actions {
			if d := firstDownload(c); d != nil {
				return d
			}
		}
	}
	return nil
}
