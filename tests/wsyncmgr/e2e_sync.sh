#!/bin/bash
# e2e_sync.sh - the documented sync end to end, with `cmsite init` and
# `cmsite start` (every built daemon, wsusd on its default port 8530): a
# SELF.SYN dropped by hand, the wsyncmgr.log lines and status messages of
# seed 004 in order, the configuration items against the catalog wsusd
# synced (generated, 300 updates), the content version in the three tables
# and the .STN that smsdbmon drops for it, v_SUPSyncStatus; then a sync with
# nothing new (the content version stays), SyncNow through the database,
# FULL.SYN (everything rewritten), `cmsite sync --wait`, several requests
# during one sync (one more sync after it), and the regular schedule.
# Runs on SQLite, or on PostgreSQL under tests/with-postgres.sh.
. "$(dirname "$0")/wsmlib.sh"

check "cmsite init" init_site
sql "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost' WHERE SiteCode = 'CS1'"
"$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'Subscription Wait' 1 >/dev/null
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 2 >/dev/null
check "cmsite start" "$CMSITE" start --root "$root"
check "wsusd serves on 8530" wait_for 30 curl -s -o /dev/null http://127.0.0.1:8530/ClientWebService/wusserverversion.xml
check "wsyncmgr started" wait_for 30 log_has "$slog" "Waiting 10080 minutes for requests..."
# WCM may have tried before wsusd listened: a .CSB makes it check again now.
wait_for 10 wcm_state_is 2 || { wcm_kick; wait_for 30 wcm_state_is 2; }
check "WCM configured the SUP (state 2)" wcm_state_is 2

# ---- the first sync, from a SELF.SYN dropped by hand ----
check "SELF.SYN gives a sync that ends" request_sync
check "it succeeded (6702)" test "$(last_end)" = 6702
check "wsyncmgr.log shows the documented steps in order" wait_for 10 in_order "$slog" \
    "Wakeup by inbox drop" "Found local sync request file" "Starting Sync" \
    "Performing sync on local request" "Read SUPs from SCF for cs1site.contoso.com" \
    "Found 1 SUPs" "Found active SUP localhost from SCF File." \
    'STATMSG: ID=6701 SEV=I LEV=M SOURCE="SMS Server" COMP="SMS_WSUS_SYNC_MANAGER" SYS=cs1site.contoso.com SITE=CS1' \
    "Synchronizing WSUS server localhost" 'STATMSG: ID=6704 SEV=I' \
    "Synchronizing WSUS server localhost ..." "sync: Starting WSUS synchronization" \
    "Done synchronizing WSUS Server localhost" \
    "Sleeping 2 more seconds for WSUS server sync results to become available" \
    "Set content version of update source {" 'STATMSG: ID=6705 SEV=I' \
    "Synchronizing SMS database with WSUS server localhost ..." \
    "sync: SMS synchronizing categories" \
    "sync: SMS synchronizing categories, processed 26 out of 26 items (100%)" \
    "sync: SMS synchronizing updates" \
    "sync: SMS synchronizing updates, processed 300 out of 300 items (100%)" \
    "Done synchronizing SMS with WSUS Server localhost" \
    "for site CS1 to 1" 'STATMSG: ID=6702 SEV=I' \
    "Sync succeeded. Setting sync alert to canceled state on site CS1" \
    "Updated 326 items in SMS database, new update source content version is 1" \
    "Sync time: 0d00h00m" "Next scheduled sync is a regular sync at" \
    "Waiting 10080 minutes for requests..."
check "status messages 6701 6704 6705 6702 in order" bash -c "grep -q '6701 6704 6705 6702' <<<'$(msgs)'"
check "the request file is gone" wait_for 10 test ! -e "$box/SELF.SYN" -a ! -e "$box/process/SELF.SYN"

