#!/bin/bash
# e2e.sh - the state system end to end with the real statesys, on SQLite or
# (under tests/with-postgres.sh) PostgreSQL: the state message body quoted
# in seed 004 dropped by hand (the StateSys.log lines of the document, the
# rows it sets), files written by `cmsite simulate-clients` into the three
# priority boxes (normal, hostile: gaps, replays, earlier times), a message
# for an update the site learns only later, the summarization tasks run
# with `cmsite summarize`, and the heartbeat and task status messages.
. "$(dirname "$0")/sslib.sh"

SEED_UPDATE=505fda07-b4f3-45fb-83d9-8642554e2773
SEED_CLIENT=GUID:A1006D0E-CF56-41D1-A006-6330EFC39381

check "cmsite init" init_site
setting "Verbose Logging" 1
setting "Settle Time" 1
sql "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID, RevisionNumber) VALUES ('$SEED_UPDATE', 1, 200)"
start_statesys
check "statesys started and connected" wait_for 30 log_has "$sslog" "Connected to the site database"
check "heartbeat status message at start" wait_for 10 bash -c "\"$CMSITE\" statmsg --root '$root' --id 8207 | grep -q 8207"

# --- The document's state message, dropped as MP_Relay drops it. -------------------------
utf16 "$data/seed004-body.xml" | drop YCE2H3VD.SMX
check "seed message applied" wait_for 30 is "SELECT COUNT(*) FROM Update_ComplianceStatus" 1
for line in "Inbox notification triggered, pause for 1 seconds...." \
    "Found new state messages to process, starting processing thread" \
    'Thread "State Message Processing Thread #0" id:' \
    "total chucks loaded (1)" \
    "CMessageProcessor - Processing file: YCE2H3VD.SMX" \
    "CMessageProcessor - Processed 1 records with 0 invalid records." \
    "CMessageProcessor - Processed 1 message files in this batch, with 0 bad files." \
    "total chucks loaded (0)"; do
    check "log: $line" wait_for 10 log_has "$sslog" "$line"
done
check "log: thread #0 terminated normally" wait_for 10 bash -c \
    "grep -q 'Thread \"State Message Processing Thread #0\" id:[0-9]* terminated normally' '$sslog'"
check "client discovered (v_R_System)" is \
    "SELECT Netbios_Name0 FROM v_R_System WHERE SMS_Unique_Identifier0 = '$SEED_CLIENT'" PS1WIN7X64
check "update required on that client (v_Update_ComplianceStatus)" is \
    "SELECT cs.Status FROM v_Update_ComplianceStatus cs JOIN CI_ConfigurationItems ci ON ci.CI_ID = cs.CI_ID WHERE ci.CI_UniqueID = '$SEED_UPDATE'" 2
check "state name Update is required" is \
    "SELECT sn.StateName FROM v_Update_ComplianceStatus cs JOIN v_StateNames sn ON sn.TopicType = 500 AND sn.StateID = cs.Status" \
    "$(sql "SELECT StateName FROM SR_StateNames WHERE TopicType = 500 AND StateID = 2")"
check "serial number 232 recorded" is "SELECT LastSerialNumber FROM SR_ClientSerials" 232
check "file deleted after the commit" drained

# The same file again (a relay resending): nothing changes but the duplicate count.
utf16 "$data/seed004-body.xml" | drop RESENT01.SMX
check "replay counted as duplicate" wait_for 30 is "SELECT DuplicateMessages FROM SR_ClientMessageCounts" 1
check "replay changed nothing" is "SELECT COUNT(*) || '/' || MAX(Status) FROM Update_ComplianceStatus" "1/2"

# --- Clients simulated: normal, high and low priority. ------------------------------------
out=$("$CMSITE" simulate-clients --root "$root" --generate-updates 20 --machines 5 --files 2 --messages 12)
check "simulate-clients wrote 10 files, 120 messages" grep -q "Wrote 10 files with 120 state messages for 5 clients" <<<"$out"
check "simulate-clients generated updates" grep -q "Inserted 20 synthetic updates" <<<"$out"
"$CMSITE" simulate-clients --root "$root" --machines 2 --messages 5 --first-machine 100 --priority high >/dev/null
"$CMSITE" simulate-clients --root "$root" --machines 2 --messages 5 --first-machine 200 --priority low >/dev/null
check "all simulated messages received" wait_for 60 is "SELECT SUM(MessagesReceived) FROM SR_ClientMessageCounts" 141
check "boxes drained" wait_for 10 drained

# --- Hostile clients: gaps, files sent twice, messages dated earlier. ---------------------
out=$("$CMSITE" simulate-clients --root "$root" --hostile --machines 20 --files 3 --messages 10 --first-machine 300 --seed 7)
gaps=$(sed -n 's/.*(\([0-9]*\) gaps in serial numbers, \([0-9]*\) files sent twice.*/\1/p' <<<"$out")
twice=$(sed -n 's/.*(\([0-9]*\) gaps in serial numbers, \([0-9]*\) files sent twice.*/\2/p' <<<"$out")
check "hostile run reports its gaps and replays" test -n "$gaps" -a -n "$twice"
check "hostile messages all received once" wait_for 60 is "SELECT SUM(MessagesReceived) FROM SR_ClientMessageCounts" 741
check "every gap recorded" wait_for 10 is "SELECT COUNT(*) FROM SR_MissingMessageRanges" "$gaps"
check "replayed files counted as duplicates" is "SELECT SUM(DuplicateMessages) FROM SR_ClientMessageCounts" "$((1 + twice * 10))"
# Earlier-dated messages never overwrite a later state: every row holds its latest.
check "latest MessageTime kept" is "SELECT COUNT(*) FROM Update_ComplianceStatus WHERE LastStatusCheckTime < LastStatusChangeTime" 0

