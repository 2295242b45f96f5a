// Package buildpack is the unik buildpack: a standard Cloud Foundry buildpack (detect, supply,
// finalize, release) that turns a staged app into a bootable UniK microVM image inside the
// droplet. It runs as the final buildpack, after any supply buildpacks, in an ordinary staging
// container (cflinuxfs4) with no network.
//
// Finalize prepares the app (compiles a Go source app into a static binary with a Go toolchain
// from a supply buildpack or PATH; copies what supply buildpacks left in the deps directory into
// the app), chooses the start command, builds the image payload with package image (the guest
// init shipped in the buildpack, the app, and the shared libraries its program needs, taken from
// the staging rootfs) and writes it where package droplet says the cell finds it. Release reports
// the start command.
//
// The bin/ scripts of the buildpack are shims that exec the static unik-buildpack binary
// (cmd/unik-buildpack), which calls Main.
package buildpack
