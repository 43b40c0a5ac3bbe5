#!/bin/bash
# dbaway-pg.sh - the database going away in the middle of a policy write,
# on a real PostgreSQL server (run under tests/with-postgres.sh): policypv is
# held inside its transaction (the test locks PolicyAssignment after the
# Policy row is written), the server stops, and nothing half-written may
# remain: the version, the bodies and the hashes agree, the .STN goes back
# to the box, policypv and smsmp keep running, reconnect when the server is
# back, and the policy goes up by exactly one.  Then the server away at
# start, with a notification waiting.
. "$(dirname "$0")/pvlib.sh"

if [ -z "${CM_TEST_DB:-}" ]; then
    echo "dbaway-pg.sh runs under tests/with-postgres.sh"
    exit 1
fi
check "cmsite init" init_site
guid=$(source_id)
port=$(free_port)
"$CMSITE" config --root "$root" SMS_MP_CONTROL_MANAGER 'Location Port' "$port" >/dev/null
url="http://127.0.0.1:$port/ccm_system/request"
start smsdbmon "$SMSDBMON" --root "$root"
start policypv "$POLICYPV" --root "$root"
start smsmp "$SMSMP" --root "$root"
bump
check "baseline: policy 1.00" wait_for 30 version_is 1.00
check "quiet" wait_for 10 quiet
check "smsmp listens" wait_for 20 log_has "$mplog" "MP LM: Listening for WSUS location requests"

# --- the server stops while policypv is in the middle of its write -------------
mkfifo "$root/lockin"
psql -X -q -h 127.0.0.1 -p "$(pgport)" -U cm -d site <"$root/lockin" >/dev/null 2>&1 &
lockpid=$!
exec 7>"$root/lockin"
echo "BEGIN; LOCK TABLE PolicyAssignment IN EXCLUSIVE MODE;" >&7
locked() { [ "$(sql "SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'policyassignment' AND l.mode = 'ExclusiveLock' AND l.granted")" = 1 ]; }
check "the test holds the lock" wait_for 10 locked
bump
waiting() { [ "$(sql "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%PolicyAssignment%'")" -ge 1 ]; }
check "policypv waits in the middle of its write" wait_for 20 waiting
"$CM_TEST_PGCTL" stop
exec 7>&-
wait $lockpid 2>/dev/null
check "policypv notices the lost connection" wait_for 20 log_has "$pvlog" "Lost the connection to the site database"
check "the failed write is logged" log_has "$pvlog" "ERROR: Failed to update the UpdateSource policy of site CS1:"
check "... with status message 8301 (its line: the rows cannot be stored now)" log_has "$pvlog" "STATMSG: ID=8301 SEV=E"
check "policypv keeps running" alive policypv
check "the .STN went back to the box" test -f "$box/$guid.STN"
check "nothing left in process/" test "$(nfiles "$box/process")" = 0
rm -f "$root/body"
check "smsmp answers 503 while the database is away" test "$(curl -s -o "$root/body" -w '%{http_code}' --data-binary "<WSUSLocationRequest><Content ID=\"$guid\" Version=\"2\"/></WSUSLocationRequest>" "$url")" = 503
check "smsmp logs the outage" wait_for 5 log_has "$mplog" "ERROR: MP LM: MP_GetWSUSServerLocations failed:"
check "... with status message 8342" log_has "$mplog" "STATMSG: ID=8342 SEV=E"
check "smsmp keeps running" alive smsmp

"$CM_TEST_PGCTL" start
check "policypv reconnects" wait_for 60 log_has "$pvlog" "Reconnected to the site database"
check "policy 2.00 once the server is back" wait_for 60 version_is 2.00
check "quiet" wait_for 30 quiet
check "exactly one increment" version_is 2.00
check "rows agree at 2.00" rows_agree 2.00
check "the body carries content version 2" body_has_cv 2
answers() { curl -s --data-binary "<WSUSLocationRequest><Content ID=\"$guid\" Version=\"2\"/></WSUSLocationRequest>" "$url" | grep -qF 'Version="2"/>'; }
check "smsmp answers again" wait_for 30 answers
check "smsmp says the database is back" log_has "$mplog" "MP LM: the site database answers again."

# --- the server away at start, with a notification waiting --------------------------
stop policypv
"$CM_TEST_PGCTL" stop
start policypv "$POLICYPV" --root "$root"
check "away at start is logged" wait_for 20 bash -c "grep -c 'Cannot connect to the site database' '$pvlog' | grep -qv '^0$'"
: >"$box/$guid.STN"
check "policypv keeps running" alive policypv
check "the notification waits for the database" test -f "$box/$guid.STN"
"$CM_TEST_PGCTL" start
check "policypv connects" wait_for 60 bash -c "[ \$(grep -c 'Connected to the site database' '$pvlog') -ge 2 ]"
check "the waiting notification is handled" wait_for 30 quiet
check "no change, no new version" version_is 2.00
check "rows agree at 2.00" rows_agree 2.00
check "nothing on the daemons' standard error" test ! -s "$root/policypv.stderr" -a ! -s "$root/smsmp.stderr"
done_tests
