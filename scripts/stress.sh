#!/usr/bin/env bash
# Hostile load against `berth up` and against the Linux kernel, side by side
# (issue #12). Needs root; run from anywhere:
#
#   cargo build --release -p berth-cli
#   sudo scripts/stress.sh                      # every load, about 5 minutes
#   sudo scripts/stress.sh --only idle          # one load (or a comma list)
#   sudo scripts/stress.sh --duration 20 --servers berth
#   sudo scripts/stress.sh --only malformed,shorthttp,slowreader,sigint
#
# The loads, each against a fresh server, bounded in time (malformed and
# sigint against berth only: a Linux baseline means nothing there):
#   slowloris  200 connections trickling a partial HTTP request head (one more
#              byte a second); 2 s later 8 curls of / at once. Reports how
#              many of the 8 succeeded and their times.
#   synflood   a curl loop against / (one curl after the other, --max-time 5)
#              for min(5, D) s with no flood, then D s under
#              `hping3 -S --flood --rand-source -p 80`, then D s under the
#              same flood from one fixed source (the client's own address).
#              Reports completed requests, p50/p99 latency of those, the
#              SYNs hping3 sent, the frames the kernel dropped at the link
#              into the server (for berth: the TUN device's queue), berth's
#              stack thread CPU and how long it waited for a CPU
#              (schedstat), and the kernel's SYN-cookie and listen-queue
#              counters (nstat in the server namespace).
#   idle       --idle-conns (19,900: the fd limit here is 20,000 per
#              process) connections to echo/7, at most 1,000 connecting at
#              once, held idle; then an echo probe on 200 random ones.
#              Reports how many were established, probes answered, the
#              server process's VmRSS before and while held (bytes per
#              connection), and the kernel's slab growth.
#   malformed  --malformed-frames (1,000,000) malformed frames sent into the
#              link from the client side with a packet socket, for at most
#              60 s: random bytes, truncated and inconsistent IPv4/IPv6
#              headers, bad header and TCP/UDP/ICMP checksums, impossible
#              TCP flags and options, bad lengths, bogus fragments and
#              extension headers, martian sources, other hosts'
#              destinations (16,384 distinct frames, cycled). Paced to
#              what the link's queue takes (the pause doubles while it
#              drops), the last 300 at once (as when a flood stops: more
#              than berth reads in one turn wait in the queue, and must be
#              read without more traffic coming). Reports the frames sent
#              and dropped at the link, whether berth is alive and how fast
#              curls of / answer afterwards (and what berth read meanwhile),
#              how many of 300 frames queued while berth was stopped
#              (SIGSTOP) it reads within 1 s of SIGCONT (all, if it reads
#              a queue to the end without waiting for more traffic),
#              its RSS before, after and at peak, and how its counters
#              (StackStats) classified the frames.
#   shorthttp  --short-conns (100,000) HTTP requests for /, each on a new
#              connection (`Connection: close`: the server closes first,
#              so it holds the TIME-WAITs), at most 64 at once, for at most
#              90 s. Reports connections/s, latency, failures, the server's
#              RSS, and its TIME-WAIT count right after and then until
#              --drain (65) seconds later (TIME-WAIT lasts 60 s on both);
#              then (with --drain 60 or more) the same number again, to
#              see whether the server's RSS grows a second time.
#   slowreader --slow-readers (20) downloads of /bytes/1073741824 each read
#              at 1 KiB/s (4 KiB receive buffer) for 2 x --duration
#              seconds. Reports the server's RSS and its connections'
#              Send-Q every second (bounded: no growth in the second half).
#   sigint     --downloads (50) curls of /bytes/10000000000 at once; when
#              berth holds them all, SIGINT. Reports how long berth took
#              to exit, its exit status, whether the namespace was
#              removed, how the curls ended, and how long a new `berth up`
#              with the same names takes to print its line and to answer
#              a curl.
#
# Servers:
#   berth  `berth up --netns NS --tun DEV` (services on the stack thread);
#          the clients run in its namespace, on the kernel side of the TUN
#          device. It is stopped with SIGINT after each load and must exit 0.
#   linux  Python servers (stress/stress.py: ThreadingHTTPServer on 80, for
#          shorthttp a single-threaded epoll HTTP server on 80 instead, an
#          epoll echo on 7; listen backlog 128 like berth's) in a server
#          namespace, reached from a client namespace over a veth pair.
#
# Addresses: 198.18.(20+k).0/24 for berth's link, 198.18.(120+k).0/24 for the
# veth pair (k = 1..7, the loads in the order above), 2001:2:0:(20+k)::/64
# for berth's IPv6; nothing outside namespaces this script creates. The
# malformed frames' sources and destinations are in 198.18.0.0/15 and
# 2001:2::/48 (or martians: loopback, multicast, berth's own address);
# they cross only berth's TUN device, and what berth answers to them goes
# back into its namespace, which forwards nothing. hping3 runs only in
# the client namespace: its spoofed random sources, and the SYN-ACKs sent
# back to them, cross only the TUN device or the veth pair, into namespaces
# that have no other link and do not forward (ip_forward=0); the server
# namespace's default route points back into that veth pair, so the kernel,
# like berth, answers every SYN.
#
# Output: progress on stderr; on stdout one JSON line per result (fields
# "load", "phase", "server" and the figures), then a markdown table. Logs
# and results.jsonl go to --out (default: a new /tmp/berth-stress.XXXXXX).
# Every namespace, device and process the script starts is removed when it
# ends, on failure or Ctrl-C too. berth's own counters: every StackStats
# counter (`berth ss --stats --all --json` through its control socket)
# before it is stopped, in each exit row ("stats"), and for the malformed
# load their growth during the load; the frames of each run (its exit
# line).
#
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --only LOADS        comma-separated: slowloris,synflood,idle,malformed,
                      shorthttp,slowreader,sigint (default: all)
  --servers LIST      comma-separated: berth,linux (default: both)
  --duration SECS     slowloris duration and each flood phase; the slow
                      readers read for twice this (default 10)
  --idle-conns N      connections of the idle load (default 19900)
  --malformed-frames N  frames of the malformed load (default 1000000)
  --short-conns N     connections of the shorthttp load (default 100000)
  --drain SECS        how long shorthttp watches the TIME-WAITs drain
                      after the run (default 65; 0: only right after)
  --slow-readers N    readers of the slowreader load (default 20)
  --downloads N       downloads running at the SIGINT (default 50)
  --berth PATH        the berth binary (default: $CARGO_TARGET_DIR or
                      target/, release/berth)
  --berth-arg ARG     one more argument for `berth up` (repeatable), e.g.
                      --berth-arg=--no-offload
  --out DIR           where logs and results.jsonl go
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=/usr/bin/python3
helper=$here/stress/stress.py
berth=${CARGO_TARGET_DIR:-$root/target}/release/berth
all_loads=slowloris,synflood,idle,malformed,shorthttp,slowreader,sigint
only=$all_loads
servers=berth,linux
duration=10
idle_conns=19900
malformed_frames=1000000
short_conns=100000
drain=65
slow_readers=20
downloads=50
out=""
berth_args=()

