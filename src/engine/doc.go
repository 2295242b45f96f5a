// Package engine runs images as microVMs on one host: it is what the `unik` command line
// drives and what a unik cell embeds. It ties together the image store, the guest kernel, the
// hypervisor driver and the network, and keeps each instance in a private directory that
// outlives the process that started it, so any later process can tell its state.
//
// Instance lifecycle (one VM, one app):
//
//	Run:   validate -> verify image digest -> attach network (ports) -> initrd = kernel prefix
//	       + payload + config segment (env: 0600, deleted once QEMU has loaded it)
//	       -> driver.Start -> booting
//	guest: init starts the app -> "started" -> running
//	       app exits -> init reports exit code -> VM resets -> exited(N)
//	Stop:  "stop" on the control channel (init: SIGTERM, SIGKILL after grace) -> driver.Stop
//	       (forced after the deadline) -> stopped
//	Remove: kill if asked, detach network (tap, DNAT rules, leases), delete the directory
//
// An instance whose VM vanished without an exit status (killed from outside, QEMU crash) is
// crashed.
package engine
