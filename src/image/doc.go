// Package image builds the bootable payload of a UniK app instance from an app directory.
//
// The payload is an uncompressed newc cpio archive (the Linux initramfs format) holding the
// static guest init at /init, the manifest at /unik/manifest.json, the app directory at
// /home/vcap/app (owned by vcap, uid/gid 2000), a few system files (/etc/passwd, /etc/group,
// /etc/nsswitch.conf, /etc/hosts), the empty mount points and console device nodes, and, for a
// dynamically linked program, its ELF interpreter and the closure of its shared libraries at the
// paths the dynamic loader will look for them.
//
// Builds are reproducible: entries are sorted by path, every entry has the same mtime, inode
// numbers are sequential, owners are normalized, so the same input gives the same bytes and
// the same sha256 digest. The archive ends with the cpio trailer and zero padding to a multiple
// of 512 bytes, so further cpio segments (such as the engine's per-instance config, written with
// CpioWriter) can be concatenated after it.
//
// A payload is the tenant's once it leaves the builder (a droplet may carry any bytes), so the
// cell does not boot one as it is. Sanitize re-writes a payload so that the kernel unpacks
// exactly its entries and none can stand in the way of what follows: /init, the system files,
// device nodes and /unik's content but the manifest are dropped, hard links, entries through
// symlinks, duplicates and unclean names refused, owners and modes normalized. WriteSystem
// writes the cell's part of every guest (mount points, /etc files, console nodes, /init), which
// the engine appends after the sanitized payload.
//
// The app directory may be a tenant's (an extracted droplet on a cell): the builder never
// follows its symlinks out of it. The Procfile is opened beneath the directory (os.Root), and
// a path resolved through one of the app's links (the program, its libraries) must stay inside
// the app directory, or the build fails with ErrAppFile, whatever chain of links (q -> ., then
// p -> q/../q/../x) the app holds; otherwise it would reach the host's system root.
//
// Only the start command's program and what it needs are resolved: other executables in the app
// directory are copied as plain files and their libraries are not added. Everything is done in
// pure Go: no root, no mounts, no external tools.
package image
