#!/usr/bin/env bash
# The embedded default, end to end: install what is missing, build, generate a sample
# capture with our own generator, scan it with the built-in detectors and show the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/build.sh"
out="$root/out"
mkdir -p "$out"
"$root/build/tests/gen/dlpgate-gen" sample --out "$out/sample.pcap" \
  --identity "$out/identity.csv" --truth "$out/truth.jsonl"
echo
echo "== dlpgate scan $out/sample.pcap --identity $out/identity.csv --out $out/findings.jsonl"
"$root/build/mgmt/dlpgate" scan "$out/sample.pcap" --identity "$out/identity.csv" \
  --out "$out/findings.jsonl"
echo
echo "== findings (masked), from $out/findings.jsonl"
python3 - "$out/findings.jsonl" <<'PY' 2>/dev/null || cat "$out/findings.jsonl"
import json, sys
for line in open(sys.argv[1]):
    f = json.loads(line)
    print(f"{f['time']}  {f['user']:<8} {f['src_ip']:>22} -> {f.get('http.host', f['dst_ip'])}"
          f"  {f['category']:<15} {f['confidence']:<6} x{f['count']}  {', '.join(f['masked'])}")
PY
