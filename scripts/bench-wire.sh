#!/usr/bin/env bash
# Runs the wire benchmarks (berth against etherparse, same bytes, same run)
# and prints docs/PERFORMANCE.md's table from criterion's estimates: the
# median time per packet and packets per second for each side, and the ratio.
#   scripts/bench-wire.sh [extra criterion args...]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo bench -p berth-core --bench wire -- --warm-up-time 1 --measurement-time 5 "$@" >&2
python3 - "$target/criterion" <<'PY'
import json, os, sys
root = sys.argv[1]
def median(group, side):
    with open(os.path.join(root, group, side, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]
print("| case | berth median | berth Mpackets/s | etherparse median | etherparse Mpackets/s | berth / etherparse time |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for group in ("tcp_ipv4_1500", "tcp_ipv4_64", "checksum_1500"):
    b, e = median(group, "berth"), median(group, "etherparse")
    print(f"| {group} | {b:.1f} ns | {1e3 / b:.2f} | {e:.1f} ns | {1e3 / e:.2f} | {b / e:.2f} |")
PY
