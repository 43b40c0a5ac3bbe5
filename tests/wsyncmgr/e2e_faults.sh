#!/bin/bash
# e2e_faults.sh - bad input and faults around a sync, with the real daemons:
# request files that are a directory, a symlink, 10 MB of junk, or unknown
# names (each refused with one log line and one status message, nothing
# else lost); a SUP that answers garbage, HTTP 500, or dies in the middle of
# GetUpdateData (faultyuss between wsyncmgr and wsusd): 6703 and nothing
# half-written, the previous content version kept, and the next sync
# complete; kill -9 of wsyncmgr in the site phase (the request survives, the
# next start completes the sync with no duplicate); SIGTERM in the middle of
# a sync (a clean stop, the sync runs again at the next start); and on
# PostgreSQL the database going away in the site phase.
# Runs on SQLite, or on PostgreSQL under tests/with-postgres.sh.
. "$(dirname "$0")/wsmlib.sh"

setup_site
PORT=$WPORT
# The SUP stays configured (state 2) while its port changes under it: WCM is not needed here.
stop wcm
SRC_SMS="Microsoft.SystemsManagementServer.SoftwareUpdatesManagement.WSyncAction.WSyncAction.SyncSMS"
SRC_CREATE="Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer"
corrupt="$box/corrupt"

