// Package qemu is the QEMU driver: microvm machine, KVM when a smoke boot proves it works and
// TCG otherwise (with the translation cache bounded to TCGCacheMB). The command line is built
// by Args, a pure function. QEMU runs daemonized, so a VM outlives the process that started
// it; Open re-attaches to it by its directory, and the process identity is checked against
// the VM's name to survive PID reuse.
//
// A Spec with a Jail (the engine as root) starts unik-shim instead of QEMU (package shim):
// Args is then given the jail's view (JailView: the VM's directory at /vm, the kernel at
// /kernel) and descriptors instead of paths (-netdev tap,fd=3; the QMP socket created by the
// shim, -chardev socket,fd=N), and output streams go to the shim's FIFOs instead of files.
// The shim exec's QEMU from its jailed child, so QEMU's pid, argv (-name unik-NAME) and the
// pidfd watch work as before; the shim writes the pid file. Limits gives the VM's cgroup:
// memory = guest RAM + VMMOverheadMB (+ TCGCacheMB under TCG), pids = VMMBaseThreads + one
// per vCPU, CPU shares from the CPU weight.
//
// A jailed VM counts as alive while its shim runs (the shim outlives QEMU by the time it
// takes to drain QEMU's output, so the status is complete when the VM is seen gone). A QEMU
// whose shim has died is killed when found (Machine.Alive) and the VM counts as ended.
// Machine.Release removes a cgroup a killed shim left behind.
//
// Unjailed (Spec.Jail nil: an ordinary user, or the engine's jail off), QEMU runs as the
// caller with the whole file system visible, opens the tap by name, and writes the console
// and output channels straight into the current file of their ring, unbounded; the CPU weight
// and the log rate limit are not applied. QEMU's own -sandbox is on in both cases.
package qemu
