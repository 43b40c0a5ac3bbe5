#!/bin/bash
# e2e_failures.sh - every documented sync failure (seed 002, seed 004
# "Troubleshooting") from its real condition, with the real daemons: the SUP
# not configured by WCM (its name does not resolve), the SUP refusing the
# connection (wsusd stopped) and the retry timer that recovers, HTTP 401 (a
# connection account the SUP does not accept), the SUP's upstream name not
# resolving and a parent SUP whose DssAuthWebService answers 401 (both from
# wsusd's own failed sync, read through the administration API), and a SUP
# already synchronizing (wait for it, then sync).  Each failure: "Sync
# failed: <message>. Source: <source>", 6703 with ISTR0 = source and ISTR1 =
# message, the retry lines, v_SUPSyncStatus, and nothing half-written.
# Runs on SQLite, or on PostgreSQL under tests/with-postgres.sh.
. "$(dirname "$0")/wsmlib.sh"

setup_site
PORT=$WPORT
SRC_CREATE="Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer"
SRC_WSUS="Microsoft.SystemsManagementServer.SoftwareUpdatesManagement.WSyncAction.WSyncAction.SyncWSUS"

# config_has TEXT: the SUP's configuration (ExecuteSPGetConfiguration) contains TEXT.
config_has() { api "$PORT" ExecuteSPGetConfiguration "" 'wsusadmin:P@ssw0rd' | grep -qF -- "$1"; }

# expect_failure WHAT MESSAGE SOURCE RETRY-MINUTES VERSION: the last sync failed with exactly this message and source.
expect_failure() {
    local stop=.
    [ "${2: -1}" = . ] && stop=
    check "$1: 6703" test "$(last_end)" = 6703
    check "$1: the failure line" wait_for 10 in_order "$slog" "Performing sync on" "Sync failed: $2$stop Source: $3"
    check "$1: 6703 ISTR0 is the source" test "$(istr 6703 0)" = "$3"
    check "$1: 6703 ISTR1 is the message" test "$(istr 6703 1)" = "$2"
    check "$1: the retry lines" wait_for 10 in_order "$slog" "Sync failed: $2" \
        "STATMSG: ID=6703 SEV=E LEV=M SOURCE=\"SMS Server\" COMP=\"SMS_WSUS_SYNC_MANAGER\"" \
        "Sync failed. Will retry in $4 minutes" "Sync time: 0d00h" \
        "Next scheduled sync is a retry sync at" "Waiting $4 minutes for requests..."
    check "$1: v_SUPSyncStatus shows it" test "$(sql "SELECT LastSyncState || '|' || LastSyncErrorCode || '|' || LastSyncErrorSource FROM v_SUPSyncStatus WHERE SiteCode = 'CS1'")" = "6703|-2147467259|$3"
    check "$1: the error message in v_SUPSyncStatus" test "$(sql "SELECT LastSyncErrorMessage FROM v_SUPSyncStatus WHERE SiteCode = 'CS1'")" = "$2"
    check "$1: the content version did not move" test "$(version)" = "$5"
}

# ---- the SUP is not configured: WCM cannot reach a name that does not resolve ----
sql "UPDATE SoftwareUpdatePoints SET ServerName = 'CS1SITE.CONTOSO.INVALID' WHERE SiteCode = 'CS1'"
wcm_kick
check "WCM fails to configure the SUP (state 3)" wait_for 30 wcm_state_is 3
out=$("$CMSITE" sync --root "$root" --wait --timeout 120 2>&1); rc=$?
check "cmsite sync --wait exits 1 on 6703" test "$rc" -eq 1
check "... with the 6703 message" grep -qF "Sync failed: WSUS server not configured. Please refer to WCM.log for configuration error details. Source: CWSyncMgr::DoSync" <<<"$out"
expect_failure "not configured" "WSUS server not configured. Please refer to WCM.log for configuration error details" "CWSyncMgr::DoSync" 60 0
check "not configured: found the SUP, then 6701, then the failure" in_order "$slog" \
    "Found active SUP CS1SITE.CONTOSO.INVALID from SCF File." "STATMSG: ID=6701" \
    "Sync failed: WSUS server not configured"
check "not configured: no WSUS phase was attempted" bash -c "! sed -n '/Found active SUP CS1SITE.CONTOSO.INVALID/,\$p' '$slog' | grep -q 'STATMSG: ID=6704'"
msg=$("$CMSITE" statmsg --root "$root" --id 6703)
check "cmsite statmsg renders 6703 with message and source" grep -qF "Message: WSUS server not configured" <<<"$msg"

# ---- recovery once WCM has configured the SUP ----
sql "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost' WHERE SiteCode = 'CS1'"
wcm_kick
check "WCM configures the SUP again (state 2)" wait_for 30 wcm_state_is 2
check "the next sync ends" request_sync
check "... and succeeds" test "$(last_end)" = 6702
check "... with content version 1" test "$(version)" = 1
check "v_SUPSyncStatus error cleared" test "$(sql "SELECT LastSyncState || '|' || LastSyncErrorCode || '|' || COALESCE(LastSyncErrorMessage, 'none') FROM v_SUPSyncStatus WHERE SiteCode = 'CS1'")" = "6702|0|none"

