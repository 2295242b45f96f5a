// Package droplet is the contract between the unik buildpack and the unik cell: where a staged
// droplet carries its bootable image and how a reader checks it.
//
// A droplet is Cloud Foundry's usual gzipped tar (./app, ./deps, ./profile.d,
// ./staging_info.yml, ...). The unik buildpack's finalize step writes, inside the build directory
// (./app in the droplet):
//
//	.unik/payload.cpio   the image payload (package image), built from the build directory
//	                     without .unik itself
//	.unik/image.json     {"manifest": {...}, "digest": "sha256:<hex>", "size": N}
//
// A cell extracts the payload with ReadImage (or checks an extracted app directory with
// VerifyApp) and boots it as it is: the payload's sha256 must equal image.json's digest, its
// size image.json's size, and the manifest inside the payload image.json's manifest. Nothing is
// rebuilt on the cell. Both files must be regular files of the droplet: VerifyApp opens them
// beneath the app directory and follows no symlink (a droplet's links are the tenant's).
package droplet
