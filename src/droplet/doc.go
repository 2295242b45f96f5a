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
// VerifyApp): the payload's sha256 must equal image.json's digest, its size image.json's size,
// and the manifest inside the payload image.json's manifest. Nothing is rebuilt on the cell,
// but the payload is the tenant's, so it is not booted as it is: the cell re-writes it through
// image.Sanitize (the payload's /init, system files, device nodes and /unik files but the
// manifest are dropped, hard links and entries through symlinks refused) and stores that, and
// the engine adds the cell's own init at /init when it boots it. The guest init runs the app
// as vcap (uid/gid 2000) whatever the manifest says. Both files must be regular files of the droplet: VerifyApp opens them
// beneath the app directory and follows no symlink (a droplet's links are the tenant's).
package droplet
