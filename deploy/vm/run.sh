#!/usr/bin/env bash
# Runs a command in a new VM guest wired to a running pvdrm-host, and exits with its status.
#
#   deploy/vm/run.sh --config HOST.hocon --name G [--token T] [--bin DIR] [--transport auto|tcp|vsock]
#                    [boot.sh options] -- COMMAND [ARGS...]
#
# The VM (deploy/vm/boot.sh) reaches the host over TCP at 10.0.2.2, on the port of the host's
# pvdrm.host.listen.tcp (which must listen on a loopback or any address), or over vsock (host
# CID 2, the port of pvdrm.host.listen.vsock; the VM gets a vhost-vsock-pci device, which needs
# this machine's /dev/vhost-vsock). --transport auto (default): vsock when the host listens on
# vsock and /dev/vhost-vsock can be opened, TCP otherwise. The VM presents guest G's
# token from the host's pvdrm.host.auth.tokens-file (or --token). In the VM it starts the guest
# proxy (`pvdrm-guest serve`) with its application socket at unix:/run/pvdrm/guest.sock (the
# default of `pvdrm-guest run`) and its shim socket at unix:/run/pvdrm/shim.sock, then runs COMMAND
# with pvdrm-guest first on PATH (a wrapper that gives `exec` and `status` the proxy's settings).
# boot.sh options (--vgem, --virtio-gpu, --memory, --cpus, --accel, --timeout, --pidfile) pass through.
# When the host gives G a shared region (pvdrm.host.guests.G.shared-memory), the VM gets the
# host's region file as an ivshmem-plain device and the proxy maps programs' buffers from it
# (pvdrm.guest.shared-memory = auto): no copy.
# Exit status: COMMAND's; 1 when the proxy could not connect (its error is printed); as boot.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

usage() { echo "usage: $0 --config HOST.hocon --name G [--token T] [--bin DIR] [boot.sh options] -- COMMAND..." >&2; exit 2; }
config="" name="" token="" bin="" boot=() transport=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --transport) transport="$2"; shift 2 ;;
    --vgem|--virtio-gpu) boot+=("$1"); shift ;;
    --memory|--cpus|--accel|--timeout|--pidfile) boot+=("$1" "$2"); shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ -n "$config" ] && [ -n "$name" ] && [ $# -gt 0 ] || usage
if [ -z "$bin" ]; then
  for d in "$repo/PvDrm.Host/bin/Release/net10.0" "$repo/PvDrm.Host/bin/Debug/net10.0"; do
    [ -x "$d/pvdrm-guest" ] && { bin="$d"; break; }
  done
  [ -n "$bin" ] || { command -v pvdrm-guest >/dev/null && bin="$(dirname "$(readlink -f "$(command -v pvdrm-guest)")")"; }
fi
bin="$(readlink -f "${bin:-.}")"
[ -x "$bin/pvdrm-guest" ] && [ -x "$bin/pvdrm-host" ] || { echo "run: no pvdrm-host and pvdrm-guest in ${bin} (build them, or give --bin DIR)" >&2; exit 2; }
config="$(readlink -f "$config")"

mapfile -t settings < <("$bin/pvdrm-host" config get --config "$config" pvdrm.host.listen.tcp pvdrm.host.auth.tokens-file pvdrm.host.listen.vsock)
listen="${settings[0]:-}" tokens="${settings[1]:-}" vsock="${settings[2]:-}"
[ ${#settings[@]} -eq 3 ] || exit 2
if [ "$transport" = auto ]; then
  transport=tcp
  [ -n "$vsock" ] && [ -w /dev/vhost-vsock ] && transport=vsock
fi
case "$transport" in
  vsock)
    [ -n "$vsock" ] || { echo "run: $config has no pvdrm.host.listen.vsock" >&2; exit 2; }
    [ -w /dev/vhost-vsock ] || { echo "run: /dev/vhost-vsock cannot be opened (module vhost_vsock): no vsock for VMs here" >&2; exit 2; }
    # A CID of our own per VM (3 and up; 0-2 are reserved): from this script's pid.
    boot+=(--vsock-cid $((3 + $$ % 1000000)))
    upstream="vsock:2:${vsock##*:}" ;;
  tcp)
    [ -n "$listen" ] || { echo "run: $config has no pvdrm.host.listen.tcp: VM guests reach the host over TCP (or vsock: listen.vsock)" >&2; exit 2; }
    case "${listen%:*}" in
      127.0.0.1|0.0.0.0|localhost|'[::]'|'[::1]'|'') ;;
      *) echo "run: pvdrm.host.listen.tcp = $listen: QEMU's user network reaches only this machine's loopback; listen on 127.0.0.1 or 0.0.0.0" >&2; exit 2 ;;
    esac
    upstream="tcp:10.0.2.2:${listen##*:}" ;;
  *) usage ;;
