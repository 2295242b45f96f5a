// Package shim is unik-shim: the per-VM supervisor that jails a VMM, in the manner of
// Firecracker's jailer and conmon. A guest that escapes into its VMM finds an unprivileged
// process with nothing to see, nothing to keep, and bounded resources.
//
// The driver (hypervisor/qemu) writes the VM's Config to Dir.ShimConfig and starts
// `unik-shim run CONFIG` in its own session, so the VM outlives the engine. The process tree:
//
//	engine (root) -> unik-shim run (root, host namespaces; reaps, copies, cleans up)
//	                   -> unik-shim jail (new mount, PID, IPC and UTS namespaces; PID 1 there)
//	                        == exec ==> qemu-system-x86_64 (uid/gid of the VM, no capabilities)
//
// The supervisor (root):
//   - creates the VM's cgroup (v1 or v2, whichever the host mounts; package cgroup) with a
//     memory limit (guest RAM plus the VMM's overhead), a pids limit and CPU shares from the
//     VM's CPU weight;
//   - gives the VM's directory to the VM's group for traversal only (0710 root:gid), the
//     per-VM initrd and the input FIFOs to the VM's user, and creates one FIFO per output
//     stream (console, app stdout, app stderr, init status) owned by the VM's user;
//   - opens the persistent tap (/dev/net/tun, IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) and the
//     monitor's listening socket, handed to the VMM as descriptors 3 and 4 (Config.TapFD,
//     Config.MonitorFD), so the jail has neither /dev/net/tun nor a writable directory;
//   - starts the jailed child and writes its pid (the VMM's, once it execs) to the pid file;
//   - copies each FIFO into a capped ring (package vmlog), the app's stdout and stderr
//     through Diego's log rate limit, and the VMM's own stdout and stderr into a ring too;
//   - waits for the VMM (it is its parent: the real exit status goes to Dir.ShimLog), drains
//     the FIFOs, removes the cgroup and exits.
//
// The jailed child joins the cgroup (as its last privileged step, so the pids limit counts
// the VMM's threads only), mounts a small tmpfs as its root with read-only binds of /usr,
// the host's merged-/usr symlinks (/bin, /lib, /lib64...), the VMM's own prefix when it is
// outside /usr, the guest kernel at /kernel, /dev/null, /dev/urandom (and /dev/kvm under
// KVM) and the VM's directory read-only at /vm (FIFOs open for writing on a read-only mount;
// nothing else there is the VM user's), pivots into it and makes it read-only, then sets
// groups, gid and uid to the VM's (ids leased per VM by the engine: two VMMs never share one,
// so they cannot signal, trace or open each other's files), empties the capability bounding,
// ambient, permitted, effective and inheritable sets, sets no_new_privs and a parent-death
// signal, and execs the VMM, whose own seccomp sandbox (QEMU -sandbox on) then applies.
// Because the VMM is PID 1 of its PID namespace, nothing it could fork outlives it, and
// every FIFO writer is gone once it is reaped.
//
// A shim that is killed: the VMM gets SIGKILL from its parent-death signal; should it
// survive (the shim died before the signal was armed), the driver kills it the next time it
// looks (machine.Alive) and the engine reports the VM crashed. Until then it cannot grow
// anything: its FIFOs have no reader (writes fail, nothing reaches the disk) and its cgroup
// still bounds it. The engine's Remove removes a cgroup the shim left (Machine.Release).
//
// Not covered by the jail: the shim's own CPU and memory (it runs outside the VM's cgroup to
// be able to remove it; it copies at most what the rate limit lets through, and drops the
// rest), and anything an unjailed VMM does (engine config Jail "off", or a non-root engine).
package shim
