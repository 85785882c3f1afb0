#!/usr/bin/env bash
# How much machine code one request/response exchange runs through, for
# berth's and smoltcp's cores (`berth bench --target core --workloads rr`):
# the 64-byte lines of code holding an instruction that ran at least once per
# exchange, in total and by function (the instruction cache holds 32 KiB on
# this machine), from callgrind's per-instruction counts. Deterministic: the
# same binary gives the same figures, whatever the machine's load.
#   scripts/hot-code.sh [ROUNDS] [TOP]
# Needs valgrind and a release build with the smoltcp feature:
#   cargo build --release -p berth-cli --features smoltcp
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20000}
top=${2:-25}
bin=${CARGO_TARGET_DIR:-target}/release/berth
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for stack in berth smoltcp; do
    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$out/$stack" \
        "$bin" bench --target core --workloads rr --stacks "$stack" --runs 1 \
        --rr-rounds "$rounds" >/dev/null 2>&1
done
python3 - "$out" "$rounds" "$top" <<'PY'
import collections, re, sys

out, rounds, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def number(token, previous):
    """callgrind's position compression: *, +n, -n or an absolute value."""
    if token == "*":
        return previous
    if token[0] == "+":
        return previous + int(token[1:], 0)
    if token[0] == "-":
        return previous - int(token[1:], 0)
    return int(token, 0)


def hot_lines(path):
    """Code lines (address // 64) with an instruction run >= rounds times, by function."""
    names, counts = {}, collections.Counter()
    fn, addr, after_call = None, 0, False
    with open(path) as f:
        for line in f:
            m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
            if m:
                kind, ident, name = m.groups()
                if name:
                    names[ident] = name
                if kind == "fn":
                    fn = names.get(ident)
                continue
            if line.startswith("calls="):
                after_call = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                fields = line.split()
                addr = number(fields[0], addr)
                if after_call:  # a call's inclusive cost, not this instruction's
                    after_call = False
                    continue
                counts[(addr, fn)] += int(fields[2]) if len(fields) > 2 else 0
    by_fn = collections.defaultdict(set)
    for (a, f), c in counts.items():
        if c >= rounds:
            by_fn[f or "?"].add(a // 64)
    return by_fn


for stack in ("berth", "smoltcp"):
    by_fn = hot_lines(f"{out}/{stack}")
    total = set().union(*by_fn.values()) if by_fn else set()
    print(f"{stack}: {len(total) * 64} bytes of code run every exchange ({len(total)} lines)")
    for lines, name in sorted(((len(v), k) for k, v in by_fn.items()), reverse=True)[:top]:
        print(f"  {lines * 64:6d}  {name[:110]}")
PY
