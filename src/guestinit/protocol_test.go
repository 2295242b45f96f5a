package guestinit

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	good := Config{InstanceID: "a", Env: []string{"A=1", "B="}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Config{
		"no id":      {},
		"bad mode":   {InstanceID: "a", Mode: "debug"},
		"bad env":    {InstanceID: "a", Env: []string{"NOVALUE"}},
		"empty name": {InstanceID: "a", Env: []string{"=v"}},
		"neg grace":  {InstanceID: "a", StopGraceMS: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (Config{Mode: ModeSmoke}).Validate(); err != nil {
		t.Errorf("smoke needs no id: %v", err)
	}
}

func TestReadStatusLastExitWins(t *testing.T) {
	s := ReadStatus(strings.NewReader("garbage\n{\"event\":\"started\",\"pid\":5}\n{\"event\":\"exited\",\"exit_code\":137,\"signal\":\"SIGKILL\"}\n"))
	if !s.Started || !s.Exited || s.ExitCode != 137 || s.Signal != "SIGKILL" || s.Stopped {
		t.Fatalf("%+v", s)
	}
}

func TestModuleParams(t *testing.T) {
	cmdline := "console=ttyS0 virtio_mmio.device=4K@0xfeb00000:12 virtio-mmio.device=4K@0xfeb00200:13 quiet virtio_net.napi_tx=1"
	if got := moduleParams(cmdline, "virtio_mmio.ko"); got != "device=4K@0xfeb00000:12 device=4K@0xfeb00200:13" {
		t.Errorf("virtio_mmio: %q", got)
	}
	if got := moduleParams(cmdline, "virtio-rng.ko"); got != "" {
		t.Errorf("virtio-rng: %q", got)
	}
}

func TestCommandResolvesLikeTheBuilder(t *testing.T) {
	m := Manifest{StartCommand: `GREETING="hi $NAME" ./bin/app --port $PORT`, WorkDir: t.TempDir(), User: "vcap"}
	_, _, _, err := command(m, Config{InstanceID: "x", Env: []string{"PORT=8080", "NAME=world"}})
	if err == nil || !strings.Contains(err.Error(), "not an executable") {
		t.Fatalf("a missing program must be named: %v", err)
	}
}
