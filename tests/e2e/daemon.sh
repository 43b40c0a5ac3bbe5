#!/bin/bash
# daemon.sh - the shared daemon loop with a real process (tests/daemon/
# labtestd.c): start-up recovery of tmp/ and process/, watched inbox with
# bounded batches, quarantine of bad files and of files a reader must not
# take (symlink, hard link, wrong name), settings re-read on SIGHUP and on
# the timer, pid-file locking, and a clean stop on SIGTERM and SIGINT.
. "$(dirname "$0")/lib.sh"

check "cmsite init" init_site
box="$root/inboxes/auth/statesys.box/incoming"
proc="$root/inboxes/auth/statesys.box/process"
corrupt="$root/inboxes/auth/statesys.box/corrupt"
log="$root/logs/labtestd.log"

# Left behind by a "crash": a claimed file and a half-written temp file.
echo "claimed before the crash" >"$proc/A.SMX"
echo "half written" >"$box/tmp/leftover"

"$LABTESTD" --root "$root" 2>/dev/null &
dpid=$!
check "started and connected" wait_for 20 log_has "$log" "Connected to the site database"
check "recovery logged" wait_for 5 log_has "$log" "Recovered 1 file(s)"
check "recovered file processed" wait_for 5 log_has "$log" "Processed file A.SMX"
check "tmp/ emptied at start" test ! -e "$box/tmp/leftover"
check "process/ emptied" test -z "$(ls -A "$proc")"

# 50 files land at once (renamed in, as a writer must): bounded batches drain them all.
stage="$root/stage"; mkdir -p "$stage"
for i in $(seq 1 50); do echo "message $i" >"$stage/B$i.SMX"; done
# mv may complain about a file the daemon already took; all 50 must still be processed.
mv "$stage"/*.SMX "$box"/ 2>/dev/null
check "all 50 files processed" wait_for 20 bash -c "[ \$(grep -c 'Processed file B' '$log') -eq 50 ]"
check "box drained" wait_for 5 bash -c "[ -z \"\$(find '$box' -maxdepth 1 -type f)\" ]"

# Bad content, a symlink, a hard link, a wrong name: quarantined once, the target untouched.
# Written elsewhere and renamed in: read half-written (Settle Time is 0 here), it is not bad yet.
echo "BAD content" >"$stage/BAD.SMX" && mv "$stage/BAD.SMX" "$box/"
echo "precious" >"$root/target.txt"
ln -s "$root/target.txt" "$box/LINK.SMX"
echo "two names" >"$root/hard.txt"; ln "$root/hard.txt" "$box/HARD.SMX"
echo "not a state message" >"$box/notes.txt"
echo "good" >"$box/GOOD.SMX"
check "bad file quarantined" wait_for 10 test -f "$corrupt/BAD.SMX"
check "symlink quarantined" wait_for 10 test -L "$corrupt/LINK.SMX"
check "hard link quarantined" wait_for 10 test -f "$corrupt/HARD.SMX"
check "wrong name quarantined" wait_for 10 test -f "$corrupt/notes.txt"
check "symlink target untouched" grep -q precious "$root/target.txt"
check "good file beside them processed" wait_for 10 log_has "$log" "Processed file GOOD.SMX"
check "bad file logged once" test "$(grep -c 'Bad file BAD.SMX' "$log")" -eq 1
check "status message for the bad file" wait_for 5 bash -c "\"$CMSITE\" statmsg --root '$root' --id 99991 | grep -q 99991"

# Settings: verbose logging switched on in the database, picked up on SIGHUP.
check "no tick while verbose is off" test "$(grep -c '^tick ' "$log")" -eq 0
"$CMSITE" config --root "$root" SMS_LAB_TEST_COMPONENT "Verbose Logging" 1 >/dev/null
"$CMSITE" config --root "$root" SMS_LAB_TEST_COMPONENT "Tick Interval" 100 >/dev/null
kill -HUP $dpid
check "SIGHUP logged" wait_for 5 log_has "$log" "Received SIGHUP"
check "changed settings reported" wait_for 5 log_has "$log" "Settings now: Tick Interval 100"
check "verbose ticks appear" wait_for 5 bash -c "grep -q '^tick ' '$log'"
# And without a signal: the periodic re-read turns verbose off again.
"$CMSITE" config --root "$root" SMS_LAB_TEST_COMPONENT "Verbose Logging" 0 >/dev/null
check "re-read without a signal" wait_for 15 bash -c "[ \$(grep -c 'Component settings changed' '$log') -ge 1 ]"
n1=$(grep -c '^tick ' "$log"); sleep 1; n2=$(grep -c '^tick ' "$log")
check "ticks stop when verbose is off" test "$n1" -eq "$n2"

out=$("$LABTESTD" --root "$root" 2>&1); rc=$?
check "second instance refused" test "$rc" -eq 1
check "with the pid of the first" grep -q "pid $dpid" <<<"$out"

kill -TERM $dpid; wait $dpid
check "SIGTERM stops cleanly (exit 0)" test $? -eq 0
check "pid file removed" test ! -e "$root/run/labtestd.pid"

"$LABTESTD" --root "$root" 2>/dev/null &
dpid=$!
check "restarted" wait_for 20 bash -c "[ \$(grep -c 'Connected to the site database' '$log') -eq 2 ]"
kill -INT $dpid; wait $dpid
check "SIGINT stops cleanly (exit 0)" test $? -eq 0
out=$("$LABTESTD" --bogus 2>&1); rc=$?
check "bad arguments: exit 2 with usage" test "$rc" -eq 2
done_tests
