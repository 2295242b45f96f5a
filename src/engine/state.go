package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/unik-cf/unik/src/guestinit"
	"github.com/unik-cf/unik/src/hypervisor"
	"github.com/unik-cf/unik/src/vmlog"
)

// State of an instance as seen from the host.
type State string

const (
	StateBooting State = "booting" // the VM runs, the app has not started yet
	StateRunning State = "running" // the app runs
	StateExited  State = "exited"  // the app ended by itself; ExitCode says how
	StateStopped State = "stopped" // ended because it was asked to
	StateFailed  State = "failed"  // init could not start the app; Reason says why
	StateCrashed State = "crashed" // the VM ended without an exit status
)

// Info is an instance's record and its current state.
type Info struct {
	Record
	State    State            `json:"state"`
	ExitCode *int             `json:"exit_code,omitempty"`
	Signal   string           `json:"signal,omitempty"`
	Reason   string           `json:"reason,omitempty"`
	Process  string           `json:"process,omitempty"` // the sidecar whose exit ended it ("" = the app)
	Result   *Result          `json:"result,omitempty"`  // RunSpec.ResultFile, once the app has exited
	PID      int              `json:"pid,omitempty"`
	Stats    hypervisor.Stats `json:"stats"`
}

// Display is the state as `unik ps` shows it: exited(3), running, crashed...
func (i Info) Display() string {
	if (i.State == StateExited || i.State == StateStopped) && i.ExitCode != nil {
		return fmt.Sprintf("%s(%d)", i.State, *i.ExitCode)
	}
	return string(i.State)
}

// derive tells the state from the VM's liveness, the status channel and the stop marker.
func derive(alive bool, st guestinit.Status, stopRequested bool) (State, string) {
	switch {
	case alive && st.Exited:
		return StateRunning, "app exited; the VM is powering off"
	case alive && st.Started:
		return StateRunning, ""
	case alive:
		return StateBooting, ""
	case st.Error != "":
		return StateFailed, st.Error
	case st.Exited && (st.Stopped || stopRequested):
		return StateStopped, ""
	case st.Exited:
		return StateExited, ""
	case stopRequested:
		return StateStopped, "stopped by force"
	default:
		return StateCrashed, "the VM ended without an exit status (killed from outside, or QEMU failed: see console.log, vmm.log and shim.log)"
	}
}

func readStatus(ring vmlog.Files) guestinit.Status {
	b, err := vmlog.ReadAll(ring)
	if err != nil {
		return guestinit.Status{}
	}
	return guestinit.ReadStatus(bytes.NewReader(b))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// Result is a task's result file as the guest read it, or why it could not.
type Result struct {
	Content string `json:"content,omitempty"`
	Error   string `json:"error,omitempty"`
}
