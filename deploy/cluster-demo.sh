#!/usr/bin/env bash
# A pool of three pvdrm-host nodes on 127.0.0.1 (Akka.Cluster), guests placed across it, one node
# killed mid-run, its guests moved and their workloads re-run and verified (CLUSTER.md).
#
#   deploy/cluster-demo.sh [--guests N] [--size N] [--bin DIR]
#
# Each node has one SoftGpu, its own guest socket, control socket and Akka.Remote port (mutual
# TLS, certificates from deploy/pool-certs.sh); n1 is the seed. Every guest connects to n1 and
# is placed on the least-loaded device of the pool (default-device = auto), reaching other nodes
# by redirect. Then n2 is killed with SIGKILL; once
# the split-brain resolver has downed it, its guests are placed elsewhere and run again. The
# nodes use the failover settings of deploy/pvdrm-host.hocon, and the demo prints the failover
# time: from the kill to the first verified run of one of n2's guests on another node (retried
# every 100 ms, each try a new pvdrm-guest process, whose start is part of the figure).
# Prints every result and the pool's status before and after, tears everything down (also on
# failure or Ctrl+C). Needs no root. Exit code: 0 when every run verified.
set -euo pipefail
cd "$(dirname "$0")/.."

guests=6 size=256 demo=cluster-demo
source deploy/demo-args.sh

work="$(mktemp -d /tmp/pvdrm-pool.XXXXXX)"
declare -A pid
cleanup() {
  for n in "${!pid[@]}"; do kill -9 "${pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The sample node configuration's failover settings, so that the figure printed is theirs.
sample_setting() { sed -n "s/^ *$1 = \(.*\)$/\1/p" deploy/pvdrm-host.hocon | head -1; }
# PVDRM_DEMO_FAILURE_DETECTION / PVDRM_DEMO_DOWN_AFTER override them (the tests' loaded machine).
failure_detection="${PVDRM_DEMO_FAILURE_DETECTION:-$(sample_setting failure-detection)}"
down_after="${PVDRM_DEMO_DOWN_AFTER:-$(sample_setting down-after)}"
[ -n "$failure_detection" ] && [ -n "$down_after" ] || { echo "cluster-demo: no failure-detection/down-after in deploy/pvdrm-host.hocon" >&2; exit 1; }
now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
seed_port="$(free_port)"
# The nodes talk over mutual TLS with certificates of a CA made for this demo.
deploy/pool-certs.sh "$work/pki" demo n1 n2 n3 > /dev/null
for n in n1 n2 n3; do
  port="$seed_port"; [ "$n" = n1 ] || port="$(free_port)"
  cat > "$work/$n.hocon" <<HOCON
pvdrm.host {
  listen.unix = "$work/$n.sock"
  control.unix = "$work/$n-control.sock"
  soft-gpu { engines = 1, memory = 1 GiB }
  default-device = auto
}
pvdrm.cluster {
  enabled = on
  node-name = $n
  port = $port
  seed-nodes = ["akka.tcp://pvdrm@127.0.0.1:$seed_port"]
  advertise = ["unix:$work/$n.sock"]
  # As deploy/pvdrm-host.hocon: a node silent this long is unreachable, then downed (CLUSTER.md).
  failure-detection = $failure_detection
  down-after = $down_after
  tls {
    certificate = "$work/pki/$n.p12"
    password = demo
    ca = "$work/pki/ca.pem"
  }
}
pvdrm.log.level = warning
HOCON
  "$host_exe" serve --config "$work/$n.hocon" > "$work/$n.log" 2>&1 &
  pid[$n]=$!
done

pool_up() { "$host_exe" status --cluster --json --config "$work/n1.hocon" 2>/dev/null | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except ValueError:
    sys.exit(1)  # the node is not answering yet
want = int(sys.argv[1])
sys.exit(0 if len(s["nodes"]) == want and all(n["state"] == "Up" and n["devices"] for n in s["nodes"]) else 1)' "$1"; }
echo "starting three nodes..."
for _ in $(seq 1 120); do pool_up 3 && break; sleep 0.5; done
pool_up 3 || { echo "cluster-demo: the pool did not form; logs in $work" >&2; tail -5 "$work"/n*.log >&2; exit 1; }

failed=0
run_all() {
  for i in $(seq 1 "$guests"); do
    if out="$("$guest_exe" run gemm --host "unix:$work/n1.sock" --name "vm$i" --size "$size" --iterations 2 2>&1)"; then
      echo "  vm$i: $out"
    else
      echo "  vm$i: FAILED: $out"; failed=1
    fi
  done
}
echo "guests (all connect to n1; the pool places them):"
run_all
"$host_exe" status --cluster --config "$work/n1.hocon"

# One of n2's guests, timed from the kill to its first verified run elsewhere.
timed="$("$host_exe" status --cluster --json --config "$work/n1.hocon" | python3 -c '
import json, sys
print(next((g for g, p in sorted(json.load(sys.stdin)["assignments"].items()) if p.startswith("n2/")), ""))')"
[ -n "$timed" ] || { echo "cluster-demo: no guest was placed on n2" >&2; exit 1; }
echo "killing n2 (SIGKILL) with failure-detection = $failure_detection, down-after = $down_after; timing $timed..."
killed_at="$(now)"
kill -9 "${pid[n2]}"; wait "${pid[n2]}" 2>/dev/null || true; unset 'pid[n2]'
verified_ms=""
while [ "$(ms_since "$killed_at")" -lt 60000 ]; do
  if out="$("$guest_exe" run gemm --host "unix:$work/n1.sock" --name "$timed" --size 64 --iterations 1 2>&1)"; then
    verified_ms="$(ms_since "$killed_at")"; break
  fi
  sleep 0.1
done
[ -n "$verified_ms" ] || { echo "cluster-demo: $timed did not run elsewhere within 60 s of the kill: $out; logs in $work" >&2; exit 1; }
echo "failover: kill -9 of n2 to $timed's first verified run on another node: $verified_ms ms ($out)"
echo "running everything again:"
run_all
"$host_exe" status --cluster --config "$work/n3.hocon"

[ "$failed" = 0 ] && echo "every run verified, before and after losing a node" || echo "some runs failed"
exit "$failed"
