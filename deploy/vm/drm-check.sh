#!/usr/bin/env bash
# Runs inside a VM guest booted with --vgem --virtio-gpu (deploy/vm/boot.sh): one pvdrm-host
# serves, for each real DRM driver, its card node (found by device = auto's discovery) and its
# render node as two devices. Two guests per card node and one per render node run
# `pvdrm-guest check` (version, caps, a buffer made, its dma-buf mapped, bytes read back,
# closed), holding their contexts while the host's open files of each node are counted.
# Prints what each step answered; exit 0 when every card-node guest passed.
#
#   deploy/vm/boot.sh --vgem --virtio-gpu -- deploy/vm/drm-check.sh BIN_DIR [DRIVER...]
set -uo pipefail
bin="$1"; shift
[ $# -gt 0 ] && drivers=("$@") || drivers=(vgem virtio_gpu)
work=/run/pvdrm-drm
mkdir -p "$work"
echo "kernel: $(uname -r)"
"$bin/pvdrm-host" nodes --json > "$work/nodes.json"
node() { # driver kind: the first such node
  python3 -c "import json,sys; n=[x['path'] for x in json.load(open(sys.argv[1]))['nodes'] if x['driver']==sys.argv[2] and x['name'].startswith(sys.argv[3])]; print(n[0] if n else '')" "$work/nodes.json" "$1" "$2"
}

tags=() paths=() guests=()
devices="" assigned=""
for d in "${drivers[@]}"; do
  for kind in card renderD; do
    path="$(node "$d" "$kind")"
    [ -n "$path" ] || { echo "no $kind node of $d"; continue; }
    tag="$d-$([ "$kind" = card ] && echo card || echo render)"
    n=$([ "$kind" = card ] && echo 2 || echo 1)
    tags+=("$tag"); paths+=("$path"); guests+=("$n")
    devices+="    \"$tag\" { type = drm, path = \"$path\" }"$'\n'
    for g in $(seq 1 "$n"); do assigned+="    \"$tag-g$g\" { device = \"$tag\" }"$'\n'; done
    echo "$tag: $path"
  done
done
cat > "$work/host.hocon" <<HOCON
pvdrm.host {
  listen.unix = "$work/host.sock"
  control.unix = "$work/control.sock"
  # Software emulation is slow: give each guest time for its HELLO.
  admission.hello-timeout = 300 s
  devices {
$devices  }
  default-device = none
  guests {
$assigned  }
}
HOCON
"$bin/pvdrm-host" serve --config "$work/host.hocon" > "$work/host.log" 2>&1 &
host=$!
for _ in $(seq 1 3000); do [ -S "$work/control.sock" ] && break; kill -0 $host 2>/dev/null || break; sleep 0.1; done
if ! kill -0 $host 2>/dev/null; then wait $host; echo "the host exited ($?):"; cat "$work/host.log"; exit 1; fi
files() { ls -l /proc/$host/fd 2>/dev/null | grep -c " $1\$"; }
for i in "${!tags[@]}"; do echo "${tags[$i]}: host DRM files before guests: $(files "${paths[$i]}")"; done

pids=() outs=() holds=()
for i in "${!tags[@]}"; do
  for g in $(seq 1 "${guests[$i]}"); do
    name="${tags[$i]}-g$g"
    mkfifo "$work/$name.in"
    "$bin/pvdrm-guest" check --host "unix:$work/host.sock" --name "$name" --hold < "$work/$name.in" > "$work/$name.out" 2>&1 &
    pids+=($!); outs+=("$name")
    exec {fd}> "$work/$name.in"
    holds+=("$fd")
  done
done
for name in "${outs[@]}"; do
  until grep -q '^holding\|failed\|^pvdrm' "$work/$name.out"; do sleep 0.2; done
done
for i in "${!tags[@]}"; do echo "${tags[$i]}: host DRM files with ${guests[$i]} guests holding a context: $(files "${paths[$i]}")"; done
for fd in "${holds[@]}"; do eval "exec $fd>&-"; done
failed=0
for k in "${!outs[@]}"; do
  name="${outs[$k]}" tag="${outs[$k]%-g*}" g="${outs[$k]##*-}"
  wait "${pids[$k]}"; s=$?
  echo "$tag guest $g: exit $s"
  sed "s/^/$tag guest $g: /" "$work/$name.out"
  [[ "$tag" == *-card && $s -ne 0 ]] && failed=1
done
# The host closes a context's file once its last object is gone: give it until it says so.
for i in "${!tags[@]}"; do
  for _ in $(seq 1 300); do [ "$(files "${paths[$i]}")" -le 1 ] && break; sleep 0.1; done
  echo "${tags[$i]}: host DRM files after the guests left: $(files "${paths[$i]}")"
done
kill $host; wait $host
exit $failed
