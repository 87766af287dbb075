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
# the split-brain resolver has downed it, its guests are placed elsewhere and run again.
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
  # Heartbeats may pause up to 3 s before a node counts as unreachable (the default is 1.5 s): the
  # demo's three nodes share one machine with whatever else runs there, and a node falsely
  # unreachable beside the one it kills would leave no majority to down it.
  failure-detection = 3 s
  down-after = 2 s
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

echo "killing n2 (SIGKILL)..."
killed_at=$(date +%s.%N)
kill -9 "${pid[n2]}"; wait "${pid[n2]}" 2>/dev/null || true; unset 'pid[n2]'
for _ in $(seq 1 120); do pool_up 2 && break; sleep 0.25; done
pool_up 2 || { echo "cluster-demo: the pool did not drop n2 within 30 s; logs in $work" >&2; exit 1; }
moved=0
for _ in $(seq 1 120); do
  "$host_exe" status --cluster --json --config "$work/n1.hocon" | grep -q '"n2/' || { moved=1; break; }
  sleep 0.25
done
[ "$moved" = 1 ] || { echo "cluster-demo: n2's guests were not moved within 30 s; logs in $work" >&2; exit 1; }
echo "n2's guests moved $(python3 -c "import time; print(f'{time.time() - $killed_at:.1f}')") s after the kill; running everything again:"
run_all
"$host_exe" status --cluster --config "$work/n3.hocon"

[ "$failed" = 0 ] && echo "every run verified, before and after losing a node" || echo "some runs failed"
exit "$failed"