while (($#)); do
    case $1 in
        --only) only=$2; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --servers) servers=$2; shift 2 ;;
        --servers=*) servers=${1#*=}; shift ;;
        --duration) duration=$2; shift 2 ;;
        --duration=*) duration=${1#*=}; shift ;;
        --idle-conns) idle_conns=$2; shift 2 ;;
        --idle-conns=*) idle_conns=${1#*=}; shift ;;
        --malformed-frames) malformed_frames=$2; shift 2 ;;
        --malformed-frames=*) malformed_frames=${1#*=}; shift ;;
        --short-conns) short_conns=$2; shift 2 ;;
        --short-conns=*) short_conns=${1#*=}; shift ;;
        --drain) drain=$2; shift 2 ;;
        --drain=*) drain=${1#*=}; shift ;;
        --slow-readers) slow_readers=$2; shift 2 ;;
        --slow-readers=*) slow_readers=${1#*=}; shift ;;
        --downloads) downloads=$2; shift 2 ;;
        --downloads=*) downloads=${1#*=}; shift ;;
        --berth) berth=$2; shift 2 ;;
        --berth=*) berth=${1#*=}; shift ;;
        --berth-arg) berth_args+=("$2"); shift 2 ;;
        --berth-arg=*) berth_args+=("${1#*=}"); shift ;;
        --out) out=$2; shift 2 ;;
        --out=*) out=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "stress.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "stress.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }

if ! [[ $duration =~ ^[0-9]+$ ]] || ((duration < 2 || duration > 120)); then
    die "--duration must be 2..120 seconds"
fi
if ! [[ $idle_conns =~ ^[0-9]+$ ]] || ((idle_conns < 1 || idle_conns > 19980)); then
    die "--idle-conns must be 1..19980"
fi
# Every load is bounded: these bounds keep it so.
range_ok() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then die "$1 must be $3..$4"; fi
}
range_ok --malformed-frames "$malformed_frames" 1 10000000
range_ok --short-conns "$short_conns" 1 1000000
range_ok --drain "$drain" 0 300
range_ok --slow-readers "$slow_readers" 1 1000
range_ok --downloads "$downloads" 1 1000
for l in ${only//,/ }; do
    [[ ,$all_loads, == *,$l,* ]] || die "unknown load $l"
done
for s in ${servers//,/ }; do
    case $s in berth | linux) ;; *) die "unknown server $s" ;; esac
done
(($(id -u) == 0)) || die "needs root (network namespaces, TUN, hping3)"
for t in ip nstat hping3 curl timeout; do
    command -v "$t" >/dev/null || die "$t is missing (apt-get install iproute2 hping3 curl)"
done
[[ -x $py ]] || die "$py is missing"
if [[ ,$servers, == *,berth,* ]]; then
    [[ -x $berth ]] || die "no berth binary at $berth (cargo build --release -p berth-cli, or --berth PATH)"
fi

if [[ -z $out ]]; then
    out=$(mktemp -d /tmp/berth-stress.XXXXXX)
else
    mkdir -p "$out"
fi
results=$out/results.jsonl
: >"$results"
tag=bst$$
hz=$(getconf CLK_TCK)

# ------------------------------------------------------------ cleanup

