#!/bin/bash
# dbaway-pg.sh - under tests/with-postgres.sh: the PostgreSQL server stops
# while statesys has state messages to apply and comes back a little later.
# statesys keeps running, the writer reconnects with backoff (status message
# 8205), and every message dropped before, during and after is applied once.
. "$(dirname "$0")/sslib.sh"

[ -n "${CM_TEST_PGCTL:-}" ] || { echo "needs tests/with-postgres.sh"; exit 1; }
check "cmsite init" init_site
setting "Inbox Pause" 0
start_statesys
check "statesys started" wait_for 30 log_has "$sslog" "Connected to the site database"

"$CMSITE" simulate-clients --root "$root" --generate-updates 20 --machines 20 --files 2 --messages 10 >/dev/null
check "first files applied" wait_for 60 is "SELECT SUM(MessagesReceived) FROM SR_ClientMessageCounts" 400

mkdir -p "$root/stage"
"$CMSITE" simulate-clients --root "$root" --machines 20 --files 2 --messages 10 --first-machine 100 --out "$root/stage" >/dev/null
"$CM_TEST_PGCTL" stop
mv "$root/stage"/*.SMX "$box/"
check "the loss is noticed" wait_for 30 log_has "$sslog" "Lost the connection to the site database"
check "the files wait" test "$(( $(files_in "$box") + $(files_in "$proc") ))" -gt 0
sleep 2
check "statesys still running without its database" kill -0 "$SSPID"
"$CM_TEST_PGCTL" start
check "all messages applied once the server is back" wait_for 120 is "SELECT SUM(MessagesReceived) FROM SR_ClientMessageCounts" 800
check "nothing counted twice" is "SELECT SUM(DuplicateMessages) FROM SR_ClientMessageCounts" 0
check "boxes drained" wait_for 30 drained
check "reconnected status message (8205)" wait_for 30 is "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = 8205" 1
check "statesys stops cleanly" stop_statesys
done_tests
