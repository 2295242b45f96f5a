// Package imagecache turns the droplet an LRP names into a bootable image: it downloads the
// droplet (checksum verified), takes the image payload the unik buildpack put in it (verified
// against its image.json, used as is) or builds one from the plain droplet's ./app with the
// image builder, and keeps the result in an imagestore under a name derived from the droplet's
// checksum and the start command, so that every later instance of the same droplet boots from
// the cache without a download. Concurrent requests for the same image share one download.
package imagecache
