#!/usr/bin/env bash
# The recipe of UniK's minimal guest kernel, shared by scripts/build-kernel (developer machines,
# cached in /var/cache/unik/kernel/<key>) and the BOSH package unik-kernel (packages/unik-kernel),
# so both build the same kernel the same way. It lives in src/ because BOSH packages read files
# only from src/ and blobs/.
#
#   src/kernel/build.sh TARBALL FRAGMENT OUTDIR [NAME]
#
# Unpacks Linux from TARBALL (Debian's linux-source-6.1.tar.xz), applies `make tinyconfig` plus
# FRAGMENT (src/kernel/config/unik-x86_64.config), checks that every line of the fragment
# survived olddefconfig, builds, and writes into OUTDIR (created if missing): vmlinux (the PVH
# ELF that QEMU boots), bzImage, config and kernel.json named NAME (default
# unik-minimal-<key>, the key scripts/kernel-key and src/kernel compute from the fragment).
# Work files go to a temporary directory under ${TMPDIR:-/tmp}, removed on exit.
# Needs make, gcc, flex, bison, bc, xz, perl.
set -euo pipefail
if (($# < 3 || $# > 4)); then
  echo "usage: $0 TARBALL FRAGMENT OUTDIR [NAME]" >&2
  exit 2
fi
tarball=$1 fragment=$2 out=$3
recipe="recipe 1" # must match scripts/kernel-key and src/kernel's recipe constant
name=${4:-unik-minimal-$({ cat "$fragment"; echo "$recipe"; } | sha256sum | cut -c1-16)}

quiet() { if [[ -t 2 ]]; then "$@"; else "$@" >/dev/null; fi; }
work=$(mktemp -d "${TMPDIR:-/tmp}/unik-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xf "$tarball"
src=$(echo "$work"/linux-source-6.1)
make -C "$src" -s ARCH=x86_64 tinyconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment" >/dev/null
make -C "$src" -s ARCH=x86_64 olddefconfig
# every line of the fragment must have survived olddefconfig, or the fragment is wrong
missing=0
while IFS= read -r line; do
  [[ $line =~ ^CONFIG_([A-Z0-9_]+)=(.*)$ ]] || continue
  cname=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
  if [[ $want == n ]]; then
    grep -q "^CONFIG_${cname}=" "$src/.config" && { echo "build-kernel: CONFIG_$cname should be off" >&2; missing=1; }
  else
    grep -qx "CONFIG_${cname}=${want}" "$src/.config" || { echo "build-kernel: CONFIG_$cname=$want did not survive olddefconfig" >&2; missing=1; }
  fi
done < "$fragment"
[[ $missing == 0 ]] || exit 1
KBUILD_BUILD_TIMESTAMP='2024-01-01' KBUILD_BUILD_USER=unik KBUILD_BUILD_HOST=unik \
  quiet make -C "$src" -s ARCH=x86_64 -j"$(nproc)" bzImage
mkdir -p "$out"
cp "$src/vmlinux" "$src/arch/x86/boot/bzImage" "$out/"
cp "$src/.config" "$out/config"
cat > "$out/kernel.json" <<JSON
{"name": "$name", "image": "vmlinux", "transport": "mmio", "fallback": false}
JSON