# ---- the SUP refuses the connection; the retry timer (1 minute) brings the sync back ----
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Retry Interval' 1 >/dev/null
kill -HUP "${PIDS[wsyncmgr]}"
sleep 1
stop wsusd
check "with wsusd stopped the sync ends" request_sync
expect_failure "connection refused" "Unable to connect to the remote server" "$SRC_CREATE" 1 1
check "connection refused: after 6704" in_order "$slog" "Synchronizing WSUS server localhost" "STATMSG: ID=6704" "Sync failed: Unable to connect to the remote server"
start_wsusd wsusd "$root" "$PORT"
check "the retry sync runs by itself within the minute" wait_for 100 log_has "$slog" "Wakeup for scheduled retry sync"
check "... logged as a retry" in_order "$slog" "Wakeup for scheduled retry sync" "Starting Sync" "Performing sync on retry schedule"
check "... and succeeds" wait_for 60 bash -c "grep -q 'Sync succeeded' <(sed -n '/Performing sync on retry schedule/,\$p' '$slog')"
check "... and the next sync is a regular one again" wait_for 10 in_order "$slog" "Performing sync on retry schedule" "Next scheduled sync is a regular sync at"
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Retry Interval' 60 >/dev/null
kill -HUP "${PIDS[wsyncmgr]}"

# ---- HTTP 401: the SUP now wants an account the site does not send ----
printf 'P@ssw0rd\n' | "$WSUSD" --root "$root" --set-account 'wsusadmin' >/dev/null 2>&1
check "wsusd wants the account" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/ApiRemoting30/WebService.asmx")" = 401
check "with a wrong account the sync ends" request_sync
expect_failure "401" "The request failed with HTTP status 401: Unauthorized" "$SRC_CREATE" 60 1
sql "UPDATE SoftwareUpdatePoints SET ConnectionAccount = 'wsusadmin', ConnectionPassword = 'P@ssw0rd' WHERE SiteCode = 'CS1'"
check "with the right account the sync ends" request_sync
check "... and succeeds" test "$(last_end)" = 6702

# ---- the SUP is already synchronizing (started in the WSUS console): wait, then sync ----
"$WSUSD" --root "$root" --set 'MUUrl=generated:?updates=20000&seed=2&languages=en' >/dev/null 2>&1
api "$PORT" StartSubscriptionManually "" 'wsusadmin:P@ssw0rd' >/dev/null
check "the SUP is synchronizing" wait_for 10 log_has "$root/logs/wsusd.log" "(20000 updates, seed 2"
check "a sync requested meanwhile ends" request_sync
check "... and succeeds" test "$(last_end)" = 6702
check "... after waiting for the SUP's own sync" in_order "$slog" "WSUS server localhost is already synchronizing. Waiting up to 60 minutes" "WSUS server localhost finished the synchronization it was running" "sync: Starting WSUS synchronization"
check "... with the 20000 new updates in the site database" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)")" = 20300
check "... and a new content version" test "$(version)" = 2

# ---- the SUP cannot resolve its upstream server ----
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Sync Source' UpstreamServer >/dev/null
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Upstream Server' upstream.contoso.invalid >/dev/null
wcm_kick
check "WCM points the SUP at upstream.contoso.invalid" wait_for 30 config_has upstream.contoso.invalid
wait_for 30 wcm_state_is 2
check "with an upstream that does not resolve the sync ends" request_sync
expect_failure "upstream not resolved" "UssCommunicationError: WebException: The remote name could not be resolved: 'upstream.contoso.invalid'" "$SRC_WSUS" 60 2
check "upstream not resolved: after the WSUS sync started" in_order "$slog" "STATMSG: ID=6704" "Synchronizing WSUS server localhost ..." "sync: Starting WSUS synchronization" "Sync failed: UssCommunicationError"

# ---- the parent's DssAuthWebService answers 401 ----
UP=$(free_port)
mkdir -p "$root/upstream"
start_wsusd upstream "$root/upstream" "$UP" || bad "the upstream wsusd serves"
"$WSUSD" --root "$root/upstream" --set DssAuthRequiresAccount=1 >/dev/null 2>&1
printf 'secret\n' | "$WSUSD" --root "$root/upstream" --set-account 'CONTOSO\parent' >/dev/null 2>&1
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Upstream Server' "127.0.0.1:$UP" >/dev/null
wcm_kick
check "WCM points the SUP at the parent SUP" wait_for 30 config_has "<ServerPortNumber>$UP<"
wait_for 30 wcm_state_is 2
check "with a parent refusing DssAuthWebService the sync ends" request_sync
expect_failure "DssAuth 401" "DssAuthenticationError: WebException: The request failed with HTTP status 401: Unauthorized." "$SRC_WSUS" 60 2

# ---- nothing half-written by any of the failures ----
check "no duplicate CI" test "$(sql "SELECT COUNT(*) - COUNT(DISTINCT CI_UniqueID) FROM CI_ConfigurationItems")" = 0
check "the three tables agree on the content version" test "$(sql "SELECT COUNT(DISTINCT v) FROM (SELECT ContentVersion AS v FROM Update_SyncStatus WHERE SiteCode = 'CS1' UNION ALL SELECT ContentVersion FROM CI_UpdateSources WHERE SourceSite = 'CS1' UNION ALL SELECT ContentVersion FROM WSUSServerLocations WHERE SiteCode = 'CS1') t")" = 1
check "every status message of a sync is stored" test "$(sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID = 6701")" = "$(syncs_done)"
wsm_done