esac
shared="" guest_region=""
size="$("$bin/pvdrm-host" config get --config "$config" "pvdrm.host.guests.$name.shared-memory" 2>/dev/null || true)"
if [ -n "$size" ] && [ "$size" != 0 ] && [ "$size" != "0 B" ]; then
  dir="$("$bin/pvdrm-host" config get --config "$config" pvdrm.host.shared-memory-dir)"
  shared="$dir/pvdrm-$name.region"
  [ -f "$shared" ] || { echo "run: guest $name's shared region $shared is missing: is the host of $config running?" >&2; exit 2; }
  boot+=(--shared-memory "$shared")
  guest_region='shared-memory = "auto"'
fi
if [ -z "$token" ]; then
  [ -r "$tokens" ] || { echo "run: no --token, and pvdrm.host.auth.tokens-file ($tokens) cannot be read" >&2; exit 2; }
  token="$(awk -v g="$name" '$1 == g { print $2; exit }' "$tokens")"
  [ -n "$token" ] || { echo "run: guest $name has no token in $tokens" >&2; exit 2; }
fi

# What the VM runs, in a private folder it sees at the same path (this machine's root, read-only).
job="$(mktemp -d "${TMPDIR:-/tmp}/pvdrm-vm-run.XXXXXX")"
trap 'rm -rf "$job"' EXIT
cat > "$job/guest.hocon" <<HOCON
pvdrm.guest {
  host = "$upstream"
  name = "$name"
  token = "$token"
  listen = "unix:/run/pvdrm/guest.sock"
  shim.unix = "unix:/run/pvdrm/shim.sock"
  control.unix = "/run/pvdrm/control.sock"
  $guest_region
}
HOCON
chmod 600 "$job/guest.hocon"
cat > "$job/pvdrm-guest" <<WRAPPER
#!/bin/bash
# pvdrm-guest with this VM's proxy as the default of exec and status.
case "\${1:-}" in
  exec|status) [[ " \$* " == *" --config "* || " \$* " == *" --shim "* ]] || set -- "\$1" --config /run/pvdrm/guest.hocon "\${@:2}" ;;
esac
exec "$bin/pvdrm-guest" "\$@"
WRAPPER
cat > "$job/in-vm.sh" <<'SCRIPT'
# Runs in the VM: the proxy, then the command with pvdrm-guest on PATH.
job="$1" bin="$2"; shift 2
mkdir -p /run/pvdrm/bin
cp "$job/guest.hocon" /run/pvdrm/guest.hocon
cp "$job/pvdrm-guest" /run/pvdrm/bin/pvdrm-guest
chmod 755 /run/pvdrm/bin/pvdrm-guest
"$bin/pvdrm-guest" serve --config /run/pvdrm/guest.hocon 2> /run/pvdrm/proxy.log &
proxy=$!
until [ -S /run/pvdrm/guest.sock ] && [ -S /run/pvdrm/shim.sock ]; do
  kill -0 $proxy 2>/dev/null || { wait $proxy; s=$?; echo "run: the proxy in the VM exited ($s):" >&2; cat /run/pvdrm/proxy.log >&2; exit 1; }
  sleep 0.1
done
PATH="/run/pvdrm/bin:$PATH" "$@"
status=$?
kill $proxy 2>/dev/null; wait $proxy 2>/dev/null
exit $status
SCRIPT
chmod -R go-rwx "$job"
"$here/boot.sh" --name "$name" ${boot[@]+"${boot[@]}"} -- bash "$job/in-vm.sh" "$job" "$bin" "$@"
