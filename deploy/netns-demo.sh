#!/usr/bin/env bash
# Guests in their own network namespaces reach the host over TCP, as VMs on a bridge would.
#
#   sudo deploy/netns-demo.sh [--guests N] [--size N] [--bin DIR]
#
# Creates a bridge with one address for the host and, per guest, a namespace joined to it by a
# veth pair with an address of its own (only addresses this script creates, in one /24 picked
# from 10.213.0.0/16). pvdrm-host listens on the bridge address with a tokens file; each guest
# runs a verified GEMM workload from its namespace with its own name and token. Prints each
# guest's result and the host's status, then tears everything down, also on failure or Ctrl+C.
# Needs root (or CAP_NET_ADMIN) and iproute2. Exit code: 0 when every guest verified.
set -euo pipefail
cd "$(dirname "$0")/.."

guests=3 size=256 demo=netns-demo
source deploy/demo-args.sh
command -v ip >/dev/null || { echo "netns-demo: iproute2 (ip) is required" >&2; exit 1; }

# Names unique to this run (interface names have at most 15 characters).
id=$$
subnet="10.213.$((id % 250))"
bridge="pvbr$id"
work="$(mktemp -d /tmp/pvdrm-netns.XXXXXX)"
host_pid=""
namespaces=()

teardown() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null || true
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

if ip -o addr show | grep -q " $subnet\."; then
  echo "netns-demo: $subnet.0/24 is already in use on this machine" >&2
  exit 1
fi

echo "network: bridge $bridge with the host at $subnet.1/24"
ip link add "$bridge" type bridge
ip addr add "$subnet.1/24" dev "$bridge"
ip link set "$bridge" up

: > "$work/tokens"
chmod 600 "$work/tokens"
for n in $(seq 1 "$guests"); do
  ns="pvdrm-$id-$n"
  ip netns add "$ns"
  namespaces+=("$ns")
  ip link add "pv${id}h$n" type veth peer name "pv${id}g$n"
  ip link set "pv${id}h$n" master "$bridge" up
  ip link set "pv${id}g$n" netns "$ns"
  ip -n "$ns" addr add "$subnet.$((n + 10))/24" dev "pv${id}g$n"
  ip -n "$ns" link set "pv${id}g$n" up
  ip -n "$ns" link set lo up
  echo "vm$n $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >> "$work/tokens"
  echo "  guest vm$n in namespace $ns at $subnet.$((n + 10))"
done

cat > "$work/host.hocon" <<EOF
pvdrm.host {
  listen.unix = ""
  listen.tcp = "$subnet.1:7000"
  auth.tokens-file = "$work/tokens"
  auth.same-uid = off
  control.unix = "$work/control.sock"
}
EOF
"$host_exe" serve --config "$work/host.hocon" 2> "$work/host.log" &
host_pid=$!
for _ in $(seq 1 100); do [ -S "$work/control.sock" ] && break; sleep 0.1; done
[ -S "$work/control.sock" ] || { echo "netns-demo: the host did not start:" >&2; cat "$work/host.log" >&2; exit 1; }
echo "host: pvdrm-host listening on tcp:$subnet.1:7000 (tokens required)"

pids=()
for n in $(seq 1 "$guests"); do
  token="$(awk -v g="vm$n" '$1 == g { print $2 }' "$work/tokens")"
  ip netns exec "pvdrm-$id-$n" "$guest_exe" run gemm --host "tcp:$subnet.1:7000" --name "vm$n" --token "$token" \
    --size "$size" --iterations 4 > "$work/vm$n.out" 2>&1 &
  pids+=($!)
done

failed=0
for n in $(seq 1 "$guests"); do
  if wait "${pids[$((n - 1))]}"; then status="ok"; else status="FAILED"; failed=1; fi
  echo "vm$n ($subnet.$((n + 10))): $status: $(tail -n 1 "$work/vm$n.out")"
done

# An outsider with no token, from the first namespace, is refused.
if ip netns exec "pvdrm-$id-1" "$guest_exe" run gemm --host "tcp:$subnet.1:7000" --name intruder --size 8 > "$work/intruder.out" 2>&1; then
  echo "intruder: admitted without a token (unexpected)"; failed=1
else
  echo "intruder (no token): refused: $(tail -n 1 "$work/intruder.out")"
fi

"$host_exe" status --config "$work/host.hocon"
if [ "$failed" -eq 0 ]; then echo "netns demo: all $guests guests verified over TCP"; else echo "netns demo: FAILED"; fi
exit "$failed"
