// Package kernel finds the guest kernel a VM boots. The kernel belongs to the host (the cell),
// not to the image: a kernel fix is a host rollout and no app is rebuilt.
//
// A kernel is a directory with kernel.json (name, image file, optional initrd prefix segment,
// virtio transport) made by scripts/build-kernel (the minimal kernel, cached under
// $UNIK_CACHE_DIR/kernel/<key>, where key hashes the config fragment embedded here) or by
// scripts/fetch-debian-kernel (Debian's cloud kernel, the named fallback and benchmark
// baseline, whose virtio drivers are modules loaded by the guest init).
package kernel
