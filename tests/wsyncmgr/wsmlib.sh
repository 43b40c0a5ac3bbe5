# wsmlib.sh - shared by the WSUS Synchronization Manager end-to-end
# scripts: tests/e2e/lib.sh (a temporary site root, waits, checks), the real
# daemons started directly on free loopback ports (smsdbmon, wsusd, wcm,
# wsyncmgr) so these tests can run beside others, SQL on the site database
# (sqlite3, or psql under tests/with-postgres.sh), and checks of the log
# lines in order.  Sourced, not run.  Needs CMSITE, SMSDBMON, WSUSD, WCM,
# WSYNCMGR (set by meson).
. "$(dirname "$0")/../e2e/lib.sh"

slog="$root/logs/wsyncmgr.log"
box="$root/inboxes/wsyncmgr.box"

# wsm_done: stop the daemons, check that none of them reported a sanitizer error or a leak
# (sanitizer builds print those to standard error, kept in $root/NAME.stderr), then the tally.
wsm_done() {
    stop_all
    if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$root"/*.stderr 2>/dev/null; then
        bad "a daemon reported a sanitizer error"
        grep -h -A20 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$root"/*.stderr | head -60
    else
        ok "no sanitizer report from the daemons"
    fi
    done_tests
}

# count TEXT: how many wsyncmgr.log lines contain the fixed string.
count() { grep -cF -- "$1" "$slog" 2>/dev/null || true; }
# more TEXT N: more than N lines now contain it.
more() { [ "$(count "$1")" -gt "$2" ]; }

# msgs: the sync manager's status message IDs, oldest first, on one line.
msgs() {
    sql "SELECT MessageID FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' ORDER BY RecordID" | tr '\n' ' '
}
# istr ID N: insertion string N of the last status message ID.
istr() {
    sql "SELECT i.InsStrValue FROM StatusMessageInsStrs i WHERE i.InsStrIndex = $2 AND i.RecordID = (SELECT MAX(RecordID) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID = $1)"
}

# wcm_state: the WCMConfigState of the site's first SUP.
wcm_state() { sql "SELECT WCMConfigState FROM SoftwareUpdatePoints WHERE SiteCode = 'CS1' ORDER BY InstallOrder LIMIT 1"; }
wcm_state_is() { [ "$(wcm_state)" = "$1" ]; }
# wcm_kick: a .CSB drop, so WCM checks the SUPs now rather than in an hour.
wcm_kick() { : >"$root/inboxes/WSUSMgr.box/$RANDOM$RANDOM.CSB"; }

# syncs_done: the 6702 and 6703 messages so far (each sync ends with one of them).
syncs_done() {
    sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID IN (6702, 6703)"
}
# request_sync [NAME]: drop a request file (SELF.SYN by default) the way a user does, then wait
# until one more sync has ended.  Returns 1 when none ended within 120 seconds.
request_sync() {
    local before
    before=$(syncs_done)
    : >"$box/${1:-SELF.SYN}"
    wait_for 120 ended_after "$before"
}
ended_after() { [ "$(syncs_done)" -gt "$1" ]; }
last_end() {
    sql "SELECT MessageID FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID IN (6702, 6703) ORDER BY RecordID DESC LIMIT 1"
}
version() { sql "SELECT ContentVersion FROM Update_SyncStatus WHERE SiteCode = 'CS1'"; }

# The site: CS1, its SUP on this machine's wsusd on a free port (named localhost, which WCM and
# wsyncmgr can resolve), short waits, and the daemons: smsdbmon, wsusd, wcm, wsyncmgr.
setup_site() {
    init_site >/dev/null || { bad "cmsite init"; exit 1; }
    WPORT=$(free_port) || { bad "no free port"; exit 1; }
    sql "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost', PortNumber = $WPORT, SSLPortNumber = $((WPORT + 1)) WHERE SiteCode = 'CS1'"
    "$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'Subscription Wait' 1 >/dev/null
    "$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 1 >/dev/null
    "$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Progress Poll Interval' 100 >/dev/null
    start_wsusd wsusd "$root" "$WPORT" || { bad "wsusd serves on port $WPORT"; exit 1; }
    start smsdbmon "$SMSDBMON" --root "$root"
    start wcm "$WCM" --root "$root"
    wait_for 30 wcm_state_is 2 || { wcm_kick; wait_for 30 wcm_state_is 2; } || { bad "WCM configured the SUP"; exit 1; }
    start wsyncmgr "$WSYNCMGR" --root "$root"
    wait_for 20 log_has "$slog" "Waiting " || { bad "wsyncmgr started"; exit 1; }
}
