#!/bin/bash
# e2e_child.sh - a two-site hierarchy in one site database (DESIGN.md 2.2):
# CS1 (the CAS) syncs and sends its sync notification to its child PS1
# ("Sending sync notification to child site(s): PS1", CS1.SYN in the
# outbox); the test plays replication and hands CS1.SYN to PS1's
# wsyncmgr.box, whose wsyncmgr then runs the WSUS phase only ("Found parent
# sync notification file CS1.SYN.", "Performing sync on parent request",
# no 6705) and ends with "Successfully synced site with parent CS1, version
# N", N being the CAS's content version.  A second SUP of the CAS is a
# replica: 6706 and the replica lines.
# Runs on SQLite, or on PostgreSQL under tests/with-postgres.sh.
. "$(dirname "$0")/wsmlib.sh"

setup_site
# A replica SUP for the CAS: a second wsusd, configured (state 2) as WCM would leave it.
RPORT=$(free_port)
mkdir -p "$root/replica"
start_wsusd replica "$root/replica" "$RPORT" || bad "the replica wsusd serves"
sql "INSERT INTO SoftwareUpdatePoints (SiteCode, ServerName, PortNumber, SSLPortNumber, InstallOrder, WCMConfigState) VALUES ('CS1', '127.0.0.1', $RPORT, $((RPORT + 1)), 2, 2)"
# WCM would make the replica follow the first SUP; the test does not need it running.
stop wcm

# The child primary site PS1, in the same database, with its own root, SUP and wsyncmgr.
child=$root/ps1
if [ -n "${CM_TEST_DB:-}" ]; then
    "$CMSITE" init --root "$child" --site PS1 --server ps1site.contoso.com --type PRIMARY --parent CS1 --db "$CM_TEST_DB" >/dev/null
else
    "$CMSITE" init --root "$child" --site PS1 --server ps1site.contoso.com --type PRIMARY --parent CS1 --db "Driver=SQLite3;Database=$root/data/site.db" >/dev/null
fi
check "PS1 is a child of CS1" test "$(sql "SELECT ParentSiteCode FROM SiteControl WHERE SiteCode = 'PS1'")" = CS1
CPORT=$(free_port)
start_wsusd ps1wsusd "$child" "$CPORT" || bad "PS1's wsusd serves"
sql "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost', PortNumber = $CPORT, SSLPortNumber = $((CPORT + 1)), WCMConfigState = 2 WHERE SiteCode = 'PS1'"
"$CMSITE" config --root "$child" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 1 >/dev/null
clog=$child/logs/wsyncmgr.log
start ps1wsyncmgr "$WSYNCMGR" --root "$child"
check "PS1's wsyncmgr started" wait_for 20 log_has "$clog" "Waiting "

# ---- the CAS syncs, its replica follows, and it notifies PS1 ----
check "CS1 syncs" request_sync
check "... and succeeds" test "$(last_end)" = 6702
check "the replica SUP is synchronized after the site database" wait_for 10 in_order "$slog" \
    "Found 2 SUPs" "Found active SUP localhost from SCF File." "Found active SUP 127.0.0.1 from SCF File." \
    "STATMSG: ID=6705" "Synchronizing replica WSUS servers" "STATMSG: ID=6706" \
    "Synchronizing WSUS server 127.0.0.1 ..." "sync: Starting Replica WSUS synchronization" \
    "Done synchronizing WSUS Server 127.0.0.1" "STATMSG: ID=6702"
check "6706 recorded" test "$(sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID = 6706 AND SiteCode = 'CS1'")" = 1
check "the replica's location has the new version" test "$(sql "SELECT ContentVersion FROM WSUSServerLocations WHERE SiteCode = 'CS1' AND ServerName = '127.0.0.1'")" = "$(version)"
check "the notification for the child site" wait_for 10 log_has "$slog" "Sending sync notification to child site(s): PS1"
check "... written to the outbox" test -e "$box/outbox/CS1.SYN"
check "... and handed to replication" log_has "$slog" "SQL Replication type has not been set for $box/outbox/CS1.SYN, replicating to (PS1), inbox: $root/inboxes/replmgr.box"

# ---- replication delivers CS1.SYN to PS1 ----
cv=$(version)
before=$(sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND SiteCode = 'PS1' AND MessageID IN (6702, 6703)")
mv "$box/outbox/CS1.SYN" "$child/inboxes/wsyncmgr.box/CS1.SYN"
ps1_ended() { [ "$(sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND SiteCode = 'PS1' AND MessageID IN (6702, 6703)")" -gt "$before" ]; }
check "PS1 syncs on its parent's request" wait_for 120 ps1_ended
check "... with the documented lines" wait_for 10 in_order "$clog" "Wakeup by inbox drop" \
    "Found parent sync notification file CS1.SYN." "Starting Sync" "Performing sync on parent request" \
    "Read SUPs from SCF for ps1site.contoso.com" "STATMSG: ID=6701" "STATMSG: ID=6704" \
    "Set content version of update source" "STATMSG: ID=6702" \
    "Sync succeeded. Setting sync alert to canceled state on site PS1" \
    "Successfully synced site with parent CS1, version $cv" "Sync time: "
check "... and no site database phase" bash -c "! grep -q 'STATMSG: ID=6705' '$clog'"
check "PS1's content version follows the CAS" test "$(sql "SELECT ContentVersion FROM Update_SyncStatus WHERE SiteCode = 'PS1'")" = "$cv"
check "PS1's request file is gone" wait_for 10 test ! -e "$child/inboxes/wsyncmgr.box/CS1.SYN" -a ! -e "$child/inboxes/wsyncmgr.box/process/CS1.SYN"
wsm_done
