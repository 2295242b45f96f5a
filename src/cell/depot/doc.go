// Package depot is the unik cell's executor.Client: Diego's container API on microVMs. A
// "container" is a record with Diego's states (Reserved -> Initializing -> Created -> Running;
// any -> Completed) and, once booted, one engine instance (a VM). The depot accounts for
// resources (an allocation that does not fit is refused), emits Diego's lifecycle events,
// prepares the image (package imagecache, bounded by the container's disk quota: a droplet
// past it fails the container with "droplet exceeds the instance's disk quota of N MB"),
// boots it with the instance's environment, reports Running only once the health checks pass
// from the host, watches the VM and completes the container (failed, with Diego's crash
// reasons) when the app exits, the VM dies or a check fails. Errors that cross executor.Client are the executor's own sentinels, unwrapped.
//
// Records are kept on disk: after the cell process restarts, Recover adopts VMs that still
// run (their containers stay Running) and removes every VM, tap, rule, lease and file that no
// record accounts for.
package depot
