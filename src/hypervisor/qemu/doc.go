// Package qemu is the QEMU driver: microvm machine, KVM when a smoke boot proves it works and
// TCG otherwise. The command line is built by Args, a pure function. QEMU runs daemonized, so a
// VM outlives the process that started it; Open re-attaches to it by its directory, and the
// process identity is checked against the VM's name to survive PID reuse.
package qemu
