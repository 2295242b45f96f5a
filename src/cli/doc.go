// Package cli is the `unik` command line: build, run, ps, logs, stop, rm, images, rmi, info.
// main only calls Main; tests run the same commands in-process through an Env.
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
// UNIK_SUBNET (10.213.0.0/24), UNIK_PORTS (host port range, 40000-40999).
package cli
