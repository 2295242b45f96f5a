package shim

import (
	"fmt"
	"os"
)

// Main is unik-shim's entry point; it returns the process exit status.
//
//	unik-shim run CONFIG    supervise one VM (the driver starts this, in its own session)
//	unik-shim jail CONFIG   internal: the jailed child that becomes the VMM
func Main(args []string) int {
	if len(args) != 2 || (args[0] != "run" && args[0] != "jail") {
		fmt.Fprintln(os.Stderr, "usage: unik-shim run CONFIG (started by the unik engine; see src/hypervisor/shim/doc.go)")
		return 2
	}
	cfg, err := Load(args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "unik-shim: %v\n", err)
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "unik-shim: must run as root (it jails the VMM)")
		return 1
	}
	if args[0] == "jail" {
		err := jail(cfg) // returns only on failure
		fmt.Fprintf(os.Stderr, "unik-shim: jail %s: %v\n", cfg.Name, err)
		return 1
	}
	s := &supervisor{cfg: cfg, cfgPath: args[1], stderr: os.Stderr}
	if err := s.run(); err != nil {
		s.logf("%s: %v", cfg.Name, err)
		return 1
	}
	return 0
}
