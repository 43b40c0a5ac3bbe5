# wcmlib.sh - shared by the WSUS Configuration Manager end-to-end scripts:
# tests/e2e/lib.sh (temporary site root, waits, checks) plus the real
# daemons started directly (smsdbmon, wcm, and wsusd on free loopback ports,
# not 8530, so tests of other daemons can run beside), SQL on the site
# database (sqlite3, or psql under tests/with-postgres.sh), and calls of
# the WSUS administration API with curl, so what wsusd holds is checked by
# a client that is not ours.  Sourced, not run.  Needs CMSITE, SMSDBMON,
# WCM and WSUSD (set by meson); WSYNCMGR when that daemon is built.
. "$(dirname "$0")/../e2e/lib.sh"

declare -A PIDS=()
wlog="$root/logs/WCM.log"
box="$root/inboxes/WSUSMgr.box"
API_NS="http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService"

stop_all() {
    for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null; done
    for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}" 2>/dev/null; done
    PIDS=()
}
trap 'stop_all; finish' EXIT

# start NAME COMMAND...: run a daemon in the background.
start() {
    local name=$1; shift
    "$@" 2>>"$root/$name.stderr" &
    PIDS[$name]=$!
}

# stop NAME: SIGTERM and wait.
stop() {
    local pid=${PIDS[$1]}
    unset "PIDS[$1]"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

pgport() { sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$CM_TEST_DB"; }

# sql "STATEMENTS": run on the site database; rows print as a|b.
sql() {
    if [ -n "${CM_TEST_DB:-}" ]; then
        psql -X -q -At -h 127.0.0.1 -p "$(pgport)" -U cm -d site -v ON_ERROR_STOP=1 -c "$1"
    else
        sqlite3 -bail -cmd ".timeout 30000" "$root/data/site.db" "$1"
    fi
}

# susdb DIR "STATEMENTS": query a wsusd's own database.
susdb() { sqlite3 -bail -cmd ".timeout 30000" "$1/data/susdb.db" "$2"; }

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

# start_wsusd NAME ROOT PORT: a wsusd on PORT (and PORT+1 for SSL), waiting until it serves;
# when it does not, what it said (the test may delete ROOT before the logs are shown).
start_wsusd() {
    start "$1" "$WSUSD" --root "$2" --port "$3" --ssl-port $(($3 + 1))
    wait_for 60 curl -s -o /dev/null "http://127.0.0.1:$3/ClientWebService/wusserverversion.xml" &&
        return 0
    echo "# $1 does not serve on port $3 (running: $(kill -0 "${PIDS[$1]}" 2>/dev/null && echo yes || echo no)); its stderr and log:"
    tail -n 20 "$root/$1.stderr" "$2/logs/wsusd.log" 2>/dev/null | sed 's/^/# /'
    return 1
}

# api PORT OPERATION [INNER-XML] [USER:PASSWORD]: call the administration API, print the answer.
api() {
    local auth=()
    [ -n "${4:-}" ] && auth=(-u "$4")
    curl -s "${auth[@]}" -X POST -H 'Content-Type: text/xml; charset=utf-8' \
        -H "SOAPAction: \"$API_NS/$2\"" \
        --data "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><$2 xmlns=\"$API_NS\">${3:-}</$2></soap:Body></soap:Envelope>" \
        "http://127.0.0.1:$1/ApiRemoting30/WebService.asmx"
}

# state SERVER: the WCMConfigState of a SUP.
state() { sql "SELECT WCMConfigState FROM SoftwareUpdatePoints WHERE ServerName = '$1'"; }
state_is() { [ "$(state "$1")" = "$2" ]; }

# count_lines TEXT: how many WCM.log lines contain the fixed string.
count_lines() { grep -cF -- "$1" "$wlog" 2>/dev/null || true; }
# more_lines TEXT N: more than N lines now contain it.
more_lines() { [ "$(count_lines "$1")" -gt "$2" ]; }

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
    sys.exit(1)
pos = starts[-1]
for t in texts[1:]:
    pos = next((i for i in range(pos + 1, len(lines)) if t in lines[i]), None)
    if pos is None:
        sys.exit(1)
EOF
}

# msg_count ID: status messages of WCM with this ID.
msg_count() {
    sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_CONFIGURATION_MANAGER' AND MessageID = $1"
}

# The site: CS1 with its SUP on this machine's wsusd (a free port), WCM waiting 1 second
# after a success, the daemons started.
setup_site() {
    init_site >/dev/null || { bad "cmsite init"; exit 1; }
    WPORT=$(free_port) || { bad "no free port"; exit 1; }
    sql "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost', PortNumber = $WPORT, SSLPortNumber = $((WPORT + 1)) WHERE SiteCode = 'CS1'"
    "$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'Subscription Wait' 1 >/dev/null
    start_wsusd wsusd "$root" "$WPORT" || { bad "wsusd serves on port $WPORT"; exit 1; }
    start smsdbmon "$SMSDBMON" --root "$root"
    start wcm "$WCM" --root "$root"
}

# end_tests: stop the daemons, check that none reported a sanitizer error or
# a leak on its standard error, and print the count.
end_tests() {
    stop_all
    check "no daemon reported a sanitizer error or leak" bash -c \
        "! grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$root'/*.stderr 2>/dev/null"
    done_tests
}
