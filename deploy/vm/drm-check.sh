#!/usr/bin/env bash
# Runs inside a VM guest booted with --vgem --virtio-gpu (deploy/vm/boot.sh): for each real DRM
# driver, a pvdrm-host with device = auto (that driver) serves two guests in the same VM, each
# running `pvdrm-guest check` (version, caps, a buffer made, its dma-buf mapped, bytes read back,
# closed) and holding its context while the host's open DRM files are counted; then a host on the
# driver's render node, where the kernel refuses dumb buffers. Prints what each step answered.
#
#   deploy/vm/boot.sh --vgem --virtio-gpu -- deploy/vm/drm-check.sh BIN_DIR [DRIVER...]
set -uo pipefail
bin="$1"; shift
drivers=("${@:-vgem virtio_gpu}")
[ $# -gt 0 ] && drivers=("$@") || drivers=(vgem virtio_gpu)
work=/run/pvdrm-drm
mkdir -p "$work"
echo "kernel: $(uname -r)"
"$bin/pvdrm-host" nodes

# Serves on $1 (auto with driver $2, or a node path) and runs $3 guests' checks, holding them.
serve_and_check() {
  local device="$1" driver="$2" guests="$3" tag="$4" host g pids=()
  cat > "$work/$tag.hocon" <<HOCON
pvdrm.host {
  device = "$device"
  device-driver = "$driver"
  listen.unix = "$work/$tag.sock"
  control.unix = "$work/$tag-control.sock"
}
HOCON
  "$bin/pvdrm-host" serve --config "$work/$tag.hocon" > "$work/$tag.log" 2>&1 &
  host=$!
  for _ in $(seq 1 600); do [ -S "$work/$tag-control.sock" ] && break; kill -0 $host 2>/dev/null || break; sleep 0.1; done
  echo "== $tag: host on device = $device${driver:+ (device-driver = $driver)}: $(grep -o 'device [^ ]* .*' "$work/$tag.log" | head -n 1)"
  if ! kill -0 $host 2>/dev/null; then
    wait $host; echo "$tag: the host exited ($?):"; sed "s/^/$tag host: /" "$work/$tag.log"; return
  fi
  echo "$tag: host DRM files before guests: $(ls -l /proc/$host/fd 2>/dev/null | grep -c /dev/dri/)"
  for g in $(seq 1 "$guests"); do
    mkfifo "$work/$tag-$g.in"
    "$bin/pvdrm-guest" check --host "unix:$work/$tag.sock" --name "g$g" --hold < "$work/$tag-$g.in" > "$work/$tag-$g.out" 2>&1 &
    pids+=($!)
    exec {fd}> "$work/$tag-$g.in"
    eval "hold_$g=$fd"
  done
  for g in $(seq 1 "$guests"); do
    for _ in $(seq 1 600); do grep -q '^holding\|failed\|^pvdrm' "$work/$tag-$g.out" && break; sleep 0.1; done
  done
  echo "$tag: host DRM files with $guests guests holding a context: $(ls -l /proc/$host/fd | grep -c /dev/dri/)"
  for g in $(seq 1 "$guests"); do eval "exec {hold_$g}>&-"; done
  for g in $(seq 1 "$guests"); do
    wait "${pids[$((g - 1))]}"; echo "$tag guest g$g: exit $?"
    sed "s/^/$tag guest g$g: /" "$work/$tag-$g.out"
  done
  echo "$tag: host DRM files after the guests left: $(ls -l /proc/$host/fd | grep -c /dev/dri/)"
  kill $host; wait $host
}

for d in "${drivers[@]}"; do
  serve_and_check auto "$d" 2 "$d-card"
  render="$("$bin/pvdrm-host" nodes --json | python3 -c "import json,sys; n=[x['path'] for x in json.load(sys.stdin)['nodes'] if x['driver']==sys.argv[1] and 'render' in x['path']]; print(n[0] if n else '')" "$d")"
  [ -n "$render" ] && serve_and_check "$render" "" 1 "$d-render"
done
