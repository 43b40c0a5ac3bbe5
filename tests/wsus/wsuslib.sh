# wsuslib.sh - shared by the wsusd end-to-end scripts: a temporary folder,
# wsusd instances on free ports, checks that print what failed.  Sourced.
# Needs WSUSD, WSUSCTL, FAULTYUSS, SUSDBDUMP (set by meson).
set -u
fails=0
tmp=$(mktemp -d /tmp/wsuse2e.XXXXXX)
pids=()

finish() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ "$fails" -ne 0 ]; then
        for f in "$tmp"/*/logs/wsusd.log; do
            [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }
        done
    fi
    rm -rf "$tmp"
}
trap finish EXIT

ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
log_has() { grep -qF -- "$2" "$1" 2>/dev/null; }
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    while [ $SECONDS -lt $deadline ]; do "$@" && return 0; sleep 0.1; done
    "$@"
}

# start_wsusd NAME [ARGS...]: a wsusd on a free port in $tmp/NAME; sets
# port_NAME and pid_NAME.  The port comes from its log line.
start_wsusd() {
    local name=$1; shift
    local root=$tmp/$name
    mkdir -p "$root"
    local before
    before=$(grep -c '(HTTP)\.' "$root/logs/wsusd.log" 2>/dev/null)
    "$WSUSD" --root "$root" --port 0 --server-name "$name.contoso.com" "$@" \
        >>"$root/stderr.txt" 2>&1 &
    local pid=$!
    pids+=("$pid")
    eval "pid_$name=$pid"
    started() { local n; n=$(grep -c '(HTTP)\.' "$root/logs/wsusd.log" 2>/dev/null); [ "${n:-0}" -gt "${before:-0}" ]; }
    wait_for 30 started || { bad "$name did not start"; return 1; }
    local port
    port=$(sed -n 's/^Listening on [0-9.]* port \([0-9]*\) (HTTP)\..*/\1/p' "$root/logs/wsusd.log" | tail -n 1)
    eval "port_$name=$port"
}

# stop_wsusd NAME: SIGTERM and wait.
stop_wsusd() {
    local pid
    eval "pid=\$pid_$1"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# ctl NAME ARGS...: wsusctl against instance NAME.
ctl() {
    local port
    eval "port=\$port_$1"
    shift
    "$WSUSCTL" -p "$port" "$@"
}

# dump NAME: the canonical metadata of instance NAME's database.
dump() {
    local conn
    eval "conn=\${conn_$1:-Driver=SQLite3;Database=$tmp/$1/data/susdb.db}"
    "$SUSDBDUMP" "$conn" | LC_ALL=C sort
}

# stop_all: SIGTERM every process started here, and wait for them.
stop_all() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
}

done_tests() {
    # Sanitizer builds: a report from any wsusd (at any time, or at exit) fails the test.
    stop_all
    for f in "$tmp"/*/stderr.txt; do
        [ -f "$f" ] || continue
        if grep -qE 'Sanitizer|runtime error' "$f"; then
            bad "sanitizer report from $f"
            head -n 40 "$f"
        fi
    done
    echo "$fails failure(s)"
    [ "$fails" -eq 0 ]
}
