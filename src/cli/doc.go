// Package cli is the `unik` command line: build, run, ps, logs, stop, rm, images, rmi, info.
// main only calls Main; tests run the same commands in-process through an Env.
//
// The app's environment (run): --env NAME=value, --env NAME (the value comes from unik's own
// environment; an error if it is unset) and --env-file FILE (lines NAME=value; the value is the
// rest of the line as is, no quotes or expansion; blank lines and # comments are skipped; a bad
// line is refused with its number, never its value). A later flag wins over an earlier one for
// the same name. --env NAME and --env-file keep secrets off unik's command line (which other
// users can read in /proc); the values then travel only in the instance's private initrd.
//
// Settings come from flags before the command or from the environment:
//
//	--state-dir  UNIK_STATE_DIR  instances and images (root: /var/lib/unik)
//	--cache-dir  UNIK_CACHE_DIR  built kernels (/var/cache/unik)
//	--kernel     UNIK_KERNEL     a kernel directory to boot instead of the cached minimal one
//	--accel      UNIK_ACCEL      auto, kvm or tcg
//	--net        UNIK_NET        auto, bridge (root: tap + DNAT) or user (QEMU user-mode)
//	--init       UNIK_INIT       the guest init binary (default: unik-init beside unik)
//	             UNIK_JAIL       auto (root: every QEMU jailed by unik-shim), on or off
//	             UNIK_SHIM       the unik-shim binary (default: beside unik, then PATH)
//
// Bridge-mode network settings (root): UNIK_BRIDGE (unik0), UNIK_TABLE (nftables table, unik),
// UNIK_SUBNET (10.213.0.0/24), UNIK_PORTS (host port range, 40000-40999). The bridge's leases
// (guest addresses, host ports) live host-wide in /run/unik/net/<bridge>, under one flock, not in
// the state dir: any number of state dirs (and a cell) can run instances on one bridge at once
// without sharing an address or a port. User mode keeps its leases in <state-dir>/network.
//
// Egress and DNS: `unik run` takes no security groups, so in bridge mode an instance reaches
// nothing beyond the host (it answers through its host ports) and gets no resolver: the DNS
// forwarder a cell runs on the gateway needs a process that lives as long as the instances,
// and the CLI has none (a resident helper such as the planned per-VM shim could host it
// later). A cell on the same bridge does not change this: its forwarder serves the guests of
// its own bridge and subnet. In user mode, QEMU's restrict=on cuts the guest off from
// everything but its forwarded ports.
package cli
