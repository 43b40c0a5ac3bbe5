#!/bin/bash
# kill.sh - kill -9 of statesys at random moments while it works through
# 100,000 state messages (20,000 files from 1,000 clients, dropped in waves
# of 1,000 files), at least 20 times with work in hand, then a clean run to
# the end.  After it every message is applied exactly once: the counts match
# what was dropped, no serial number is missing, nothing is left in the
# boxes.  The kills land anywhere from start-up and recovery to the middle
# of a transaction or of the deletes after it.
. "$(dirname "$0")/sslib.sh"

KILLS=${STATESYS_KILLS:-20}
check "cmsite init" init_site
setting "Inbox Pause" 0
stage="$root/stage"
mkdir -p "$stage"
out=$("$CMSITE" simulate-clients --root "$root" --generate-updates 100 --machines 1000 --files 20 \
      --messages 5 --compliance-only --out "$stage")
check "100,000 messages written" grep -q "Wrote 20000 files with 100000 state messages for 1000 clients" <<<"$out"

# The files go in by waves of 1,000, as a management point would deliver them.
mapfile -t files < <(ls "$stage")
next=0
drop_wave() {
    local end=$((next + 1000))
    [ $end -gt ${#files[@]} ] && end=${#files[@]}
    for ((i = next; i < end; i++)); do mv "$stage/${files[$i]}" "$box/"; done
    next=$end
}
backlog() { echo $(( $(files_in "$box") + $(files_in "$proc") )); }

effective=0
runs=0
while [ $effective -lt "$KILLS" ] && [ $runs -lt 300 ]; do
    runs=$((runs + 1))
    if [ "$(backlog)" -eq 0 ]; then
        [ $next -lt ${#files[@]} ] || break
        drop_wave
    fi
    start_statesys
    sleep "0.$(printf '%03d' $((RANDOM % 150 + 10)))"
    work=$(backlog)
    kill9_statesys
    [ "$work" -gt 0 ] && effective=$((effective + 1))
done
echo "# $effective kills with work in hand, in $runs runs; $(received) messages applied so far"
check "at least $KILLS kills with work in hand" test $effective -ge "$KILLS"

while [ $next -lt ${#files[@]} ]; do drop_wave; done
start_statesys
check "all 100,000 messages applied" wait_for 120 is "SELECT SUM(MessagesReceived) FROM SR_ClientMessageCounts" 100000
check "boxes drained" wait_for 60 drained
check "statesys stops cleanly" stop_statesys

check "exactly 100,000 compliance rows" is "SELECT COUNT(*) FROM Update_ComplianceStatus" 100000
check "every client once" is "SELECT COUNT(*) FROM System_DISC" 1000
check "every client at serial number 100" is "SELECT COUNT(*) FROM SR_ClientSerials WHERE LastSerialNumber = 100" 1000
check "no serial number missing" is "SELECT COUNT(*) FROM SR_MissingMessageRanges" 0
check "no invalid record" is "SELECT COALESCE(SUM(InvalidMessages), 0) FROM SR_ClientMessageCounts" 0
check "nothing quarantined" test "$(files_in "$corrupt")" -eq 0
check "no bad-file status message" is "SELECT COUNT(*) FROM StatusMessages WHERE MessageID IN (8200, 8201, 8208)" 0
check "files left in process/ were recovered at start" log_has "$sslog" "left in process by an earlier run"
echo "# $(sql "SELECT SUM(DuplicateMessages) FROM SR_ClientMessageCounts") messages replayed after kills (counted once, applied once)"
done_tests
