// Package engine runs images as microVMs on one host: it is what the `unik` command line
// drives and what a unik cell embeds. It ties together the image store, the guest kernel, the
// hypervisor driver and the network, and keeps each instance in a private directory that
// outlives the process that started it, so any later process can tell its state.
//
// Instance lifecycle (one VM, one app):
//
//	Run:   validate -> verify image digest -> attach network (ports) -> as root: lease a jail
//	       id (host-wide, /run/unik/jail-ids) and find unik-shim -> initrd = kernel prefix
//	       + sanitized payload + system segment (the host's init at /init) + config segment
//	       (env, files: 0600, deleted once QEMU has loaded it)
//	       -> driver.Start: engine -> unik-shim (cgroup, FIFOs, tap fd) -> jailed QEMU
//	          (not root, or jail "off": engine -> QEMU directly) -> booting
//	guest: init starts the app (and its sidecars) -> "started" (status ring) -> running
//	       app exits -> init reports exit code -> VM resets -> QEMU exits -> the shim drains
//	       the rings, removes the cgroup, exits -> exited(N)
//	Stop:  "stop" on the control channel (init: SIGTERM, SIGKILL after grace) -> driver.Stop
//	       (forced after the deadline) -> stopped
//	Remove: kill if asked, release the VM's leftovers (a cgroup a killed shim left), the jail
//	       id, detach network (tap, DNAT rules, leases), delete the directory
//
// The initrd is concatenated newc archives, which the kernel unpacks in order, later entries
// replacing earlier ones (init/initramfs.c). The payload is an image's, maybe a tenant's, so
// the engine does not append it as it is: it re-writes it through image.Sanitize (no /init, no
// system files, devices or /unik content but the manifest; hard links, entries through
// symlinks, duplicates and truncated or trailing bytes refused), then appends the system
// segment (image.WriteSystem: mount points, /etc files, console nodes and Config.InitPath as
// /init) and the config. So whatever the payload holds, the guest's PID 1 is the host's init
// and /unik/config.json a fresh root-only file. Config.InitPath is required to run instances
// (ErrNoInit).
//
// An instance whose VM vanished without an exit status (killed from outside, QEMU crash, OOM
// in its cgroup) is crashed. So is a jailed VM whose shim is gone: the driver kills its QEMU
// (whose output nobody reads any more) when it finds it, and Remove cleans up after it.
//
// Every guest output (stdout, stderr, status, console) is read through package vmlog: a
// capped ring written by the shim, or, unjailed, a plain file QEMU writes without bound.
package engine
