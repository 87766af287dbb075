# Sourced by the VM scripts: the kernel, the cache folder, the tool checks and the
# emulation mode (KVM where it boots the kernel, software emulation otherwise).
VM_CACHE="${PVDRM_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvdrm-vm}"

# The newest installed Debian kernel, unless VM_KERNEL_VERSION names one.
vm_kernel_version() {
  if [ -n "${VM_KERNEL_VERSION:-}" ]; then echo "$VM_KERNEL_VERSION"; return; fi
  local k
  k="$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$k" ] || { echo "vm: no /boot/vmlinuz-* (Debian package linux-image-amd64)" >&2; return 1; }
  echo "${k#/boot/vmlinuz-}"
}

# What is missing to boot a VM guest here, or nothing.
vm_gap() {
  command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing (Debian package qemu-system-x86)"; return; }
  local bb list
  bb="$(command -v busybox)" && list="$(busybox --list 2>/dev/null)" && [[ $'\n'"$list"$'\n' == *$'\ninsmod\n'* ]] \
    && [[ "$(ldd "$bb" 2>&1)" == *"not a dynamic"* ]] \
    || { echo "a static busybox is missing (Debian package busybox-static)"; return; }
  local v
  v="$(vm_kernel_version 2>/dev/null)" || { echo "no kernel in /boot (Debian package linux-image-amd64)"; return; }
  [ -r "/boot/vmlinuz-$v" ] || { echo "/boot/vmlinuz-$v is not readable"; return; }
  [ -f "/lib/modules/$v/modules.dep" ] || { echo "/lib/modules/$v/modules.dep is missing"; return; }
  command -v cpio >/dev/null || { echo "cpio is missing (Debian package cpio)"; return; }
}

vm_check_tools() {
  local gap
  gap="$(vm_gap)"
  [ -z "$gap" ] || { echo "vm: $gap" >&2; exit 3; }
}

# kvm where /dev/kvm opens and a probe VM with KVM boots this kernel and runs a command
# (probed once per kernel, cached); tcg (software emulation) otherwise.
vm_accel() {
  local version="$1" initrd="$2" cached="$VM_CACHE/accel-$1" probe
  if [ -s "$cached" ]; then cat "$cached"; return; fi
  local mode=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    probe="$(mktemp -d "${TMPDIR:-/tmp}/pvdrm-vm-probe.XXXXXX")"
    mkdir -p "$probe/result"
    echo true > "$probe/result/job"
    timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 512 -smp 1 -nodefaults -no-reboot -display none \
      -kernel "/boot/vmlinuz-$version" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1 no_timer_check" \
      -serial "file:$probe/console.log" \
      -fsdev local,id=root,path=/,readonly=on,security_model=none,multidevs=remap \
      -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
      -fsdev "local,id=result,path=$probe/result,security_model=none" \
      -device virtio-9p-pci,fsdev=result,mount_tag=result > "$probe/qemu.log" 2>&1 || true
    [ "$(cat "$probe/result/status" 2>/dev/null)" = 0 ] && mode=kvm
    rm -rf "$probe"
  fi
  mkdir -p "$VM_CACHE"
  echo "$mode" > "$cached"
  echo "$mode"
}
