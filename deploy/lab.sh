#!/usr/bin/env bash
# The inline lab: two network namespaces, a client and a server, joined only through
# dlpgate running on net_af_packet ports (no hugepages, no NIC needed).
#
#   client ns  dlpc0 10.77.0.10 ──veth── dlp-in  [dlpgate run]  dlp-out ──veth── dlps0 10.77.0.80  server ns
#
#   deploy/lab.sh test [--dlpgate PATH] [--dlpctl PATH] [--workers N] [--keep]   build the lab, run the checks, tear down
#   deploy/lab.sh up   [--dlpgate PATH] [--dlpctl PATH] [--workers N]            build it and leave it running
#   deploy/lab.sh down                                           tear it down
#
# `test` checks, with real curl uploads over HTTP through the appliance:
#   1. a benign 300 KB upload passes byte for byte (server copy == client file);
#   1b. a SIGHUP reload in the middle of a slow upload drops none of it;
#   2. an upload carrying card numbers is reset: curl fails with "connection reset",
#      the server holds less than the file and none of its card numbers, and dlpgate
#      reports a credit_card finding with verdict reset;
#   3. latency: ping through the appliance (median, p99) and dlpgate's own
#      receive-to-transmit latency per packet (p50, p99) from its counters.
# Exit status: 0 passed, 1 a check failed, 77 skipped (cannot create namespaces here).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cmd="${1:-test}"
shift || true
dlpgate="$root/build/mgmt/dlpgate"
dlpctl=""
workers=1
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dlpgate) dlpgate="$2"; shift 2 ;;
    --dlpctl) dlpctl="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "lab: unknown option $1" >&2; exit 2 ;;
  esac
done

[ -n "$dlpctl" ] || dlpctl="$(dirname "$dlpgate")/dlpctl"
NS_C=dlp-client
NS_S=dlp-server
IP_C=10.77.0.10
IP_S=10.77.0.80
PORT=8080
work="${DLP_LAB_DIR:-/tmp/dlpgate-lab}"

log() { echo "lab: $*" >&2; }

offloads_off() {  # checksums in software, no TSO/GSO/GRO: af_packet sees real frames
  local ns="$1" dev="$2"
  local run=()
  [ -n "$ns" ] && run=(ip netns exec "$ns")
  "${run[@]}" ethtool -K "$dev" rx off tx off tso off gso off gro off >/dev/null 2>&1 || true
  "${run[@]}" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" >/dev/null 2>&1 || true
}

down() {
  if [ -f "$work/dlpgate.pid" ]; then
    kill -TERM "$(cat "$work/dlpgate.pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$work/dlpgate.pid")" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$(cat "$work/dlpgate.pid")" 2>/dev/null || true
    rm -f "$work/dlpgate.pid"
  fi
  if [ -f "$work/server.pid" ]; then
    kill "$(cat "$work/server.pid")" 2>/dev/null || true
    rm -f "$work/server.pid"
  fi
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns del "$NS_S" 2>/dev/null || true
  ip link del dlp-in 2>/dev/null || true
  ip link del dlp-out 2>/dev/null || true
}

