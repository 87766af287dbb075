#!/usr/bin/env bash
# Builds the VM guests' initramfs from Debian's installed kernel and busybox-static: no image
# download. Prints the path of the cpio archive (cached; rebuilt when the kernel, this script or
# init changes).
#
#   deploy/vm/initramfs.sh [--kernel VERSION]
#
# Holds busybox, /init (deploy/vm/init) and the modules the guests load, with their dependencies
# from modules.dep (file names as there): virtio PCI and network, 9p over virtio (this machine's root, read-only, and a
# writable result folder), vsock, and the DRM drivers vgem and virtio_gpu.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/vm-lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) VM_KERNEL_VERSION="$2"; shift 2 ;;
    *) echo "usage: $0 [--kernel VERSION]" >&2; exit 2 ;;
  esac
done
vm_check_tools
version="$(vm_kernel_version)"
moddir="/lib/modules/$version"
wanted=(virtio_pci virtio_net 9p 9pnet_virtio vgem virtio-gpu vsock vmw_vsock_virtio_transport)

key="$(cat "$here/initramfs.sh" "$here/init" "$moddir/modules.dep" "$(command -v busybox)" | sha256sum | cut -c1-16)"
out="$VM_CACHE/initramfs-$version-$key.cpio.gz"
if [ -s "$out" ]; then echo "$out"; exit 0; fi

mkdir -p "$VM_CACHE"
tree="$(mktemp -d "$VM_CACHE/tree.XXXXXX")"
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,dev,proc,sys,newroot,modules}
cp "$(command -v busybox)" "$tree/bin/busybox"
ln -s busybox "$tree/bin/sh"
cp "$here/init" "$tree/init"
chmod 755 "$tree/init"

# Each wanted module after its dependencies (modules.dep lists them deepest last), each once.
declare -A seen=()
order=()
add() {
  local path="$1" dep
  [ -n "${seen[$path]:-}" ] && return
  seen[$path]=1
  for dep in $(awk -v m="$path:" '$1 == m { for (i = NF; i > 1; i--) print $i }' "$moddir/modules.dep"); do add "$dep"; done
  order+=("$path")
}
for m in "${wanted[@]}"; do
  path="$(awk -v n="/$m.ko" 'index($1, n ":") { sub(":", "", $1); print $1; exit }' "$moddir/modules.dep")"
  [ -n "$path" ] || { echo "initramfs: module $m is not in $moddir/modules.dep" >&2; exit 1; }
  add "$path"
done
: > "$tree/modules/order"
for path in "${order[@]}"; do
  cp "$moddir/$path" "$tree/modules/"
  basename "$path" >> "$tree/modules/order"
done

(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
