// Package hostile is the project's hostile-tenant suite: tests that play a tenant who
// controls every byte of its droplet and may be root in its guest, and that each assert that
// nothing escaped: no file of the cell read or written, no process of the tenant's choosing
// run with privileges the cell did not give, no secret of the cell or of another instance
// seen. It holds tests only; they run real microVMs (QEMU, TCG when KVM cannot run guests),
// as root, and need what scripts/setup builds (bin/unik-init, bin/unik-shim, the guest kernel).
//
// Each area has its own files, named for it (droplet_test.go and droplet_helpers_test.go for
// what a droplet can carry), with helper identifiers prefixed the same way, so that suites
// written in parallel do not collide.
package hostile