pids=()    # every process started here (killed at exit)
netns=()   # every namespace created here (removed at exit)
berth_pid=""  # the `timeout ... berth up` running, if any
stopped_pid=""  # a berth stopped with SIGSTOP (malformed), to continue

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p ns i
    [[ -n $stopped_pid ]] && kill -CONT "$stopped_pid" 2>/dev/null
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    if [[ -n $berth_pid ]] && kill -0 "$berth_pid" 2>/dev/null; then
        kill -INT "$berth_pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$berth_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$berth_pid" 2>/dev/null || true
    fi
    for ns in "${netns[@]}"; do
        if [[ -e /run/netns/$ns ]]; then
            # Only processes this script started live there.
            for p in $(ip netns pids "$ns" 2>/dev/null); do
                kill -KILL "$p" 2>/dev/null || true
            done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ helpers

# Run a command in a namespace in the background, bounded by LIMIT seconds:
#   bg_ns OUTFILE NS LIMIT CMD...   (sets $bg_pid)
bg_ns() {
    local outf=$1 ns=$2 limit=$3
    shift 3
    timeout -k 3 "$limit" ip netns exec "$ns" "$@" >"$outf" 2>"$outf.err" &
    bg_pid=$!
    pids+=("$bg_pid")
}

# Wait (at most SECS) until FILE has a line matching PATTERN while PID lives,
# looking every STEP seconds (default 0.1).
wait_line() {
    local file=$1 pattern=$2 pid=$3 secs=$4 step=${5:-0.1}
    local end=$((SECONDS + secs))
    until grep -q -- "$pattern" "$file" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || return 1
        ((SECONDS < end)) || return 1
        sleep "$step"
    done
}

# Seconds between two $EPOCHREALTIME values, to the millisecond.
secs_between() {
    "$py" -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))' "$1" "$2"
}

# VmRSS of a process, KiB (null when it is gone).
rss_of() {
    awk '/^VmRSS:/{print $2; f=1} END{if (!f) print "null"}' "/proc/$1/status" 2>/dev/null || echo null
}

# Wait for a background process; its exit status in $reaped, never fatal.
reap() {
    reaped=0
    wait "$1" || reaped=$?
}

# The last line of a file that is a JSON object, or {"error": ...}.
json_of() {
    local line
    line=$(grep '^{' "$1" 2>/dev/null | tail -n 1 || true)
    if [[ -n $line ]]; then
        echo "$line"
    else
        local why
        why=$(tail -n 3 "$1.err" "$1" 2>/dev/null | tr -d '"' | tr -d "\\\\" | tr '\n' ' ' | cut -c1-200)
        echo "{\"error\": \"no result: ${why}\"}"
    fi
}

# Print and record one result: emit JSON EXTRA_JSON (merged).
emit() {
    local line
    line=$("$py" -c 'import json, sys
d = json.loads(sys.argv[1]); d.update(json.loads(sys.argv[2]))
d.update(json.loads(sys.argv[1]))
print(json.dumps(d))' "$1" "$2")
    echo "$line" | tee -a "$results"
}

# utime + stime of a process (or a thread: /proc/PID/task/TID), in ticks.
cpu_ticks() {
    local fields
    read -r -a fields <"$1/stat" 2>/dev/null || { echo 0; return; }
    echo $((fields[13] + fields[14]))
}

# Nanoseconds a task ran and waited runnable for a CPU: "run wait".
sched_ns() {
    local run wait rest
    read -r run wait rest <"$1/schedstat" 2>/dev/null || { echo "0 0"; return; }
    echo "$run $wait"
}

# The task directory of berth's stack thread.
stack_thread() {
    local t
    for t in /proc/"$1"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == berth-stack ]] && { echo "$t"; return; }
    done
    echo /proc/"$1"
}

# Machine-wide softirq and idle jiffies, all CPUs: "softirq idle total".
cpu_machine() {
    awk '/^cpu /{t=0; for (i=2;i<=NF;i++) t+=$i; print $8, $5, t}' /proc/stat
}

# Frames dropped by the kernel's softnet backlogs, all CPUs (hex column 2).
softnet_drops() {
    local sum=0 d
    while read -r _ d _; do sum=$((sum + 16#$d)); done </proc/net/softnet_stat
    echo "$sum"
}

# A link's counter in a namespace: link_stat NS DEV tx|rx packets|dropped
link_stat() {
    ip netns exec "$1" ip -s -j link show dev "$2" |
        "$py" -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"][sys.argv[1]][sys.argv[2]])' "$3" "$4"
}

# TCP counters of a namespace's kernel, as JSON.
nstat_json() {
    ip netns exec "$1" nstat -asz --json 2>/dev/null |
        "$py" -c 'import json, sys
d = json.load(sys.stdin)
d = d.get("kernel", d)
keys = ["TcpPassiveOpens", "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv",
        "TcpExtSyncookiesFailed", "TcpExtListenOverflows", "TcpExtListenDrops",
        "TcpExtTCPReqQFullDoCookies", "TcpExtTCPReqQFullDrop", "TcpExtTCPBacklogDrop",
        "TcpExtTW", "TcpExtTWRecycled", "TcpExtTCPTimeWaitOverflow"]
print(json.dumps({k: int(d.get(k, 0)) for k in keys}))'
}

# A result with the differences of two nstat_json snapshots added (if any).
merge_nstat() {
    "$py" -c 'import json, sys
d, b, a = (json.loads(x) for x in sys.argv[1:4])
if b and a:
    d["nstat"] = {k: a[k] - b[k] for k in a}
print(json.dumps(d))' "$1" "$2" "$3"
}

# Socket states of the server, as JSON: berth through its control socket,
# the kernel with ss in the server namespace.
server_states() {
    if [[ $server == berth ]]; then
        timeout 10 "$berth" ss --control "$sock" --json 2>/dev/null || true
    else
        ip netns exec "$sns" ss -Htan 2>/dev/null || true
    fi | "$py" "$helper" states
}

# Every StackStats counter of the berth running now, as one JSON object
# (null if it does not answer).
berth_stats() {
    local j
    j=$(timeout 10 "$berth" ss --control "$sock" --stats --all --json 2>/dev/null || true)
    [[ $j == '{'* ]] && echo "$j" || echo null
}

# The counters that grew between two berth_stats objects.
stats_delta() {
    "$py" -c 'import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({k: v - (b or {}).get(k, 0) for k, v in (a or {}).items()
                  if v != (b or {}).get(k, 0)} if a else None))' "$1" "$2"
}

