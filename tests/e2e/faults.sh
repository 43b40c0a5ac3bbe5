#!/bin/bash
# faults.sh - end to end on SQLite: a corrupt site.ini, a database that is
# unreachable at start, an inbox folder removed while running, all with a
# clear message and nothing lost.
. "$(dirname "$0")/lib.sh"

check "cmsite init" init_site
log="$root/logs/smsdbmon.log"

# A corrupt site.ini: the daemon and cmsite refuse with the line at fault.
cp "$root/site.ini" "$root/site.ini.good"
printf '[site]\ncode = CS1\nserver = x\nnot an ini line\n' >"$root/site.ini"
out=$("$SMSDBMON" --root "$root" 2>&1); rc=$?
check "smsdbmon refuses a corrupt site.ini (exit 2)" test "$rc" -eq 2
check "naming the line" grep -q "site.ini line 4" <<<"$out"
out=$("$CMSITE" status --root "$root" 2>&1); rc=$?
check "cmsite status refuses it too (exit 2)" test "$rc" -eq 2
check "cmsite names the line" grep -q "site.ini line 4" <<<"$out"
cp "$root/site.ini.good" "$root/site.ini"

# The database unreachable at start: smsdbmon keeps running and retries.
mv "$root/data" "$root/data.away"
"$SMSDBMON" --root "$root" 2>/dev/null &
dpid=$!
check "unreachable database logged" wait_for 10 log_has "$log" "Cannot connect to the site database"
check "smsdbmon keeps running" kill -0 $dpid
mv "$root/data.away" "$root/data"
check "connects once the database is back" wait_for 20 log_has "$log" "Connected to the site database"
"$CMSITE" syncnow --root "$root" >/dev/null
check "SELF.SYN dropped after the late connection" wait_for 10 test -f "$root/inboxes/wsyncmgr.box/SELF.SYN"

# An inbox folder removed behind smsdbmon's back is made again; no notification is lost.
rm -rf "$root/inboxes/wsyncmgr.box"
"$CMSITE" syncnow --root "$root" >/dev/null
check "box recreated and SELF.SYN dropped" wait_for 10 test -f "$root/inboxes/wsyncmgr.box/SELF.SYN"
check "recreation logged" log_has "$log" "was missing and has been created again"

kill -TERM $dpid
wait $dpid
check "smsdbmon stops cleanly on SIGTERM (exit 0)" test $? -eq 0
check "pid file removed" test ! -e "$root/run/smsdbmon.pid"
done_tests
