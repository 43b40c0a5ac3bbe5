#!/bin/bash
# spool-pg.sh - status messages are not lost while the site database is
# away (run under tests/with-postgres.sh): smsdbmon's messages of the outage
# and of a stop during it wait as .SVF files in statmgr.box/statmsgs, are
# stored at the next start (oldest first, once each), a file put back after
# its commit is not stored twice, and a file that cannot be read back goes
# to corrupt/ with one log line while the others are stored.
. "$(dirname "$0")/lib.sh"

if [ -z "${CM_TEST_DB:-}" ]; then
    echo "spool-pg.sh runs under tests/with-postgres.sh"
    exit 1
fi
check "cmsite init on PostgreSQL" init_site
log="$root/logs/smsdbmon.log"
spool="$root/inboxes/statmgr.box/statmsgs"
comp=SMS_DATABASE_NOTIFICATION_MONITOR
port=$(sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$CM_TEST_DB")
sql() { psql -X -q -At -h 127.0.0.1 -p "$port" -U cm -d site -v ON_ERROR_STOP=1 -c "$1"; }
stored() { sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = '$comp' AND MessageID = $1"; }
nsvf() { find "$spool" -maxdepth 1 -name '*.SVF' -printf x | wc -c; }

"$SMSDBMON" --root "$root" 2>>"$root/stderr" &
dpid=$!
check "smsdbmon connects" wait_for 30 log_has "$log" "Connected to the site database"
check "500 stored at start" wait_for 10 test "$(stored 500)" = 1
check "the spool is empty" test "$(nsvf)" = 0

# --- the server goes away: 8101 and, at the stop, 502 wait in the spool -------
"$CM_TEST_PGCTL" stop
check "lost connection logged" wait_for 15 log_has "$log" "Lost the connection to the site database"
check "8101 is in the log" wait_for 10 log_has "$log" "STATMSG: ID=8101 SEV=W"
kill -TERM $dpid
wait $dpid
check "smsdbmon stops cleanly while the server is away" test $? -eq 0
check "502 is in the log" log_has "$log" "STATMSG: ID=502 SEV=I"
check "two messages spooled (8101, 502)" test "$(nsvf)" = 2
f502=$(grep -l '^id=502$' "$spool"/*.SVF)
check "the 502 file names its component" test -n "$f502" -a "$(basename "$f502" | cut -d. -f1)" = "$comp"
cp "$f502" "$root/saved.SVF"
# A file that is not ours to read back, beside the good ones.
printf 'SVF 1\nid=abc\n' >"$spool/$comp.1.1.1.SVF"
printf 'SVF 1\nid=1\n' >"$spool/OTHER_COMPONENT.1.1.1.SVF"

# --- the server is back: the next start stores them ----------------------------
"$CM_TEST_PGCTL" start
"$SMSDBMON" --root "$root" 2>>"$root/stderr" &
dpid=$!
check "smsdbmon connects again" wait_for 40 log_has "$log" "Stored 2 status message(s) that waited in statmgr.box/statmsgs"
check "the unreadable file is logged once" test "$(grep -c "ERROR: Moved 1 unreadable status message file(s) of $comp" "$log")" = 1
check "... and moved to corrupt/" test -f "$spool/corrupt/$comp.1.1.1.SVF"
check "another component's file is left to it" test -f "$spool/OTHER_COMPONENT.1.1.1.SVF"
check "8101 stored once" test "$(stored 8101)" = 1
check "502 stored once" test "$(stored 502)" = 1
check "8101 keeps its insertion string (the driver's error)" test -n "$(sql "SELECT InsStrValue FROM StatusMessageInsStrs s JOIN StatusMessages m ON m.RecordID = s.RecordID WHERE m.Component = '$comp' AND m.MessageID = 8101 AND s.InsStrIndex = 0")"
check "stored in event order (8101 before 502 before the new 500)" test "$(sql "SELECT string_agg(MessageID::text, ',' ORDER BY RecordID) FROM StatusMessages WHERE Component = '$comp'")" = "500,8101,502,500"
check "the 502 keeps its process and time" test "$(sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = '$comp' AND MessageID = 502 AND ProcessID = $(sed -n 's/^pid=//p' "$root/saved.SVF")")" = 1
check "only the other component's file is left" test "$(nsvf)" = 1

# --- a file put back after its commit is not stored twice ----------------------
kill -TERM $dpid
wait $dpid
cp "$root/saved.SVF" "$f502"
"$SMSDBMON" --root "$root" 2>>"$root/stderr" &
dpid=$!
starts() { [ "$(grep -c "STATMSG: ID=500 " "$log")" = 3 ]; }
check "smsdbmon starts a third time" wait_for 60 starts
check "the file put back is gone (the replay comes before the 500)" wait_for 30 test ! -e "$f502" -a "$(nsvf)" = 1
check "502 still stored once from the first run" test "$(sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = '$comp' AND MessageID = 502 AND ProcessID = $(sed -n 's/^pid=//p' "$root/saved.SVF")")" = 1
kill -TERM $dpid
wait $dpid
check "nothing on standard error" test ! -s "$root/stderr"
done_tests
