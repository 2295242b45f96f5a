// Package imagecache turns the droplet an LRP names into a bootable image: it downloads the
// droplet (checksum verified), takes the image payload the unik buildpack put in it (verified
// against its image.json) or builds one from the plain droplet's ./app with the image builder,
// sanitizes the payload, and keeps the result in an imagestore under a name derived from the
// droplet's checksum and the start command, so that every later instance of the same droplet
// boots from the cache without a download. Concurrent requests for the same image (and quota)
// share one download.
//
// Every droplet byte is hostile: app files survive staging, and `cf push --droplet` uploads any
// tarball. So:
//
//   - Extraction creates every entry beneath the extraction directory through an os.Root: no
//     chain of symlinks and hard links that earlier entries built (a -> ., a/l1 -> .., ...) lets
//     a later entry create, overwrite or read anything outside it; such a droplet is refused.
//     Hard links join regular files of the droplet only; devices and fifos are skipped;
//     setuid, setgid and sticky bits are dropped; symlinks are data (relative ones must stay
//     inside the droplet by their own name, absolute ones inside /home/vcap, which the builder
//     maps onto the droplet).
//   - Everything read from the extracted droplet afterwards (./app, image.json, the payload,
//     staging_info.yml, and the builder's reading of ./app) is resolved beneath it too, and
//     the image files must be regular files, not links.
//   - The payload, staged or built, is re-written through image.Sanitize before it is stored:
//     the stored image never carries the tenant's /init, system files, device nodes or /unik
//     files but the manifest, nor hard links or entries through symlinks; owners are
//     normalized. The integrity check against image.json is on the payload as staged; the
//     store records the sanitized payload's digest. The manifest is kept as it is: the guest
//     init runs the app as vcap whatever it says, and the engine adds the cell's init.
//   - Request.MaxBytes, the instance's disk quota (the depot sets Diego's disk_mb; 0 means
//     DefaultMaxBytes, 1 GiB), bounds the download, the extracted droplet (file data plus 512
//     bytes per entry, checked before an entry is written) and the image, each on its own.
//     Past it the preparation fails with an error wrapping ErrQuota that names the quota
//     ("droplet exceeds the instance's disk quota of 256 MB: ..."), having written no more
//     than the quota; a gzip bomb stops at the first entry that passes it. A cached image
//     larger than a request's quota is refused too. The work directory goes whatever happens.
package imagecache
