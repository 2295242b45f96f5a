// Package vmlog keeps what a VM writes to the host within a fixed number of bytes on disk, and
// reads it back in order.
//
// A ring is two files: Current and Previous (hypervisor.Dir names them, e.g. unik.stdout.log
// and unik.stdout.log.1). The Writer appends to Current; when Current would pass half the
// cap it is renamed over Previous and a new Current is started, so the ring never holds more
// than the cap and the oldest bytes go first. The Reader gives the bytes of Previous then
// Current and, when following, crosses rotations without losing or repeating bytes; it waits
// for new bytes with inotify rather than polling.
//
// AppLog is the app-log side of unik-shim: it cuts the app's stdout and stderr into messages
// the way Diego's executor does (at '\n' or '\r', at most 61440 bytes) and applies Cloud
// Foundry's per-instance log rate limit (bytes per second, shared by both streams), writing
// Diego's own notice "app instance exceeded log rate limit (N bytes/sec)" to stdout when it
// starts dropping, at most once a second.
//
// Writers are unik-shim (jailed VMs); readers are the engine (status channel), `unik logs`
// and the cell's log forwarder. An unjailed QEMU writes Current itself, unbounded.
package vmlog