# A shell command line printing the Send-Q of the server's connections on
# port 80 (stress.py sendq), run by the slow readers every second.
server_sendq_cmd() {
    if [[ $server == berth ]]; then
        printf 'timeout 10 %q ss --control %q --json -t | %q %q sendq 80' "$berth" "$sock" "$py" "$helper"
    else
        printf 'ip netns exec %q ss -Htn | %q %q sendq 80' "$sns" "$py" "$helper"
    fi
}

# The same as a shell command line (run by the idle client while it holds).
server_states_cmd() {
    if [[ $server == berth ]]; then
        printf 'timeout 10 %q ss --control %q --json | %q %q states' "$berth" "$sock" "$py" "$helper"
    else
        printf 'ip netns exec %q ss -Htan | %q %q states' "$sns" "$py" "$helper"
    fi
}

# ------------------------------------------------------------ servers
# Each sets: server (berth|linux), cns (client namespace), sip (server
# address), spid (the server process, for RSS and CPU), link (the client
# side of the link), and for berth sock; for linux sns and slink.

# berth_start K [STEP]: STEP is how often to look for its line (seconds);
# sets up_secs, the time from its start to that line.
berth_start() {
    local k=$1 step=${2:-0.1}
    local net=198.18.$((20 + k)) ns=$tag-b$k
    server=berth cns=$ns sip=$net.2 link=${tag}b$k sock=$out/$ns.sock
    cip=$net.1 sip6=2001:2:0:$((20 + k))::2 cip6=2001:2:0:$((20 + k))::1
    netns+=("$ns")
    local t0=$EPOCHREALTIME
    # berth up ends by itself after 10 minutes at the latest.
    timeout -s INT -k 10 600 "$berth" up --netns "$ns" --tun "$link" \
        --addr "$sip/24" --peer-addr "$cip" \
        --addr6 "$sip6/64" --peer-addr6 "$cip6" \
        --control "$sock" ${berth_args[@]+"${berth_args[@]}"} \
        >"$out/$ns.out" 2>>"$out/$ns.err" &
    berth_pid=$!
    wait_line "$out/$ns.out" '^berth up:' "$berth_pid" 20 "$step" ||
        die "berth up did not come up: $(tail -n 5 "$out/$ns.err")"
    up_secs=$(secs_between "$t0" "$EPOCHREALTIME")
    spid=$(pgrep -P "$berth_pid" -x berth | head -n 1)
    [[ -n $spid ]] || die "no berth process under $berth_pid"
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0 \
        net.ipv4.ip_local_port_range="10000 65000"
    log "berth up: $sip on $link (netns $ns, pid $spid)"
}

