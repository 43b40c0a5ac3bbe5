# sslib.sh - shared by the statesys end-to-end scripts: tests/e2e/lib.sh
# (temporary site root, waits, checks), statesys started directly (not by
# the supervisor), SQL on the site database through its own client (sqlite3,
# or psql under tests/with-postgres.sh), and SMX files written the way a
# management point writes them.  Sourced, not run.  Needs CMSITE and
# STATESYS (set by meson).
. "$(dirname "$0")/../e2e/lib.sh"

data="$(cd "$(dirname "$0")" && pwd)/data"
box="$root/inboxes/auth/statesys.box/incoming"
proc="$root/inboxes/auth/statesys.box/process"
corrupt="$root/inboxes/auth/statesys.box/corrupt"
sslog="$root/logs/statesys.log"
SSPID=

stop_statesys() {
    if [ -n "$SSPID" ]; then
        kill -TERM "$SSPID" 2>/dev/null
        wait "$SSPID" 2>/dev/null
        local rc=$?
        SSPID=
        return $rc
    fi
    return 0
}
trap 'stop_statesys; finish' EXIT

start_statesys() {
    "$STATESYS" --root "$root" 2>>"$root/statesys.stderr" &
    SSPID=$!
}

kill9_statesys() {
    kill -9 "$SSPID" 2>/dev/null
    wait "$SSPID" 2>/dev/null
    SSPID=
    return 0
}

# is "SQL" VALUE: the query's single value equals VALUE; more "SQL" N: it is above N.
is() { [ "$(sql "$1")" = "$2" ]; }
more() { local v; v=$(sql "$1"); [ -n "$v" ] && [ "$v" -gt "$2" ]; }

setting() { "$CMSITE" config --root "$root" SMS_STATE_SYSTEM "$1" "$2" >/dev/null; }
# setting_live NAME VALUE: the same while statesys runs, returning once statesys has read it
# (it re-reads its settings every few seconds; a test that goes on before then races it).
setting_live() {
    local n
    n=$(grep -cF "Component settings changed" "$sslog" 2>/dev/null)
    setting "$1" "$2"
    wait_for 30 bash -c "[ \"\$(grep -cF 'Component settings changed' '$sslog')\" -gt ${n:-0} ]"
}

# utf16 FILE: UTF-8 text to UTF-16LE with a byte order mark, as MP_Relay writes.
utf16() { printf '\xff\xfe'; iconv -f UTF-8 -t UTF-16LE "$1"; }

# drop NAME [DIR] < content: written elsewhere, renamed into the box.
drop() {
    local dir=${2:-$box}
    cat >"$root/.drop.$$"
    mv "$root/.drop.$$" "$dir/$1"
}

received() { sql "SELECT COALESCE(SUM(MessagesReceived), 0) FROM SR_ClientMessageCounts"; }

# files_in DIR: regular files (and links) directly in DIR.
files_in() { find "$1" -maxdepth 1 ! -type d | wc -l; }

drained() { [ "$(files_in "$box")" -eq 0 ] && [ "$(files_in "$box/high")" -eq 0 ] &&
            [ "$(files_in "$box/low")" -eq 0 ] && [ "$(files_in "$proc")" -eq 0 ]; }

# report CLIENT NETBIOS BODY: a report in UTF-8 around StateMessage elements.
report() {
    printf '<?xml version="1.0" encoding="UTF-16"?>\r\n<Report><ReportHeader><Identification><Machine><ClientInstalled>1</ClientInstalled><ClientType>1</ClientType><ClientID>%s</ClientID><ClientVersion>5.00.7958.1000</ClientVersion><NetBIOSName>%s</NetBIOSName></Machine></Identification><ReportDetails><ReportContent>State Message Data</ReportContent></ReportDetails></ReportHeader><ReportBody>%s</ReportBody></Report>' "$1" "$2" "$3"
}

# message TIME SERIAL TOPIC TYPE STATE [PARAMS]
message() {
    printf '<StateMessage MessageTime="%s" SerialNumber="%s"><Topic ID="%s" Type="%s" IDType="3" User="" UserSID=""/><State ID="%s" Criticality="0"/><UserParameters Flags="0" Count="1">%s</UserParameters></StateMessage>' "$1" "$2" "$3" "$4" "$5" "${6:-}"
}

# wmi_ago SECONDS: the WMI time that many seconds ago (UTC).
wmi_ago() { date -u -d "@$(( $(date +%s) - $1 ))" +%Y%m%d%H%M%S.000000+000; }
