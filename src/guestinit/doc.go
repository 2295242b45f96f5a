// Package guestinit is UniK's PID 1: the only program of ours inside a microVM.
//
// The host and the guest speak through this package's types, so both sides import it:
//
//   - the image's /unik/manifest.json (package image) says what to run;
//   - a per-instance /unik/config.json (Config) arrives as a second cpio segment appended to the
//     initramfs by the engine, never on the kernel command line: it holds the environment, which
//     may carry secrets. Init reads it, deletes it, and keeps it in memory only;
//   - four virtio-serial ports carry everything else: unik.stdout and unik.stderr (the app's
//     file descriptors 1 and 2, handed over directly, kept apart), unik.status (JSON lines of
//     Events: started, exited, init-error) and unik.control (host to guest: "stop").
//
// Lifecycle inside the guest:
//
//	mount /proc /sys /dev /dev/shm /run -> load kernel modules (fallback kernels only)
//	-> read manifest and config -> hostname, lo, eth0, default route, resolv.conf
//	-> open ports -> [serve port forwarding over SSH when the config asks (cf ssh -L)]
//	-> write the files the host sent (identity credentials, certificates, bindings)
//	-> start the app as vcap, uid/gid 2000, whatever the manifest says (a manifest asking
//	   for another user is ignored, with a console line), setsid, no shell (package startcmd)
//	   [and each sidecar likewise, with its own two output ports: unik.sidecarN.stdout/stderr]
//	-> reap every child; on "stop": SIGTERM, SIGKILL after the grace period; the first of
//	   the app and its sidecars to exit ends the others (codependent)
//	-> app exits: kill what is left, report {"event":"exited","exit_code":N}, reboot
//
// Init is the cell's: the engine puts the host's unik-init at /init in a segment unpacked after
// the image's payload, so an image never brings its own.
//
// The machine runs with -no-reboot, so the reboot ends the QEMU process: the VM's life is the
// app's life.
package guestinit