# ---- the site database against the catalog wsusd synced ----
gen="$root/catalog"
"$CMSITE" catalog generate --out "$gen" --updates 300 --seed 1 --languages en,de,fr,ja >/dev/null
"$CMSITE" catalog check "$gen" --list >"$root/catalog.txt"
awk '$3 == "Software" || $3 == "Driver" {print $1 " " $2}' "$root/catalog.txt" | sort >"$root/want.txt"
sql "SELECT CI_UniqueID || ' ' || RevisionNumber FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)" | sort >"$root/have.txt"
check "every update of the catalog is a CI at its revision, and nothing else" cmp -s "$root/want.txt" "$root/have.txt"
check "every category is a CI_CategoryInstances row" test "$(sql "SELECT COUNT(*) FROM CI_CategoryInstances")" = "$(grep -c ' Category/' "$root/catalog.txt")"
check "the bundles are CIType_ID 8" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID = 8")" = 8
check "the expired updates are marked" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsExpired = 1")" = 24
check "superseded updates are marked" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsSuperseded = 1")" -gt 0
check "supersedence relations (RelationType 6)" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItemRelations WHERE RelationType = 6")" -ge "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsSuperseded = 1")"
check "bundle relations (RelationType 1)" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItemRelations WHERE RelationType = 1")" -gt 0
check "English titles (the Languages setting is en)" test "$(sql "SELECT COUNT(*) FROM CI_LocalizedProperties WHERE LocaleID = 1033")" = 300
check "no title in a language the site did not ask for" test "$(sql "SELECT COUNT(*) FROM CI_LocalizedProperties WHERE LocaleID <> 1033")" = 0
check "v_UpdateInfo shows titles and KB articles" test "$(sql "SELECT COUNT(*) FROM v_UpdateInfo WHERE Title LIKE '%(KB%' AND ArticleID IS NOT NULL")" -gt 200
check "every update names its update source" test "$(sql "SELECT COUNT(*) FROM CI_CIUpdateSources WHERE MinSourceVersion = 1")" = 300
check "content files with SHA1 hashes" test "$(sql "SELECT COUNT(*) FROM CI_ContentFiles WHERE FileHash LIKE 'SHA1:%'")" = 445
check "category memberships with the vendor" test "$(sql "SELECT COUNT(DISTINCT m.CI_ID) FROM CI_CategoryMemberships m JOIN CI_CategoryInstances c ON c.CategoryInstanceID = m.CategoryInstanceID WHERE c.CategoryTypeName = 'Company'")" = 300
check "no duplicate CI" test "$(sql "SELECT COUNT(*) - COUNT(DISTINCT CI_UniqueID) FROM CI_ConfigurationItems")" = 0

# ---- the content version and what follows from it ----
check "content version 1 in Update_SyncStatus" test "$(version)" = 1
check "... in CI_UpdateSources" test "$(sql "SELECT ContentVersion FROM CI_UpdateSources WHERE SourceSite = 'CS1'")" = 1
check "... and in WSUSServerLocations (only the SUP's row)" test "$(sql "SELECT ServerName || '|' || WSUSURL || '|' || ContentVersion FROM WSUSServerLocations WHERE SiteCode = 'CS1'")" = "localhost|http://localhost:8530|1"
guid=$(sql "SELECT UpdateSource_UniqueID FROM CI_UpdateSources WHERE SourceSite = 'CS1'")
check "smsdbmon dropped $guid.STN for the new version" wait_for 20 log_has "$root/logs/smsdbmon.log" "SND: Dropped $root/inboxes/policypv.box/$guid.STN"
check "v_SUPSyncStatus: last state 6702, success time, no error" test "$(sql "SELECT LastSyncState || '|' || LastSyncErrorCode || '|' || CASE WHEN LastSuccessfulSyncTime IS NULL THEN 'none' ELSE 'set' END || '|' || ContentVersion FROM v_SUPSyncStatus WHERE SiteCode = 'CS1'")" = "6702|0|set|1"

