// Package imagestore keeps built images on the local disk: a name points to a manifest and a
// content-addressed payload (blobs/sha256-<hex>.cpio). Payloads are verified against their
// digest when used, so a corrupt image is refused before it boots.
//
//	<dir>/images/<name>.json      Image record (name, digest, size, manifest)
//	<dir>/blobs/sha256-<hex>.cpio payload, shared by names with the same digest
package imagestore