# Stop berth with SIGINT; record its exit status and frame counts.
berth_stop() {
    local load=$1 rc i ns=$cns
    # Every counter of the stack (StackStats) before it stops.
    local stats
    stats=$(berth_stats)
    kill -INT "$berth_pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$berth_pid" 2>/dev/null || break
        sleep 0.1
    done
    local secs=$((i / 10))
    reap "$berth_pid"
    rc=$reaped
    berth_pid=""
    local gone=true
    [[ -e /run/netns/$ns ]] && gone=false
    local done_line
    done_line=$(grep 'berth up: done' "$out/$ns.err" | tail -n 1 || true)
    local fin=null fout=null
    if [[ $done_line =~ \(([0-9]+)\ frames\ in,\ ([0-9]+)\ out ]]; then
        fin=${BASH_REMATCH[1]} fout=${BASH_REMATCH[2]}
    fi
    emit "{\"load\": \"$load\", \"phase\": \"exit\", \"server\": \"berth\"}" \
        "{\"exit_code\": $rc, \"exit_within_secs\": $secs, \"netns_removed\": $gone, \"frames_in\": $fin, \"frames_out\": $fout, \"stats\": ${stats:-null}}"
    [[ $rc == 0 ]] || log "berth up exited $rc: $(tail -n 5 "$out/$ns.err")"
}

linux_start() {
    local k=$1
    local net=198.18.$((120 + k))
    server=linux cns=$tag-c$k sns=$tag-s$k sip=$net.2 link=${tag}c$k slink=${tag}s$k
    ip netns add "$cns"
    netns+=("$cns")
    ip netns add "$sns"
    netns+=("$sns")
    ip link add "$link" netns "$cns" type veth peer name "$slink" netns "$sns"
    ip -n "$cns" link set lo up
    ip -n "$sns" link set lo up
    ip -n "$cns" addr add "$net.1/24" dev "$link"
    ip -n "$sns" addr add "$net.2/24" dev "$slink"
    ip -n "$cns" link set "$link" up
    ip -n "$sns" link set "$slink" up
    # SYN-ACKs to spoofed sources go back into the veth pair (as berth's
    # go into its TUN device), where the client namespace drops them.
    ip -n "$sns" route add default via "$net.1"
    ip netns exec "$cns" sysctl -qw net.ipv4.ip_forward=0 \
        net.ipv4.ip_local_port_range="10000 65000"
    ip netns exec "$sns" sysctl -qw net.ipv4.ip_forward=0
    local what=$2
    bg_ns "$out/$sns.$what" "$sns" 600 "$py" "$helper" "$what-server" "$sip" \
        "$([[ $what == echo ]] && echo 7 || echo 80)"
    wait_line "$out/$sns.$what" '^ready' "$bg_pid" 10 || die "$what server did not start"
    spid=$(awk '/^ready/{print $2}' "$out/$sns.$what")
    log "linux: $sip over veth (netns $cns -> $sns, $what server pid $spid)"
}

linux_stop() {
    kill -TERM "$spid" 2>/dev/null || true
    sleep 0.2
    local ns p
    for ns in "$cns" "$sns"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}

start() { # start SERVER K SERVICE
    if [[ $1 == berth ]]; then berth_start "$2"; else linux_start "$2" "$3"; fi
}
stop() { # stop SERVER LOAD
    if [[ $1 == berth ]]; then berth_stop "$2"; else linux_stop; fi
}

# ------------------------------------------------------------ loads

load_slowloris() {
    local f=$out/slowloris.$server
    log "slowloris against $server: 200 slow heads for ${duration} s, 8 curls after 2 s"
    bg_ns "$f" "$cns" $((duration + 40)) "$py" "$helper" slowloris "$sip" 80 \
        --conns 200 --duration "$duration" --curls 8 --curl-delay 2 --curl-max-time 10
    reap "$bg_pid"
    emit "{\"load\": \"slowloris\", \"phase\": \"\", \"server\": \"$server\"}" "$(json_of "$f")"
}

flood_phase() { # flood_phase PHASE SECS [hping3 source option]
    local phase=$1 secs=$2 src=${3:-}
    local f=$out/synflood.$server.$phase
    local dev_before soft_before cpu_before st_before m_before ns_before=null
    dev_before=$(link_stat "$cns" "$link" tx dropped)
    local pk_before pk_after
    pk_before=$(link_stat "$cns" "$link" tx packets)
    [[ $server == linux ]] && ns_before=$(nstat_json "$sns")
    soft_before=$(softnet_drops)
    cpu_before=$(cpu_ticks "/proc/$spid")
    st_before=$(cpu_ticks "$(stack_thread "$spid")")
    local sched_before sched_after
    sched_before=$(sched_ns "$(stack_thread "$spid")")
    read -r -a m_before < <(cpu_machine)
    local t0=$EPOCHREALTIME
    log "synflood ($phase) against $server: curl loop for ${secs} s${src:+, hping3 $src}"
    bg_ns "$f" "$cns" $((secs + 15)) "$py" "$helper" curlloop "http://$sip/" \
        --duration "$secs" --max-time 5
    local curl_pid=$bg_pid hping_pid=""
    if [[ $phase != calm ]]; then
        # shellcheck disable=SC2086 # $src is one option or none
        timeout -s INT -k 3 "$secs" ip netns exec "$cns" \
            hping3 -S --flood $src -p 80 -I "$link" "$sip" >"$f.hping3" 2>&1 &
        hping_pid=$!
        pids+=("$hping_pid")
    fi
    sleep $((secs > 2 ? secs - 1 : 1))
    local states
    states=$(server_states)
    [[ -n $states ]] || states='{}'
    if [[ -n $hping_pid ]]; then reap "$hping_pid"; else reap "$curl_pid"; fi
    local elapsed="$t0 $EPOCHREALTIME"
    local cpu_after st_after m_after dev_after ns_after=null soft_after
    cpu_after=$(cpu_ticks "/proc/$spid")
    st_after=$(cpu_ticks "$(stack_thread "$spid")")
    sched_after=$(sched_ns "$(stack_thread "$spid")")
    read -r -a m_after < <(cpu_machine)
    dev_after=$(link_stat "$cns" "$link" tx dropped)
    pk_after=$(link_stat "$cns" "$link" tx packets)
    soft_after=$(softnet_drops)
    [[ $server == linux ]] && ns_after=$(nstat_json "$sns")
    reap "$curl_pid"
    local sent=null
    if [[ -n $hping_pid ]]; then
        sent=$(grep -oE '^[0-9]+ packets transmitted' "$f.hping3" | grep -oE '^[0-9]+' || echo null)
    fi
    local extra
    extra=$("$py" -c 'import json, sys
a = sys.argv
hz, secs = int(a[1]), int(a[2])
t0, t1 = (float(x) for x in a[3].split())
elapsed = max(t1 - t0, 0.001)
cpu = (int(a[5]) - int(a[4])) / hz / elapsed * 100
st = (int(a[7]) - int(a[6])) / hz / elapsed * 100
mb, ma = [int(x) for x in a[8].split()], [int(x) for x in a[9].split()]
tot = max(ma[2] - mb[2], 1)
d = {"duration_secs": secs, "flood_packets": json.loads(a[10]),
     "link_tx_dropped": int(a[12]) - int(a[11]),
     "link_tx_packets": int(a[22]) - int(a[21]),
     "softnet_dropped": int(a[14]) - int(a[13]),
     "server_cpu_pct": round(cpu, 1),
     "machine_softirq_pct": round((ma[0] - mb[0]) / tot * 100, 1),
     "machine_idle_pct": round((ma[1] - mb[1]) / tot * 100, 1),
     "server_states_near_end": json.loads(a[17])}
if a[18] == "berth":
    d["stack_thread_cpu_pct"] = round(st, 1)
    sb, sa = [int(x) for x in a[19].split()], [int(x) for x in a[20].split()]
    # Time the stack thread was runnable but waited for a CPU (schedstat).
    d["stack_thread_runq_wait_pct"] = round((sa[1] - sb[1]) / 1e9 / elapsed * 100, 1)
    # Frames the TUN device handed berth per second of its stack thread.
    run = (sa[0] - sb[0]) / 1e9
    d["frames_per_stack_cpu_sec"] = round(d["link_tx_packets"] / run) if run > 0 else None
nb, na = json.loads(a[15]), json.loads(a[16])
if nb and na:
    d["nstat"] = {k: na[k] - nb[k] for k in na}
d["measured_secs"] = round(elapsed, 2)
print(json.dumps(d))' "$hz" "$secs" "$elapsed" "$cpu_before" "$cpu_after" \
        "$st_before" "$st_after" "${m_before[*]}" "${m_after[*]}" "$sent" \
        "$dev_before" "$dev_after" "$soft_before" "$soft_after" \
        "$ns_before" "$ns_after" "$states" "$server" "$sched_before" "$sched_after" "$pk_before" "$pk_after")
    emit "{\"load\": \"synflood\", \"phase\": \"$phase\", \"server\": \"$server\"}" \
        "$("$py" -c 'import json, sys; d = json.loads(sys.argv[1]); d.update(json.loads(sys.argv[2])); print(json.dumps(d))' \
            "$(json_of "$f")" "$extra")"
}

load_synflood() {
    flood_phase calm $((duration < 5 ? duration : 5))
    sleep 1
    flood_phase rand-source "$duration" --rand-source
    sleep 2
    flood_phase fixed-source "$duration"
}

load_idle() {
    local f=$out/idle.$server
    log "idle against $server: $idle_conns connections to echo/7, 200 probes"
    local ns_before=null ns_after=null
    [[ $server == linux ]] && ns_before=$(nstat_json "$sns")
    bg_ns "$f" "$cns" 120 "$py" "$helper" idle "$sip" 7 --conns "$idle_conns" \
        --window 1000 --deadline 40 --connect-timeout 8 --hold 3 --probes 200 \
        --probe-timeout 5 --after 3 --watch-pid "$spid" --link "$link" --held-cmd "$(server_states_cmd)"
    reap "$bg_pid"
    [[ $server == linux ]] && ns_after=$(nstat_json "$sns")
    emit "{\"load\": \"idle\", \"phase\": \"\", \"server\": \"$server\"}" \
        "$(merge_nstat "$(json_of "$f")" "$ns_before" "$ns_after")"
}

# One curl of / from the client namespace: its time in ms, or null.
curl_ms() {
    local o
    o=$(ip netns exec "$cns" curl -sS -o /dev/null --max-time 5 \
        -w '%{http_code} %{time_total}' "http://$sip/" 2>/dev/null || true)
    if [[ $o == "200 "* ]]; then
        "$py" -c 'import sys; print(round(float(sys.argv[1]) * 1e3, 1))' "${o#200 }"
    else
        echo null
    fi
}

load_malformed() {
    local f=$out/malformed.$server
    local before after rss0
    local curl_before
    curl_before=$(curl_ms)
    before=$(berth_stats)
    rss0=$(rss_of "$spid")
    log "malformed against $server: $malformed_frames frames into $link, 60 s at most"
    bg_ns "$f" "$cns" 90 "$py" "$helper" malformed "$link" --frames "$malformed_frames" \
        --duration 60 --src4 "$cip" --dst4 "$sip" --src6 "$cip6" --dst6 "$sip6" \
        --watch-pid "$spid"
    reap "$bg_pid"
    after=$(berth_stats)
    # Still there, and still serving?
    local alive=false curls_after=() i
    kill -0 "$spid" 2>/dev/null && alive=true
    # The first curl after: the frames berth reads meanwhile are ones the
    # load left in the link's queue (less the curl's own, 6 or so).
    curls_after+=("$(curl_ms)")
    local during
    during=$(stats_delta "$after" "$(berth_stats)")
    for i in 2 3; do curls_after+=("$(curl_ms)"); done
    # The same, made certain: 300 frames queued while berth is stopped
    # (SIGSTOP), then SIGCONT; berth should read them all at once, with
    # no more traffic coming.
    local b0 burst=null read_burst=null
    b0=$(berth_stats)
    kill -STOP "$spid"
    stopped_pid=$spid
    timeout -k 3 20 ip netns exec "$cns" "$py" "$helper" malformed "$link" --frames 300 \
        --burst 300 --tail 300 --duration 10 --seed 7 --src4 "$cip" --dst4 "$sip" \
        --src6 "$cip6" --dst6 "$sip6" >"$f.burst" 2>"$f.burst.err" || true
    kill -CONT "$spid"
    stopped_pid=""
    sleep 1
    burst=$(json_of "$f.burst" | "$py" -c 'import json, sys; print(json.load(sys.stdin).get("delivered"))')
    read_burst=$(stats_delta "$b0" "$(berth_stats)" | "$py" -c 'import json, sys; print((json.load(sys.stdin) or {}).get("frames_in", 0))')
    local extra
    extra=$("$py" -c 'import json, sys
after = [json.loads(x) for x in sys.argv[8:]]
during = json.loads(sys.argv[5]) or {}
print(json.dumps({"alive_after": sys.argv[1] == "true",
                  "frames_in_during_first_curl_after": during.get("frames_in"),
                  "burst_queued_while_stopped": json.loads(sys.argv[6]),
                  "burst_read_within_1s": json.loads(sys.argv[7]),
                  "curl_before_ms": json.loads(sys.argv[4]),
                  "curl_after_ok": all(t is not None for t in after),
                  "curl_after_ms": after,
                  "rss_at_start_kib": json.loads(sys.argv[2]),
                  "stats_delta": json.loads(sys.argv[3])}))' \
        "$alive" "$rss0" "$(stats_delta "$before" "$after")" "$curl_before" "$during" \
        "$burst" "$read_burst" "${curls_after[@]}")
    emit "{\"load\": \"malformed\", \"phase\": \"\", \"server\": \"$server\"}" \
        "$("$py" -c 'import json, sys; d = json.loads(sys.argv[1]); d.update(json.loads(sys.argv[2])); print(json.dumps(d))' \
            "$(json_of "$f")" "$extra")"
}

# How many server sockets are in TIME-WAIT now (from server_states).
time_wait_now() {
    server_states | "$py" -c 'import json, sys; print(json.load(sys.stdin).get("TIME-WAIT", 0))'
}

load_shorthttp() {
    local f=$out/shorthttp.$server
    local ns_before=null ns_after=null
    [[ $server == linux ]] && ns_before=$(nstat_json "$sns")
    local cpu0 cpu1 t_run=$EPOCHREALTIME
    cpu0=$(cpu_ticks "/proc/$spid")
    log "shorthttp against $server: $short_conns connections to /, 64 at once, 90 s at most"
    bg_ns "$f" "$cns" 120 "$py" "$helper" shorthttp "$sip" 80 --conns "$short_conns" \
        --window 64 --deadline 90 --timeout 10 --watch-pid "$spid"
    reap "$bg_pid"
    cpu1=$(cpu_ticks "/proc/$spid")
    local cpu_pct
    cpu_pct=$("$py" -c 'import sys
a = sys.argv
print(round((int(a[2]) - int(a[1])) / int(a[3]) / max(float(a[4]), 1e-3) * 100, 1))' \
        "$cpu0" "$cpu1" "$hz" "$(secs_between "$t_run" "$EPOCHREALTIME")")
    [[ $server == linux ]] && ns_after=$(nstat_json "$sns")
    # TIME-WAIT right after, then until --drain seconds later (it lasts
    # 60 s): [seconds after the run, TIME-WAIT count, server RSS KiB].
    local t0=$SECONDS tw=() at
    for at in 0 15 30 45 60 "$drain"; do
        ((at <= drain)) || continue
        while ((SECONDS - t0 < at)); do sleep 0.5; done
        tw+=("[$((SECONDS - t0)), $(time_wait_now), $(rss_of "$spid")]")
        log "shorthttp: $((SECONDS - t0)) s after the run: ${tw[-1]}"
        ((drain > 0)) || break
    done
    local tws
    tws=$(IFS=,; echo "[${tw[*]}]")
    # Once they have drained, the same again: does the memory of the first
    # round serve the second (RSS flat), or does it grow again?
    local round2=null
    if ((drain >= 60)); then
        log "shorthttp against $server: round 2, $short_conns connections more"
        bg_ns "$f.2" "$cns" 120 "$py" "$helper" shorthttp "$sip" 80 --conns "$short_conns" \
            --window 64 --deadline 90 --timeout 10 --watch-pid "$spid"
        reap "$bg_pid"
        round2=$(json_of "$f.2" | "$py" -c 'import json, sys
d = json.load(sys.stdin)
print(json.dumps({k: d.get(k) for k in ("completed", "secs", "conns_per_sec", "p99_ms",
                                        "failures", "rss_after_kib", "error")}))')
    fi
    local tw_max=null
    [[ $server == linux ]] && tw_max=$(ip netns exec "$sns" sysctl -n net.ipv4.tcp_max_tw_buckets)
    emit "{\"load\": \"shorthttp\", \"phase\": \"\", \"server\": \"$server\"}" \
        "$("$py" -c 'import json, sys
d = json.loads(sys.argv[1])
d["time_wait_after"] = json.loads(sys.argv[2])
d["tcp_max_tw_buckets"] = json.loads(sys.argv[3])
d["server_cpu_pct"] = float(sys.argv[4])
d["round2"] = json.loads(sys.argv[5])
print(json.dumps(d))' "$(merge_nstat "$(json_of "$f")" "$ns_before" "$ns_after")" "$tws" "$tw_max" \
        "$cpu_pct" "$round2")"
}

load_slowreader() {
    local f=$out/slowreader.$server secs=$((2 * duration))
    log "slowreader against $server: $slow_readers downloads read at 1 KiB/s for $secs s"
    bg_ns "$f" "$cns" $((secs + 60)) "$py" "$helper" slowreader "$sip" 80 \
        --readers "$slow_readers" --rate 1024 --rcvbuf 4096 --duration "$secs" \
        --watch-pid "$spid" --sendq-cmd "$(server_sendq_cmd)"
    reap "$bg_pid"
    emit "{\"load\": \"slowreader\", \"phase\": \"\", \"server\": \"$server\"}" "$(json_of "$f")"
}

# SIGINT under downloads, then the same names again (berth only).
load_sigint() {
    local k=$1 f=$out/sigint.downloads
    log "sigint: $downloads downloads of /bytes/10000000000, then SIGINT"
    bg_ns "$f" "$cns" 90 "$py" "$helper" downloads "http://$sip/bytes/10000000000" \
        --n "$downloads" --max-time 60
    local dl_pid=$bg_pid
    # Until berth holds them all (10 s at most), then 1 s at full speed.
    local end=$((SECONDS + 10)) est=0
    while ((SECONDS < end)); do
        est=$(server_states | "$py" -c 'import json, sys; print(json.load(sys.stdin).get("ESTABLISHED", 0))')
        ((est >= downloads)) && break
        sleep 0.2
    done
    sleep 1
    local stats rss ns=$cns
    stats=$(berth_stats)
    rss=$(rss_of "$spid")
    local t0=$EPOCHREALTIME i
    kill -INT "$berth_pid" 2>/dev/null || true
    for ((i = 0; i < 1500; i++)); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.01
    done
    local t1=$EPOCHREALTIME
    reap "$berth_pid"
    local rc=$reaped
    berth_pid=""
    local gone=true
    [[ -e /run/netns/$ns ]] && gone=false
    # The curls now talk into a link that is gone: stop them.
    kill -TERM "$dl_pid" 2>/dev/null || true
    reap "$dl_pid"
    mv "$out/$ns.out" "$out/$ns.out.1"
    # The same names again.
    berth_start "$k" 0.01
    local t2=$EPOCHREALTIME first=null code
    for ((i = 0; i < 100; i++)); do
        code=$(ip netns exec "$cns" curl -s -o /dev/null --max-time 1 -w '%{http_code}' \
            "http://$sip/" 2>/dev/null || true)
        if [[ $code == 200 ]]; then
            first=$(secs_between "$t2" "$EPOCHREALTIME")
            break
        fi
        sleep 0.01
    done
    emit "{\"load\": \"sigint\", \"phase\": \"\", \"server\": \"berth\"}" \
        "$("$py" -c 'import json, sys
a = sys.argv
d = {"downloads": int(a[1]), "established_at_sigint": int(a[2]),
     "exit_code": int(a[3]), "exit_secs": float(a[4]), "netns_removed": a[5] == "true",
     "rss_at_sigint_kib": json.loads(a[6]), "stats_at_sigint": json.loads(a[7]),
     "curls": json.loads(a[8]), "restart_up_secs": float(a[9]),
     "restart_first_response_secs": json.loads(a[10])}
print(json.dumps(d))' "$downloads" "$est" "$rc" "$(secs_between "$t0" "$t1")" "$gone" \
            "$rss" "$stats" "$(json_of "$f")" "$up_secs" "$first")"
    [[ $rc == 0 ]] || log "berth up exited $rc: $(tail -n 5 "$out/$ns.err")"
}

# ------------------------------------------------------------ main

log "results and logs in $out"
k=0
for load in ${all_loads//,/ }; do
    k=$((k + 1))
    [[ ,$only, == *,$load,* ]] || continue
    for s in berth linux; do
        [[ ,$servers, == *,$s,* ]] || continue
        # Malformed frames into a TUN device, and SIGINT to berth: berth's.
        [[ $s == linux && $load =~ ^(malformed|sigint)$ ]] && continue
        service="http"
        [[ $load == idle ]] && service="echo"
        [[ $load == shorthttp ]] && service="http-epoll"
        start "$s" "$k" "$service"
        "load_$load" "$k"
        stop "$s" "$load"
    done
done

echo
"$py" "$helper" table "$results"
log "done: $results"