up() {
  for tool in ip ethtool curl python3 ping; do
    command -v "$tool" >/dev/null || { log "missing $tool (run deploy/install-deps.sh)"; exit 1; }
  done
  [ -x "$dlpgate" ] || { log "no dlpgate binary at $dlpgate (run deploy/build.sh)"; exit 1; }
  down
  mkdir -p "$work/srv"
  rm -f "$work"/srv/* "$work"/findings.jsonl "$work"/stats.json "$work"/dlpgate.db*
  if ! ip netns add "$NS_C" 2>"$work/netns.err"; then
    log "SKIP: cannot create network namespaces here ($(cat "$work/netns.err")); needs root and CAP_SYS_ADMIN"
    exit 77
  fi
  ip netns add "$NS_S"
  ip link add dlpc0 netns "$NS_C" type veth peer name dlp-in
  ip link add dlps0 netns "$NS_S" type veth peer name dlp-out
  ip -n "$NS_C" link set dlpc0 address 02:77:00:00:00:0a
  ip -n "$NS_S" link set dlps0 address 02:77:00:00:00:50
  ip -n "$NS_C" addr add "$IP_C/24" dev dlpc0
  ip -n "$NS_S" addr add "$IP_S/24" dev dlps0
  for x in "$NS_C dlpc0" "$NS_S dlps0"; do
    set -- $x
    ip -n "$1" link set lo up
    ip -n "$1" link set "$2" up
    offloads_off "$1" "$2"
  done
  for dev in dlp-in dlp-out; do
    ip link set "$dev" up
    offloads_off "" "$dev"
  done

  cat >"$work/dlpgate.yaml" <<EOF
dataplane:
  eal: ["--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
        "--vdev=net_af_packet0,iface=dlp-in", "--vdev=net_af_packet1,iface=dlp-out"]
  inside_port: 0
  outside_port: 1
  workers: $workers
  on_overload: fail_open
  idle_sleep_us: 20
actions:
  - { category: credit_card, min_confidence: medium, verdict: reset }
  - { category: private_key, verdict: drop }
findings: $work/findings.jsonl
stats: $work/stats.json
store: $work/dlpgate.db
control: { socket: $work/dlpgate.sock }
EOF
  "$dlpgate" run --config "$work/dlpgate.yaml" >"$work/dlpgate.out" 2>"$work/dlpgate.err" &
  echo $! >"$work/dlpgate.pid"
  for _ in $(seq 100); do
    grep -q "worker(s) in" "$work/dlpgate.err" 2>/dev/null && break
    kill -0 "$(cat "$work/dlpgate.pid")" 2>/dev/null || { log "dlpgate did not start:"; cat "$work/dlpgate.err" >&2; exit 1; }
    sleep 0.1
  done
  ip netns exec "$NS_S" python3 "$here/lab_server.py" "$IP_S" "$PORT" "$work/srv" 2>"$work/server.err" &
  echo $! >"$work/server.pid"
  for _ in $(seq 50); do
    grep -q listening "$work/server.err" 2>/dev/null && break
    sleep 0.1
  done
  if ! ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 "$IP_S" >/dev/null; then
    log "no connectivity through the appliance"; cat "$work/dlpgate.err" >&2; exit 1
  fi
  log "up: $NS_C ($IP_C) <-> dlpgate ($workers worker(s)) <-> $NS_S ($IP_S:$PORT); files in $work"
}

# Text with Luhn-valid card numbers written the way people paste them (our own generator).
make_cards() {
  python3 - "$1" <<'EOF'
import random, sys
rng = random.Random(2026)
def luhn_complete(prefix, length):
    digits = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            if n > 9: n -= 9
        total += n
    return digits + str((10 - total % 10) % 10)
with open(sys.argv[1], "w") as out:
    out.write("customer export\n" + "notes " * 2000 + "\n")  # the cards start well past the first segment
    for i in range(200):
        card = luhn_complete(rng.choice(["4", "51", "55", "2221"]), 16)
        out.write("%d, Customer %d, card number %s %s %s %s, exp 0%d/29\n" % (i, i, card[0:4], card[4:8], card[8:12], card[12:16], 1 + i % 9))
EOF
}

percentile() {  # percentile P of numbers on stdin
  sort -n | awk -v p="$1" '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} i=int((NR-1)*p/100)+1; print a[i]}'
}

run_test() {
  [ "$keep" = 1 ] || trap down EXIT
  up
  local failed=0
  # 1. benign upload passes intact.
  python3 -c 'import sys; sys.stdout.write(("quarterly planning notes, nothing sensitive in here at all\n" * 6000)[:300000])' >"$work/benign.txt"
  if ip netns exec "$NS_C" curl -sS --max-time 30 -H 'Expect:' --data-binary @"$work/benign.txt" \
        "http://$IP_S:$PORT/benign.txt" >"$work/curl-benign.out" 2>"$work/curl-benign.err" &&
     cmp -s "$work/benign.txt" "$work/srv/benign.txt"; then
    log "PASS: benign upload of $(stat -c %s "$work/benign.txt") bytes arrived byte for byte"
  else
    log "FAIL: benign upload (curl: $(cat "$work/curl-benign.err"); server has $(stat -c %s "$work/srv/benign.txt" 2>/dev/null || echo 0) bytes)"
    failed=1
  fi

  # 1b. a reload (SIGHUP) in the middle of a slow upload drops nothing of it.
  local before_reload
  before_reload=$(grep -c "reloaded" "$work/dlpgate.err" || true)
  ip netns exec "$NS_C" curl -sS --max-time 60 --limit-rate 100k -H 'Expect:' --data-binary @"$work/benign.txt" \
      "http://$IP_S:$PORT/slow.txt" >"$work/curl-slow.out" 2>"$work/curl-slow.err" &
  local slow_pid=$!
  sleep 1
  kill -HUP "$(cat "$work/dlpgate.pid")"
  local slow_rc=0
  wait "$slow_pid" || slow_rc=$?
  if [ "$slow_rc" -eq 0 ] && cmp -s "$work/benign.txt" "$work/srv/slow.txt" &&
     [ "$(grep -c "reloaded" "$work/dlpgate.err" || true)" -gt "$before_reload" ]; then
    log "PASS: reload during a 3 s upload: $(grep "reloaded" "$work/dlpgate.err" | tail -1 | cut -c1-90)...; the upload arrived byte for byte"
  else
    log "FAIL: reload during an upload (curl exit $slow_rc: $(cat "$work/curl-slow.err"); $(tail -2 "$work/dlpgate.err"))"
    failed=1
  fi

  # 2. the card upload is reset.
  make_cards "$work/cards.txt"
  local rc=0
  ip netns exec "$NS_C" curl -sS --max-time 30 -H 'Expect:' --data-binary @"$work/cards.txt" \
      "http://$IP_S:$PORT/cards.txt" >"$work/curl-cards.out" 2>"$work/curl-cards.err" || rc=$?
  sleep 0.5
  local got
  got=$(stat -c %s "$work/srv/cards.txt" 2>/dev/null || echo 0)
  local first_card
  first_card=$(grep -m1 -o 'card number [0-9 ]*[0-9]' "$work/cards.txt" | sed 's/card number //')
  if [ "$rc" -ne 0 ] && grep -qi "reset" "$work/curl-cards.err" &&
     [ "$got" -lt "$(stat -c %s "$work/cards.txt")" ] &&
     ! grep -qF "$first_card" "$work/srv/cards.txt" 2>/dev/null; then
    log "PASS: card upload reset (curl exit $rc: $(head -c 120 "$work/curl-cards.err")); server got $got of $(stat -c %s "$work/cards.txt") bytes, no card number"
  else
    log "FAIL: card upload not cut off (curl exit $rc: $(cat "$work/curl-cards.err"); server got $got bytes)"
    failed=1
  fi

  # 3. latency through the appliance.
  ip netns exec "$NS_C" ping -c 200 -i 0.005 -q "$IP_S" >/dev/null 2>&1 || true
  ip netns exec "$NS_C" ping -c 100 -i 0.01 "$IP_S" 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' >"$work/ping.txt" || true
  log "ping RTT through the appliance: median $(percentile 50 <"$work/ping.txt") ms, p99 $(percentile 99 <"$work/ping.txt") ms"

  # 4. the running daemon answers dlpctl on its control socket.
  if "$dlpctl" status --socket "$work/dlpgate.sock" >"$work/dlpctl-status.txt" 2>&1 &&
      grep -q "daemon     running" "$work/dlpctl-status.txt" &&
      grep -Eq "^blocked +[1-9]" "$work/dlpctl-status.txt"; then
    log "PASS: dlpctl status reads the running daemon: $(grep -E '^(packets|findings|blocked) ' "$work/dlpctl-status.txt" | tr -s ' ' | tr '\n' ' ')"
  else
    log "FAIL: dlpctl status: $(cat "$work/dlpctl-status.txt")"
    failed=1
  fi

  kill -TERM "$(cat "$work/dlpgate.pid")"
  for _ in $(seq 100); do kill -0 "$(cat "$work/dlpgate.pid")" 2>/dev/null || break; sleep 0.1; done
  rm -f "$work/dlpgate.pid"
  if grep -q '"category":"credit_card"' "$work/findings.jsonl" && grep -q '"verdict":"reset"' "$work/findings.jsonl"; then
    log "PASS: dlpgate reported the card finding with verdict reset"
  else
    log "FAIL: no credit_card finding with verdict reset in $work/findings.jsonl"
    failed=1
  fi
  if grep -qF "$(echo "$first_card" | tr -d ' ')" "$work/findings.jsonl" "$work/dlpgate.err"; then
    log "FAIL: a card number appears unmasked in dlpgate's output"
    failed=1
  fi
  python3 - "$work/stats.json" <<'EOF' >&2 || true
import json, sys
s = json.load(open(sys.argv[1]))
for w in s["workers"]:
    print("lab: worker %d: %d packets, forwarded %d, dropped by verdict %d, resets %d, latency p50 %d ns p99 %d ns"
          % (w["worker"], w["packets"], w["forwarded"], w["dropped"]["verdict"], w["resets_sent"],
             w["latency_ns"]["p50"], w["latency_ns"]["p99"]))
EOF
  sed -n '/== dlpgate run summary ==/,$p' "$work/dlpgate.err" >&2
  [ "$keep" = 1 ] || down
  return $failed
}

case "$cmd" in
  up) up ;;
  down) down ;;
  test) run_test ;;
  *) echo "usage: $0 test|up|down [--dlpgate PATH] [--dlpctl PATH] [--workers N] [--keep]" >&2; exit 2 ;;
esac
