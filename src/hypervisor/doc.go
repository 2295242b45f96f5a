// Package hypervisor is the seam between the engine and a virtual machine monitor: one VM's
// boot, wait, stop, kill and stats. Drivers live side by side below it (qemu first; AWS EC2
// and Firecracker later) and know nothing of images, Cloud Foundry or the guest protocol:
// they boot a kernel and an initrd, wire named byte channels to files or sockets, attach a
// network, and report when the VM is gone.
//
// Dir names every file of a VM. Guest-to-host streams (console, output channels, the VMM's
// own output) are kept in rings (Dir.Log, read with package vmlog). A Spec with a Jail runs
// the VMM under unik-shim (package shim): unprivileged, namespaced, in a cgroup with the
// Spec's limits, every stream capped on disk and the app's logs rate-limited.
package hypervisor