consistent() {
    [ "$(sql "SELECT COUNT(*) - COUNT(DISTINCT CI_UniqueID) FROM CI_ConfigurationItems")" = 0 ] &&
    [ "$(sql "SELECT COUNT(*) FROM CI_UpdateInfo WHERE CI_ID NOT IN (SELECT CI_ID FROM CI_ConfigurationItems)")" = 0 ] &&
    [ "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems ci WHERE ci.CIType_ID IN (1, 8) AND NOT EXISTS (SELECT 1 FROM CI_UpdateInfo ui WHERE ui.CI_ID = ci.CI_ID)")" = 0 ] &&
    [ "$(sql "SELECT COUNT(DISTINCT v) FROM (SELECT ContentVersion AS v FROM Update_SyncStatus WHERE SiteCode = 'CS1' UNION ALL SELECT ContentVersion FROM CI_UpdateSources WHERE SourceSite = 'CS1' UNION ALL SELECT ContentVersion FROM WSUSServerLocations WHERE SiteCode = 'CS1') t")" = 1 ]
}
db_up() { sql "SELECT 1" >/dev/null 2>&1; }
cis() { sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)"; }
rejected() { sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID = 8600"; }

# ---- bad request files ----
check "a first sync" request_sync
check "... succeeds" test "$(last_end)" = 6702
starts=$(count "Starting Sync")
mkdir "$box/SELF.SYN"
ln -s /etc/hostname "$box/FULL.SYN"
head -c 10485760 /dev/urandom >"$box/tmp/junk" && mv "$box/tmp/junk" "$box/JUNK.SYN"
: >"$box/HELLO.SYN"
: >"$box/TEQ.SYN"
check "five refusals, one status message 8600 each" wait_for 20 bash -c "[ \$(grep -c 'Rejected .* in $box' '$slog') -ge 5 ]"
check "... stored" test "$(rejected)" = 5
check "a directory named SELF.SYN is moved aside" test -d "$corrupt/SELF.SYN" -a ! -e "$box/SELF.SYN"
check "... with its reason" log_has "$slog" "Rejected SELF.SYN in $box: it is a directory."
check "a symlink is moved aside, its target untouched" test -L "$corrupt/FULL.SYN" -a -s /etc/hostname
check "... with its reason" log_has "$slog" "Rejected FULL.SYN in $box: it is not a regular file."
check "10 MB of junk is moved aside" test -s "$corrupt/JUNK.SYN"
check "... with its reason" log_has "$slog" "Rejected JUNK.SYN in $box: it is larger than a request file may be."
check "an unknown name is moved aside" log_has "$slog" "Rejected HELLO.SYN in $box: an unknown sync request file name."
check "a parent request on a site without a parent is moved aside" log_has "$slog" "Rejected TEQ.SYN in $box: a sync notification from site TEQ, but this site has no parent site."
check "the 8600 message names file, reason, box and folder" test "$(istr 8600 2)" = "wsyncmgr.box"
check "none of them started a sync" test "$(count "Starting Sync")" = "$starts"
check "a good request still works" request_sync
check "... and succeeds" test "$(last_end)" = 6702
check "the daemon kept running" kill -0 "${PIDS[wsyncmgr]}"

# ---- the SUP behind a misbehaving proxy (faultyuss) ----
# proxy MODE [ARGS]: faultyuss in front of wsusd; the SUP row points at it.
proxy() {
    stop faulty
    rm -f "$root/faulty.port"
    start faulty "$FAULTYUSS" --port-file "$root/faulty.port" --mode "$@" --upstream "127.0.0.1:$PORT"
    wait_for 10 test -s "$root/faulty.port" || return 1
    sql "UPDATE SoftwareUpdatePoints SET PortNumber = $(cat "$root/faulty.port") WHERE SiteCode = 'CS1'"
}
v=$(version)
n=$(cis)
proxy garbage || bad "faultyuss garbage"
check "a SUP that answers garbage: the sync ends" request_sync
check "... with 6703" test "$(last_end)" = 6703
check "... from the administration API" test "$(istr 6703 0)" = "$SRC_CREATE"
check "... logged" log_has "$slog" "Sync failed: "
proxy 500 || bad "faultyuss 500"
check "a SUP that answers HTTP 500: the sync ends" request_sync
check "... with 6703 and the HTTP status" test "$(istr 6703 1)" = "The request failed with HTTP status 500: Internal Server Error"
check "the content version stayed" test "$(version)" = "$v"

# A bigger catalog, so GetUpdateData takes several requests, and the third one is cut.
"$WSUSD" --root "$root" --set 'MUUrl=generated:?updates=3000&seed=5&languages=en' >/dev/null 2>&1
proxy cut --nth 3 || bad "faultyuss cut"
check "a SUP that dies in the middle of GetUpdateData: the sync ends" request_sync
check "... with 6703 from the site database phase" test "$(last_end)|$(istr 6703 0)" = "6703|$SRC_SMS"
check "... after the site phase had begun" in_order "$slog" "STATMSG: ID=6705" "sync: SMS synchronizing updates" "Sync failed: UssCommunicationError"
check "nothing of it was written" test "$(cis)" = "$n"
check "the content version stayed" test "$(version)" = "$v"
check "the tables are consistent" consistent
proxy pass || bad "faultyuss pass"
check "the next sync completes" request_sync
check "... with 6702" test "$(last_end)" = 6702
check "... with every update" test "$(cis)" = $((n + 3000))
check "... and one new content version" test "$(version)" = $((v + 1))
check "the tables are consistent" consistent
stop faulty
sql "UPDATE SoftwareUpdatePoints SET PortNumber = $PORT WHERE SiteCode = 'CS1'"

# ---- kill -9 in the site phase ----
"$WSUSD" --root "$root" --set 'MUUrl=generated:?updates=20000&seed=6&languages=en' >/dev/null 2>&1
v=$(version)
n=$(cis)
lines=$(count "sync: SMS synchronizing updates")
: >"$box/SELF.SYN"
if wait_for 120 more "sync: SMS synchronizing updates" "$lines"; then
    sleep 0.3
    kill9 wsyncmgr
    ok "wsyncmgr killed in the site phase"
else
    bad "the site phase began"
fi
check "the request survives in process/" test -e "$box/process/SELF.SYN"
check "nothing of the cut sync is in the site database" test "$(cis)" = "$n"
check "the content version stayed" test "$(version)" = "$v"
check "the tables are consistent" consistent
before=$(syncs_done)
start wsyncmgr "$WSYNCMGR" --root "$root"
check "the next start takes the request back" wait_for 20 log_has "$slog" "Recovered 1 file(s) left in process"
check "... and completes the sync" wait_for 180 ended_after "$before"
check "... with 6702" test "$(last_end)" = 6702
check "... with every update once" test "$(cis)" = $((n + 20000))
check "... and one new content version" test "$(version)" = $((v + 1))
check "the tables are consistent" consistent
check "the request is gone" wait_for 10 test ! -e "$box/process/SELF.SYN" -a ! -e "$box/SELF.SYN"

# ---- SIGTERM in the middle of a sync ----
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 30 >/dev/null
kill -HUP "${PIDS[wsyncmgr]}"
sleep 1
: >"$box/SELF.SYN"
check "a sync is waiting for the SUP's results" wait_for 60 log_has "$slog" "Sleeping 30 more seconds"
stop wsyncmgr
check "SIGTERM stops it in the wait, before the site phase" bash -c "! python3 - '$slog' <<'PY'
import sys
lines = open(sys.argv[1], errors='replace').read().splitlines()
i = max(k for k, l in enumerate(lines) if 'Sleeping 30 more seconds' in l)
sys.exit(0 if any('STATMSG: ID=6705' in l for l in lines[i:]) else 1)
PY"
check "... saying so" log_has "$slog" "Sync stopped: SMS_WSUS_SYNC_MANAGER is stopping. The request will run again when it starts."
check "... cleanly" log_has "$slog" "SMS_WSUS_SYNC_MANAGER stopped."
check "the request is kept" test -e "$box/process/SELF.SYN"
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 1 >/dev/null
before=$(syncs_done)
start wsyncmgr "$WSYNCMGR" --root "$root"
check "the next start runs it" wait_for 120 ended_after "$before"
check "... to 6702" test "$(last_end)" = 6702

# ---- the database goes away in the site phase (PostgreSQL) ----
if [ -n "${CM_TEST_PGCTL:-}" ]; then
    "$WSUSD" --root "$root" --set 'MUUrl=generated:?updates=20000&seed=7&languages=en' >/dev/null 2>&1
    v=$(version)
    n=$(cis)
    lines=$(count "sync: SMS synchronizing updates")
    nfailed=$(count "Sync failed: ")
    : >"$box/SELF.SYN"
    if wait_for 120 more "sync: SMS synchronizing updates" "$lines"; then
        "$CM_TEST_PGCTL" stop
        ok "the database stopped in the site phase"
    else
        bad "the site phase began"
    fi
    check "the sync fails" wait_for 120 more "Sync failed: " "$nfailed"
    check "... with 6703 in the log" wait_for 10 in_order "$slog" "Sync failed: " "STATMSG: ID=6703"
    check "the daemon keeps running" kill -0 "${PIDS[wsyncmgr]}"
    "$CM_TEST_PGCTL" start
    check "the database is back" wait_for 60 db_up
    # The cut sync's 6703 was spooled while the database was away; it is stored at reconnect.
    stored_6703() { [ "$(sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID = 6703")" = "$(count "STATMSG: ID=6703")" ]; }
    check "the cut sync's 6703 is stored once the database is back" wait_for 60 stored_6703
    check "nothing of the cut sync is in the site database" test "$(cis)" = "$n"
    check "the content version stayed" test "$(version)" = "$v"
    before=$(syncs_done)
    check "the next sync completes" request_sync
    check "... with 6702" test "$(last_end)" = 6702
    check "... with every update" test "$(cis)" = $((n + 20000))
    check "the tables are consistent" consistent
fi
wsm_done
