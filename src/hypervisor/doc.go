// Package hypervisor is the seam between the engine and a virtual machine monitor: one VM's
// boot, wait, stop, kill and stats. Drivers live side by side below it (qemu first; AWS EC2
// and Firecracker later) and know nothing of images, Cloud Foundry or the guest protocol:
// they boot a kernel and an initrd, wire named byte channels to files or sockets, attach a
// network, and report when the VM is gone.
package hypervisor