# ---- nothing new upstream: the content version stays ----
stn=$(grep -c "SND: Dropped .*$guid.STN" "$root/logs/smsdbmon.log")
check "a second sync ends" request_sync
check "it succeeded" test "$(last_end)" = 6702
check "it changed nothing" in_order "$slog" "Performing sync on local request" "Updated 0 items in SMS database, new update source content version is 1"
check "the content version stays 1" test "$(version)" = 1
check "no new .STN for an unchanged version" test "$(grep -c "SND: Dropped .*$guid.STN" "$root/logs/smsdbmon.log")" = "$stn"

# ---- SyncNow in the database (the console), then FULL.SYN ----
n=$(count "Sync time")
check "cmsite syncnow" "$CMSITE" syncnow --root "$root"
check "smsdbmon dropped SELF.SYN" wait_for 20 log_has "$root/logs/smsdbmon.log" "SND: Dropped $root/inboxes/wsyncmgr.box/SELF.SYN"
check "... and the sync it asked for ran" wait_for 60 more "Sync time" "$n"
check "FULL.SYN rewrites every update" request_sync FULL.SYN
check "... logged as a full sync" in_order "$slog" "Found local full sync request file" "Full sync requested" "Updated 326 items in SMS database, new update source content version is 2"
check "... and the content version went up" test "$(version)" = 2
check "... with the same items" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)")" = 300

# ---- cmsite sync --wait ----
out=$("$CMSITE" sync --root "$root" --wait --timeout 120 2>&1); rc=$?
check "cmsite sync --wait exits 0 on 6702" test "$rc" -eq 0
check "... printing the phases as they happen" in_order <(echo "$out") "6701 WSUS Synchronization started." "6704 WSUS Synchronization in progress" "sync: Starting WSUS synchronization" "6705 WSUS Synchronization in progress" "sync: SMS synchronizing updates" "6702 WSUS Synchronization done." "Sync time: "
check "... and the content version" grep -q "Sync succeeded. Update source content version is 2." <<<"$out"
if command -v script >/dev/null; then
    tty=$(script -qec "'$CMSITE' sync --root '$root' --wait --timeout 120" /dev/null 2>&1); rc=$?
    check "on a terminal: exit 0" test "$rc" -eq 0
    check "... with a progress bar redrawn in place" grep -qF $'\r\033[K[' <<<"$tty"
    check "... that reaches 100%" grep -qF "100%  SMS synchronizing" <<<"$tty"
fi

# ---- several requests during one sync: one more sync afterwards ----
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 4 >/dev/null
kill -HUP "$(cat "$root/run/wsyncmgr.pid")"
sleep 1
starts=$(count "Starting Sync")
ends=$(count "Sync time")
: >"$box/SELF.SYN"
wait_for 20 log_has "$slog" "Sleeping 4 more seconds"
: >"$box/SELF.SYN"; sleep 0.3; : >"$box/SELF.SYN"; : >"$box/FULL.SYN"
check "the requests during the sync gave one more sync" wait_for 60 more "Sync time" $((ends + 1))
sleep 3
check "... and only one" test "$(count "Starting Sync")" -eq $((starts + 2))
check "... a full one, as one of them asked" in_order "$slog" "Found local full sync request file" "Performing sync on local request" "Full sync requested"
check "no request file is left" test -z "$(ls "$box"/*.SYN "$box"/process/*.SYN 2>/dev/null)"

# ---- the regular schedule ----
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 1 >/dev/null
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Sync Schedule' 1 >/dev/null
kill -HUP "$(cat "$root/run/wsyncmgr.pid")"
check "a scheduled sync runs within the minute" wait_for 90 log_has "$slog" "Wakeup for scheduled regular sync"
check "... logged as in the documents" in_order "$slog" "Wakeup for scheduled regular sync" "Starting Sync" "Performing sync on regular schedule"
check "... and succeeds" wait_for 60 bash -c "grep -q 'Sync succeeded' <(sed -n '/Performing sync on regular schedule/,\$p' '$slog')"

check "cmsite stop" "$CMSITE" stop --root "$root"
check "wsyncmgr stopped cleanly" log_has "$slog" "SMS_WSUS_SYNC_MANAGER stopped."
done_tests
