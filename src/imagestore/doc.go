// Package imagestore keeps built images on the local disk: a name points to a manifest and a
// content-addressed payload (blobs/sha256-<hex>.cpio). Payloads are verified against their
// digest when used, so a corrupt image is refused before it boots. Payloads carry the app's
// files, so the store is private: directories 0700, files 0600; a store made before that is
// made private when it is next used.
//
//	<dir>/images/<name>.json      Image record (name, digest, size, manifest)
//	<dir>/blobs/sha256-<hex>.cpio payload, shared by names with the same digest
package imagestore