# --- A message for an update the site does not know yet. ----------------------------------
LATER=7c0ffee0-1234-4abc-8def-0123456789ab
report "$SEED_CLIENT" PS1WIN7X64 "$(message "$(wmi_ago 60)" 233 "$LATER" 500 3 '<Param>100</Param>')" >"$root/later.xml"
utf16 "$root/later.xml" | drop LATER001.SMX
check "kept in SR_CurrentState while unknown" wait_for 30 is "SELECT StateID FROM SR_CurrentState WHERE TopicType = 500 AND TopicID = '$LATER'" 3
sql "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID, RevisionNumber) VALUES ('$LATER', 1, 100)"
check "applied once the update arrives" wait_for 30 is \
    "SELECT cs.Status FROM Update_ComplianceStatus cs JOIN CI_ConfigurationItems ci ON ci.CI_ID = cs.CI_ID WHERE ci.CI_UniqueID = '$LATER'" 3
check "and removed from the generic table" is "SELECT COUNT(*) FROM SR_CurrentState WHERE TopicID = '$LATER'" 0
check "log: migration task" log_has "$sslog" "Started task 'SUM Migrate Update Status'"

# --- Summarization on demand. --------------------------------------------------------------
out=$("$CMSITE" summarize --root "$root" update-status 2>&1); rc=$?
check "cmsite summarize update-status succeeds" test $rc -eq 0
check "it reports the task's status (22 updates)" grep -q "Task 'SUM Update Status Summarizer' completed successfully after running for [0-9]* seconds, with status 22." <<<"$out"
check "log: Started task" log_has "$sslog" "Started task 'SUM Update Status Summarizer'"
check "log: Task completed" grep -q "Task 'SUM Update Status Summarizer' completed successfully after running for [0-9]* seconds, with status 22." "$sslog"
check "v_UpdateSummary has every update" is "SELECT COUNT(*) FROM v_UpdateSummary" 22
check "counts add up to the clients" is "SELECT COUNT(*) FROM v_UpdateSummary WHERE NumRequired + NumInstalled + NumNotRequired + NumUnknown <> NumTotal OR NumTotal <> 30" 0
check "required counts match the client states" is "SELECT SUM(NumRequired) FROM v_UpdateSummary" \
    "$(sql "SELECT COUNT(*) FROM Update_ComplianceStatus WHERE Status = 2")"
check "RunNow cleared, LastRunStatus set" is "SELECT RunNow || '/' || LastRunStatus FROM vSR_SummaryTasks WHERE TaskName = 'SUM Update Status Summarizer'" "0/22"
check "status message 8202 for the task" bash -c "\"$CMSITE\" statmsg --root '$root' --id 8202 | grep -q 'SUM Update Status Summarizer'"
check "summarize --list" bash -c "\"$CMSITE\" summarize --root '$root' --list | grep -q 'SUM Delete Aged Status'"
"$CMSITE" summarize --root "$root" group >/dev/null; rc=$?
check "cmsite summarize group succeeds" test $rc -eq 0
"$CMSITE" summarize --root "$root" "SUM Assignment Compliance Evaluator" >/dev/null; rc=$?
check "cmsite summarize by full name succeeds" test $rc -eq 0
"$CMSITE" summarize --root "$root" no-such-task >/dev/null 2>&1; rc=$?
check "an unknown task is a usage error (2)" test $rc -eq 2

# Delete Aged Status: states older than 5 days go (the 2014 seed message and one from ten
# days ago), the rest stays.
check "statesys reads the new age" setting_live "Aged Status Days" 5
report "$SEED_CLIENT" PS1WIN7X64 "$(message "$(wmi_ago 864000)" 234 "Old/Topic" 1000 1)" >"$root/old.xml"
utf16 "$root/old.xml" | drop OLDSTATE.SMX
check "old state stored" wait_for 30 is "SELECT COUNT(*) FROM SR_CurrentState WHERE TopicID = 'Old/Topic'" 1
before=$(sql "SELECT COUNT(*) FROM Update_ComplianceStatus")
out=$("$CMSITE" summarize --root "$root" delete-aged 2>&1)
check "delete-aged removed exactly the two old states" grep -q "with status 2\." <<<"$out"
check "old state gone" is "SELECT COUNT(*) FROM SR_CurrentState WHERE TopicID = 'Old/Topic'" 0
check "the 2014 seed state gone" is "SELECT COUNT(*) FROM Update_ComplianceStatus WHERE LastStatusCheckTime < '2015-01-01'" 0
check "recent states kept" is "SELECT COUNT(*) FROM Update_ComplianceStatus" "$((before - 1))"

check "statesys stops cleanly (exit 0)" stop_statesys
check "stop status message" bash -c "\"$CMSITE\" statmsg --root '$root' --component SMS_STATE_SYSTEM --id 502 | grep -q 502"
out=$("$CMSITE" summarize --root "$root" update-status 2>&1); rc=$?
check "summarize without statesys: exit 1" test $rc -eq 1
check "and it says so" grep -q "statesys is not running" <<<"$out"
done_tests
