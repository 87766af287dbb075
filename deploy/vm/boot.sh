#!/usr/bin/env bash
# Boots one VM guest, runs a command in it, prints the command's output and exits with its
# status. The guest runs Debian's installed kernel with a busybox initramfs (initramfs.sh), sees
# this machine's root read-only at the same paths (9p) with its own /proc, /sys, /dev and a
# writable /run, and reaches this machine at 10.0.2.2 (QEMU user networking).
#
#   deploy/vm/boot.sh [--name G] [--vgem] [--virtio-gpu] [--memory MiB] [--cpus N]
#                     [--accel auto|kvm|tcg] [--timeout SECONDS] [--pidfile FILE]
#                     [--shared-memory FILE] [--vsock-cid CID] -- COMMAND [ARGS...]
#
# The command runs under bash in the current directory, with TMPDIR and HOME under /run.
# --vgem loads the vgem DRM driver; --virtio-gpu adds a virtio-gpu-pci device (virtio_gpu).
# --accel auto (default) uses KVM where it boots the kernel here (probed once, cached), else
# software emulation (TCG); the mode is printed on stderr. --pidfile: where to write QEMU's pid.
# --shared-memory: a host file (a guest's shared region, whose size is a power of two) mapped
# into the VM, shared, as the BAR 2 of an ivshmem-plain PCI device (1af4:1110).
# --vsock-cid: a vhost-vsock-pci device with that guest CID (needs /dev/vhost-vsock); the VM
# reaches this machine at CID 2.
# The command's output is streamed as the VM writes it. Exit status: the command's; 124 when
# --timeout passed; 125 when the VM did not run it to its end. QEMU is stopped on exit and Ctrl+C.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/vm-lib.sh"

name=pvdrm-vm vgem=0 gpu=0 memory=1024 cpus=2 accel=auto timeout=300 pidfile="" shared="" cid=""
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --vgem) vgem=1; shift ;;
    --virtio-gpu) gpu=1; shift ;;
    --memory) memory="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --accel) accel="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --pidfile) pidfile="$2"; shift 2 ;;
    --shared-memory) shared="$2"; shift 2 ;;
    --vsock-cid) cid="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--name G] [--vgem] [--virtio-gpu] [--memory MiB] [--cpus N] [--accel auto|kvm|tcg] [--timeout S] [--pidfile F] -- COMMAND..." >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "boot: no command given (after --)" >&2; exit 2; }
[[ "$name" =~ ^[A-Za-z0-9_.-]{1,63}$ ]] || { echo "boot: --name must be 1-63 letters, digits, '.', '_' or '-'" >&2; exit 2; }
vm_check_tools
version="$(vm_kernel_version)"
initrd="$("$here/initramfs.sh" --kernel "$version")"

work="$(mktemp -d "${TMPDIR:-/tmp}/pvdrm-vm.XXXXXX")"
qemu_pid=""
teardown() {
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  [ -n "${PVDRM_VM_KEEP:-}" ] || rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/result"
{ printf 'cd %q 2>/dev/null || cd /\n' "$PWD"; printf '%q ' "$@"; echo; } > "$work/result/job"

[ "$accel" = auto ] && accel="$(vm_accel "$version" "$initrd")"
case "$accel" in
  tcg) echo "vm $name: tcg (software emulation), kernel $version" >&2; accel=tcg,thread=multi ;;
  *) echo "vm $name: $accel, kernel $version" >&2 ;;
esac

args=(-accel "$accel" -cpu max -m "$memory" -smp "$cpus" -nodefaults -no-reboot -display none
  -kernel "/boot/vmlinuz-$version" -initrd "$initrd"
  # no_timer_check: under software emulation on a busy machine the kernel's IO-APIC timer check
  # can panic at boot ("IO-APIC + timer doesn't work"), as seen here.
  -append "console=ttyS0 quiet panic=-1 no_timer_check pvdrm.name=$name pvdrm.vgem=$vgem"
  -serial "file:$work/console.log"
  -fsdev local,id=root,path=/,readonly=on,security_model=none,multidevs=remap
  -device virtio-9p-pci,fsdev=root,mount_tag=hostroot
  -fsdev "local,id=result,path=$work/result,security_model=none"
  -device virtio-9p-pci,fsdev=result,mount_tag=result
  -netdev user,id=net0 -device virtio-net-pci,netdev=net0)
[ "$gpu" = 1 ] && args+=(-device virtio-gpu-pci)
if [ -n "$shared" ]; then
  [ -f "$shared" ] || { echo "boot: --shared-memory $shared is not a file" >&2; exit 2; }
  args+=(-object "memory-backend-file,id=pvdrm-region,share=on,mem-path=$shared,size=$(stat -c %s "$shared")"
    -device ivshmem-plain,memdev=pvdrm-region)
fi
[ -n "$cid" ] && args+=(-device "vhost-vsock-pci,guest-cid=$cid")
# shellcheck disable=SC2206
args+=(${PVDRM_VM_QEMU_ARGS:-})

qemu-system-x86_64 "${args[@]}" > "$work/qemu.log" 2>&1 &
qemu_pid=$!
[ -n "$pidfile" ] && echo "$qemu_pid" > "$pidfile"
# The command's output, as the VM writes it into the result folder.
touch "$work/result/stdout" "$work/result/stderr"
tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$work/result/stdout" &
out_pid=$!
tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$work/result/stderr" >&2 &
err_pid=$!
deadline=$((SECONDS + timeout))
while kill -0 "$qemu_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
  sleep 0.2
done
if kill -0 "$qemu_pid" 2>/dev/null; then
  echo "boot: vm $name still running after ${timeout}s; stopped" >&2
  exit 124
fi
wait "$qemu_pid" || true
qemu_pid=""
wait "$out_pid" "$err_pid" || true
if [ ! -f "$work/result/status" ]; then
  echo "boot: vm $name did not run the command to its end; QEMU and console said:" >&2
  tail -n 20 "$work/qemu.log" "$work/console.log" >&2 || true
  exit 125
fi
exit "$(cat "$work/result/status")"
