#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time each (default 60 s), two at
# a time, and prints one summary line per target. Needs the nightly toolchain
# and cargo-fuzz (installed here if missing).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
shift || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
cargo +nightly fuzz build >/dev/null
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
run() {
    local t=$1
    mkdir -p "corpus/$t"
    if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$log/$t" 2>&1; then
        echo "fuzz $t: ok, $(grep -Eo '#[0-9]+' "$log/$t" | tail -1 | tr -d '#') executions in ${secs}s"
    else
        echo "fuzz $t: FAILED"; tail -40 "$log/$t"; return 1
    fi
}
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    pids=()
    for t in "${targets[@]:i:2}"; do run "$t" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit $status
