#!/bin/bash
# faults-pg.sh - end to end on a real PostgreSQL server (run under
# tests/with-postgres.sh): the server away at start and going away mid-run;
# smsdbmon keeps running, reconnects, and no notification is lost.
. "$(dirname "$0")/lib.sh"

check "cmsite init on PostgreSQL" init_site
log="$root/logs/smsdbmon.log"

"$CM_TEST_PGCTL" stop
"$SMSDBMON" --root "$root" 2>/dev/null &
dpid=$!
check "server away at start is logged" wait_for 15 log_has "$log" "Cannot connect to the site database"
check "smsdbmon keeps running" kill -0 $dpid
"$CM_TEST_PGCTL" start
check "connects when the server starts" wait_for 30 log_has "$log" "Connected to the site database"
"$CMSITE" syncnow --root "$root" >/dev/null
check "SELF.SYN dropped" wait_for 10 test -f "$root/inboxes/wsyncmgr.box/SELF.SYN"
rm -f "$root/inboxes/wsyncmgr.box/SELF.SYN"

# Mid-run: the server stops, smsdbmon notices, reconnects when it is back.
"$CM_TEST_PGCTL" stop
check "lost connection logged" wait_for 15 log_has "$log" "Lost the connection to the site database"
check "smsdbmon still running" kill -0 $dpid
"$CM_TEST_PGCTL" start
check "reconnected" wait_for 40 log_has "$log" "Reconnected to the site database"
"$CMSITE" syncnow --root "$root" >/dev/null
check "SELF.SYN dropped after the server came back" wait_for 10 test -f "$root/inboxes/wsyncmgr.box/SELF.SYN"
msgs=$("$CMSITE" statmsg --root "$root" --id 8102)
check "reconnection status message stored" grep -q "8102" <<<"$msgs"

kill -TERM $dpid
wait $dpid
check "smsdbmon stops cleanly" test $? -eq 0
done_tests
