#!/usr/bin/env bash
# Several VM guests at once against one pvdrm-host on this machine, concurrent then sequential.
#
#   deploy/vm/demo.sh [--guests N] [--size N] [--bin DIR]
#
# Starts pvdrm-host listening on 127.0.0.1 (TCP, one token per guest). Each round runs a
# verified GEMM from a guest on this machine and from N VM guests booted at once
# (deploy/vm/run.sh), first with sequential = off, then after `pvdrm-host set sequential on`.
# Prints one table row per guest and round, with where it ran, then the host's status; tears
# everything down on exit or Ctrl+C. Exit code: 0 when every guest verified.
set -euo pipefail
cd "$(dirname "$0")/../.."
guests=2 size=128 demo=vm-demo
source deploy/demo-args.sh
bin="$(readlink -f "$bin")" host_exe="$bin/pvdrm-host" guest_exe="$bin/pvdrm-guest"

work="$(mktemp -d "${TMPDIR:-/tmp}/pvdrm-vm-demo.XXXXXX")"
host_pid=""
teardown() {
  # run.sh stops its VM on TERM.
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

port=$((20000 + $$ % 20000))
: > "$work/tokens"
chmod 600 "$work/tokens"
for n in local $(seq 1 "$guests"); do
  echo "vm$n $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >> "$work/tokens"
done
cat > "$work/host.hocon" <<HOCON
pvdrm.host {
  listen.unix = ""
  listen.tcp = "127.0.0.1:$port"
  auth.tokens-file = "$work/tokens"
  auth.same-uid = off
  control.unix = "$work/control.sock"
}
HOCON
"$host_exe" serve --config "$work/host.hocon" 2> "$work/host.log" &
host_pid=$!
for _ in $(seq 1 300); do [ -S "$work/control.sock" ] && break; sleep 0.1; done
[ -S "$work/control.sock" ] || { echo "vm-demo: the host did not start:" >&2; cat "$work/host.log" >&2; exit 1; }
echo "host: pvdrm-host on tcp:127.0.0.1:$port (tokens required); VM guests reach it at 10.0.2.2:$port"

field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | tr -d '"'; }
failed=0
row() { # file guest where mode
  local verified ms gflops path
  verified="$(field "$1" verified)" ms="$(field "$1" elapsedMs)" gflops="$(field "$1" gflops)" path="$(field "$1" dataPath)"
  [ "$verified" = true ] || { failed=1; verified="FAILED: $(tail -n 2 "$1" | tr '\n' ' ')"; }
  printf '%-9s %-34s %-10s %-5s %9.0f %8.2f  %s\n' "$2" "$3" "$4" "${path:--}" "${ms:-0}" "${gflops:-0}" "$verified"
}

printf '%-9s %-34s %-10s %-5s %9s %8s  %s\n' guest "ran in" mode data "ms" "GFLOP/s" result
for mode in concurrent sequential; do
  [ "$mode" = sequential ] && "$host_exe" set sequential on --config "$work/host.hocon" > /dev/null
  pids=()
  for n in $(seq 1 "$guests"); do
    deploy/vm/run.sh --config "$work/host.hocon" --name "vm$n" --bin "$bin" -- \
      pvdrm-guest run gemm --size "$size" --iterations 4 --json > "$work/vm$n-$mode.out" 2> "$work/vm$n-$mode.err" &
    pids+=($!)
  done
  token="$(awk '$1 == "vmlocal" { print $2 }' "$work/tokens")"
  "$guest_exe" run gemm --host "tcp:127.0.0.1:$port" --name vmlocal --token "$token" --size "$size" --iterations 4 --json \
    > "$work/local-$mode.out" 2>&1 || true
  for p in "${pids[@]}"; do wait "$p" || true; done
  row "$work/local-$mode.out" vmlocal "this machine (process)" "$mode"
  for n in $(seq 1 "$guests"); do
    accel="$(sed -n 's/^vm vm[0-9]*: \([a-z]*\).*/\1/p' "$work/vm$n-$mode.err" | head -n 1)"
    [ -s "$work/vm$n-$mode.out" ] || cat "$work/vm$n-$mode.err" > "$work/vm$n-$mode.out"
    kernel="$(sed -n 's/^vm vm[0-9]*: .*, kernel \([0-9.]*\).*/\1/p' "$work/vm$n-$mode.err" | head -n 1)"
    row "$work/vm$n-$mode.out" "vm$n" "VM (QEMU ${accel:-?}, Linux ${kernel:-?})" "$mode"
  done
done
"$host_exe" status --config "$work/host.hocon"
if [ "$failed" -eq 0 ]; then echo "vm demo: every guest verified, in VMs and on this machine"; else echo "vm demo: FAILED"; fi
exit "$failed"
