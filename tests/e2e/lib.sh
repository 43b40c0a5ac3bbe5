# lib.sh - shared by the end-to-end scripts: a temporary site root, waits
# with a deadline, checks that print what failed, daemons started by the
# script itself, SQL on the site database, and a wsusd on a free port with
# calls of its administration API.  Sourced, not run.  Needs CMSITE and
# SMSDBMON (set by meson), WSUSD for start_wsusd; uses CM_TEST_DB when the
# PostgreSQL wrapper set it.

set -u
fails=0
root=$(mktemp -d /tmp/cme2e.XXXXXX)
export CMSITE_BINDIR=$(dirname "$SMSDBMON")

finish() {
    "$CMSITE" stop --root "$root" >/dev/null 2>&1
    pkill -f -- "--root $root" 2>/dev/null
    if [ "$fails" -ne 0 ]; then
        echo "---- logs of $root ----"
        for f in "$root"/logs/*; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
        for f in "$root"/*.stderr; do [ -s "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done
        # Again at the end: meson shows only the last 100 lines of a failed test.
        printf 'FAILED: %s\n' "${failed[@]}"
    fi
    rm -rf "$root"
}

ok() { echo "ok - $*"; }
failed=()
bad() { echo "FAIL - $*"; fails=$((fails + 1)); failed+=("$*"); }

# wait_for SECONDS COMMAND...: true once COMMAND succeeds, false at the deadline.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    while [ $SECONDS -lt $deadline ]; do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# log_has FILE TEXT: the log contains the fixed string.
log_has() { grep -qF -- "$2" "$1" 2>/dev/null; }

check() { # check "description" COMMAND...
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

init_site() {
    if [ -n "${CM_TEST_DB:-}" ]; then
        "$CMSITE" init --root "$root" --site CS1 --server cs1site.contoso.com --db "$CM_TEST_DB"
    else
        "$CMSITE" init --root "$root" --site CS1 --server cs1site.contoso.com
    fi
}

done_tests() {
    echo "$fails failure(s)"
    [ "$fails" -eq 0 ]
}

# ---- daemons a script starts itself (not through the supervisor) ------------------------

# Their pids by name; each one's standard error goes to $root/NAME.stderr.
declare -A PIDS=()

# start NAME COMMAND...: run a daemon in the background.
start() {
    local name=$1; shift
    "$@" 2>>"$root/$name.stderr" &
    PIDS[$name]=$!
}

# stop NAME: SIGTERM and wait; returns the daemon's exit status (0 when it was not running).
stop() {
    local pid=${PIDS[$1]:-}
    unset "PIDS[$1]"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# kill9 NAME: the daemon dies without any chance to clean up.
kill9() {
    local pid=${PIDS[$1]:-}
    unset "PIDS[$1]"
    [ -n "$pid" ] || return 0
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

alive() { [ -n "${PIDS[$1]:-}" ] && kill -0 "${PIDS[$1]}" 2>/dev/null; }

stop_all() {
    for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null; done
    for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}" 2>/dev/null; done
    PIDS=()
}
trap 'stop_all; finish' EXIT

# ---- the site database, through the database's own client --------------------------------

pgport() { sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$CM_TEST_DB"; }

# sql "STATEMENTS": run on the site database; rows print as a|b.
sql() {
    if [ -n "${CM_TEST_DB:-}" ]; then
        psql -X -q -At -h 127.0.0.1 -p "$(pgport)" -U cm -d site -v ON_ERROR_STOP=1 -c "$1"
    else
        sqlite3 -bail -cmd ".timeout 30000" "$root/data/site.db" "$1"
    fi
}

# in_order FILE TEXT...: the texts appear in this order, each after the previous one, in the
# lines after the last line holding the first text.
in_order() {
    local file=$1; shift
    python3 - "$file" "$@" <<'EOF'
import sys
lines = open(sys.argv[1], encoding='utf-8', errors='replace').read().splitlines()
texts = sys.argv[2:]
starts = [i for i, l in enumerate(lines) if texts[0] in l]
if not starts:
    print("not found: " + texts[0], file=sys.stderr)
    sys.exit(1)
pos = starts[-1]
for t in texts[1:]:
    pos = next((i for i in range(pos + 1, len(lines)) if t in lines[i]), None)
    if pos is None:
        print("not found in order: " + t, file=sys.stderr)
        sys.exit(1)
EOF
}

# ---- a software update point (wsusd) on a free loopback port ------------------------------

# free_port: a loopback port with the next one free as well (wsusd's SSL port).
free_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && \
           ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 1))) 2>/dev/null; then
            echo "$p"; return 0
        fi
    done
    return 1
}

# start_wsusd NAME ROOT PORT [ARGS...]: a wsusd on PORT (PORT+1 for SSL), waiting until it
# serves; when it does not, what it said (the test may delete ROOT before the logs are shown).
start_wsusd() {
    local name=$1 dir=$2 port=$3; shift 3
    start "$name" "$WSUSD" --root "$dir" --port "$port" --ssl-port $((port + 1)) "$@"
    wait_for 60 curl -s -o /dev/null "http://127.0.0.1:$port/ClientWebService/wusserverversion.xml" &&
        return 0
    echo "# $name does not serve on port $port (running: $(alive "$name" && echo yes || echo no)); its stderr and log:"
    tail -n 20 "$root/$name.stderr" "$dir/logs/wsusd.log" 2>/dev/null | sed 's/^/# /'
    return 1
}

API_NS="http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService"

# api PORT OPERATION [INNER-XML] [USER:PASSWORD]: call the administration API, print the answer.
api() {
    local auth=()
    [ -n "${4:-}" ] && auth=(-u "$4")
    curl -s "${auth[@]}" -X POST -H 'Content-Type: text/xml; charset=utf-8' \
        -H "SOAPAction: \"$API_NS/$2\"" \
        --data "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><$2 xmlns=\"$API_NS\">${3:-}</$2></soap:Body></soap:Envelope>" \
        "http://127.0.0.1:$1/ApiRemoting30/WebService.asmx"
}
