#!/bin/bash
# syncnow.sh - end to end: cmsite init and start in a temporary root, then
# cmsite syncnow, and SELF.SYN must appear in wsyncmgr.box with the
# documented smsdbmon.log lines; also the supervisor's restart of a killed
# daemon, the refusal of a second smsdbmon, status, statmsg and a clean stop.
# Runs on SQLite, or on PostgreSQL under tests/with-postgres.sh.
. "$(dirname "$0")/lib.sh"

check "cmsite init" init_site
check "init again on an existing site is harmless" init_site
check "site.ini written" test -f "$root/site.ini"
check "inbox tree created" test -d "$root/inboxes/auth/statesys.box/incoming/high"
# Only smsdbmon: with wsyncmgr running, SELF.SYN would be taken before we look.
check "cmsite start" "$CMSITE" start --root "$root" --only smsdbmon
log="$root/logs/smsdbmon.log"
check "smsdbmon connected" wait_for 20 log_has "$log" "Connected to the site database"
check "smsdbmon log framing" log_has "$log" '$$<SMS_DATABASE_NOTIFICATION_MONITOR><'

check "cmsite syncnow" "$CMSITE" syncnow --root "$root"
check "SELF.SYN dropped in wsyncmgr.box" wait_for 10 test -f "$root/inboxes/wsyncmgr.box/SELF.SYN"
check "SELF.SYN is zero bytes" test ! -s "$root/inboxes/wsyncmgr.box/SELF.SYN"
check "RCV line" log_has "$log" "RCV: UPDATE on Update_SyncStatus for SyncNotif_WSyncMgr [SELF ]["
check "SND line" log_has "$log" "SND: Dropped $root/inboxes/wsyncmgr.box/SELF.SYN ["

"$CMSITE" syncnow --root "$root" --full >/dev/null
check "FULL.SYN dropped for syncnow --full" wait_for 10 test -f "$root/inboxes/wsyncmgr.box/FULL.SYN"

out=$("$SMSDBMON" --root "$root" 2>&1); rc=$?
check "a second smsdbmon refuses to start" test "$rc" -eq 1
check "with a clear message" grep -q "already running" <<<"$out"

status=$("$CMSITE" status --root "$root")
check "status shows smsdbmon running" grep -q "smsdbmon .*running (pid" <<<"$status"
check "status shows the inbox backlog" grep -q "wsyncmgr.box *2" <<<"$status"
check "status shows the component started message" grep -q "This component started." <<<"$status"
msgs=$("$CMSITE" statmsg --root "$root" --component SMS_DATABASE_NOTIFICATION_MONITOR)
check "statmsg lists 500 for smsdbmon" grep -q "SMS_DATABASE_NOTIFICATION_MONITOR .*500 .*This component started." <<<"$msgs"

# The supervisor restarts a daemon that dies.
pid=$(cat "$root/run/smsdbmon.pid")
kill -9 "$pid"
check "killed smsdbmon is restarted" wait_for 15 bash -c "p=\$(cat '$root/run/smsdbmon.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && kill -0 \$p 2>/dev/null"
check "restart logged" log_has "$root/logs/smsexec.log" "smsdbmon was ended by signal 9"
rm -f "$root/inboxes/wsyncmgr.box/SELF.SYN"
"$CMSITE" syncnow --root "$root" >/dev/null
check "SELF.SYN again after the restart" wait_for 15 test -f "$root/inboxes/wsyncmgr.box/SELF.SYN"

pid=$(cat "$root/run/smsdbmon.pid")
sup=$(cat "$root/run/cmsite.pid")
check "cmsite stop" "$CMSITE" stop --root "$root"
check "smsdbmon stopped" wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
check "supervisor stopped" wait_for 10 bash -c "! kill -0 $sup 2>/dev/null"
check "pid files removed" test ! -e "$root/run/smsdbmon.pid" -a ! -e "$root/run/cmsite.pid"
check "stop logged" log_has "$log" "SMS_DATABASE_NOTIFICATION_MONITOR stopped."
msgs=$("$CMSITE" statmsg --root "$root" --id 502)
check "component stopped status message" grep -q "This component stopped." <<<"$msgs"
done_tests
