#!/usr/bin/env bash
# Hostile load against `berth up` and against the Linux kernel, side by side
# (issue #12). Needs root; run from anywhere:
#
#   cargo build --release -p berth-cli
#   sudo scripts/stress.sh                      # every load, about 2 minutes
#   sudo scripts/stress.sh --only idle          # one load (or a comma list)
#   sudo scripts/stress.sh --duration 20 --servers berth
#
# The loads, each against a fresh server, bounded in time:
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
#
# Servers:
#   berth  `berth up --netns NS --tun DEV` (services on the stack thread);
#          the clients run in its namespace, on the kernel side of the TUN
#          device. It is stopped with SIGINT after each load and must exit 0.
#   linux  Python servers (stress/stress.py: ThreadingHTTPServer on 80, an
#          epoll echo on 7; listen backlog 128 like berth's) in a server
#          namespace, reached from a client namespace over a veth pair.
#
# Addresses: 198.18.(20+k).0/24 for berth's link, 198.18.(120+k).0/24 for the
# veth pair (k = 1, 2, 3 for the loads), 2001:2:0:(20+k)::/64 for berth's
# IPv6; nothing outside namespaces this script creates. hping3 runs only in
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
# ends, on failure or Ctrl-C too. berth's own counters: the frames of each
# run (its exit line), and every StackStats counter once `berth ss --stats`
# exists (the script asks for it before stopping berth, if it is there).
#
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --only LOADS        comma-separated: slowloris,synflood,idle (default: all)
  --servers LIST      comma-separated: berth,linux (default: both)
  --duration SECS     slowloris duration and each flood phase (default 10)
  --idle-conns N      connections of the idle load (default 19900)
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
only=slowloris,synflood,idle
servers=berth,linux
duration=10
idle_conns=19900
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
for l in ${only//,/ }; do
    case $l in slowloris | synflood | idle) ;; *) die "unknown load $l" ;; esac
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

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p ns i
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

# Wait (at most SECS) until FILE has a line matching PATTERN while PID lives.
wait_line() {
    local file=$1 pattern=$2 pid=$3 secs=$4
    local end=$((SECONDS + secs))
    until grep -q -- "$pattern" "$file" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || return 1
        ((SECONDS < end)) || return 1
        sleep 0.1
    done
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
        "TcpExtTCPReqQFullDoCookies", "TcpExtTCPReqQFullDrop", "TcpExtTCPBacklogDrop"]
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

berth_start() {
    local k=$1
    local net=198.18.$((20 + k)) ns=$tag-b$k
    server=berth cns=$ns sip=$net.2 link=${tag}b$k sock=$out/$ns.sock
    netns+=("$ns")
    # berth up ends by itself after 10 minutes at the latest.
    timeout -s INT -k 10 600 "$berth" up --netns "$ns" --tun "$link" \
        --addr "$net.2/24" --peer-addr "$net.1" \
        --addr6 "2001:2:0:$((20 + k))::2/64" --peer-addr6 "2001:2:0:$((20 + k))::1" \
        --control "$sock" ${berth_args[@]+"${berth_args[@]}"} \
        >"$out/$ns.out" 2>"$out/$ns.err" &
    berth_pid=$!
    wait_line "$out/$ns.out" '^berth up:' "$berth_pid" 20 ||
        die "berth up did not come up: $(tail -n 5 "$out/$ns.err")"
    spid=$(pgrep -P "$berth_pid" -x berth | head -n 1)
    [[ -n $spid ]] || die "no berth process under $berth_pid"
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0 \
        net.ipv4.ip_local_port_range="10000 65000"
    log "berth up: $sip on $link (netns $ns, pid $spid)"
}

# Stop berth with SIGINT; record its exit status and frame counts.
berth_stop() {
    local load=$1 rc i ns=$cns
    # The stack's counters (StackStats), if this berth can show them live.
    local stats=null
    if [[ $("$berth" ss --help 2>/dev/null || true) == *--stats* ]]; then
        stats=$(timeout 10 "$berth" ss --control "$sock" --stats --json 2>/dev/null |
            "$py" -c 'import json, sys
text = sys.stdin.read().strip()
try:
    print(json.dumps(json.loads(text)))
except ValueError:
    print(json.dumps([json.loads(l) for l in text.splitlines() if l.startswith("{")]))' ||
            echo null)
    fi
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
    done_line=$(grep 'berth up: done' "$out/$ns.err" || true)
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
        "$([[ $what == http ]] && echo 80 || echo 7)"
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

# ------------------------------------------------------------ main

log "results and logs in $out"
k=0
for load in slowloris synflood idle; do
    k=$((k + 1))
    [[ ,$only, == *,$load,* ]] || continue
    for s in berth linux; do
        [[ ,$servers, == *,$s,* ]] || continue
        service="http"
        [[ $load == idle ]] && service="echo"
        start "$s" "$k" "$service"
        "load_$load"
        stop "$s" "$load"
    done
done

echo
"$py" "$helper" table "$results"
log "done: $results"
