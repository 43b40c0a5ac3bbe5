#!/bin/bash
# e2e_faults.sh - a downstream wsusd against upstreams that fail in every
# way the documents name: refusing the connection, a name that does not
# resolve, 401 on DssAuthWebService, 500, garbage, and dying in the middle
# of GetUpdateData.  Each sync fails cleanly with the text WSUS uses (what
# wsyncmgr reports in status message 6703), the database keeps its last
# good state, the server keeps running, and a retry resumes.
. "$(dirname "$0")/wsuslib.sh"

start_wsusd U --max-updates-per-request 100 || exit 1
ctl U set-mu 'generated:?updates=2600&seed=3' >/dev/null
ctl U sync-wait >/dev/null 2>&1
start_wsusd D || exit 1
dlog=$tmp/D/logs/wsusd.log

# sync_error: run a sync on D, expect failure, print the error text.
sync_error() {
    ctl D sync-wait >$tmp/out.txt 2>&1
    grep '^result Failed' -q $tmp/out.txt || { echo "(not failed: $(cat $tmp/out.txt))"; return; }
    sed -n 's/^error //p' $tmp/out.txt
}
expect_error() { # expect_error DESCRIPTION TEXT
    local got
    got=$(sync_error)
    if [ "$got" = "$2" ]; then ok "$1"; else bad "$1: got '$got'"; fi
    check "$1: logged as event 386" log_has $dlog "EventId=386,Type=Error,Category=Synchronization,Message=Synchronization failed. Reason: $2"
    check "$1: the server keeps running" ctl D version
}

# A port where nothing listens.
closed=$(( port_U + 1 ))
while (exec 3<>/dev/tcp/127.0.0.1/$closed) 2>/dev/null; do closed=$((closed + 1)); done
ctl D set-upstream 127.0.0.1 $closed
expect_error "refused connection" "UssCommunicationError: WebException: Unable to connect to the remote server"

ctl D set-upstream wsus-upstream.invalid 8530
expect_error "unresolvable upstream" "UssCommunicationError: WebException: The remote name could not be resolved: 'wsus-upstream.invalid'"

# An upstream whose DssAuthWebService refuses (401).
"$WSUSD" --root $tmp/U --set DssAuthRequiresAccount=1 >/dev/null
printf 'Secret1\n' | "$WSUSD" --root $tmp/U --set-account dss >/dev/null
ctl D set-upstream 127.0.0.1 $port_U
expect_error "401 on DssAuthWebService" "DssAuthenticationError: WebException: The request failed with HTTP status 401: Unauthorized."
check "nothing was stored" test "$(sqlite3 $tmp/D/data/susdb.db 'SELECT COUNT(*) FROM tbRevision')" = 0
# With the account, the DssAuthWebService lets it in (the rest of the test is anonymous again).
"$WSUSD" --root $tmp/D --set UpstreamAccountName=dss >/dev/null
"$WSUSD" --root $tmp/D --set UpstreamAccountPassword=Secret1 >/dev/null
"$WSUSD" --root $tmp/U --clear-account >/dev/null
"$WSUSD" --root $tmp/U --set DssAuthRequiresAccount=0 >/dev/null

# 500 and garbage.
"$FAULTYUSS" --port-file $tmp/p500 --mode 500 & pids+=($!)
"$FAULTYUSS" --port-file $tmp/pgarbage --mode garbage & pids+=($!)
wait_for 10 test -s $tmp/p500
wait_for 10 test -s $tmp/pgarbage
ctl D set-upstream 127.0.0.1 $(cat $tmp/p500)
expect_error "upstream answers 500" "UssCommunicationError: WebException: The request failed with HTTP status 500: Internal Server Error"
ctl D set-upstream 127.0.0.1 $(cat $tmp/pgarbage)
expect_error "upstream answers garbage" "UssCommunicationError: WebException: Client found response content type of 'text/html', but expected 'text/xml'."

# The upstream dies in the middle of the 25th GetUpdateData (the first is
# the categories, then 100 updates each).  wsusd commits every 2000 updates:
# the first 2000 stay, the 300 stored after them are rolled back.
"$FAULTYUSS" --port-file $tmp/pcut --mode cut --nth 25 --upstream 127.0.0.1:$port_U & pids+=($!)
wait_for 10 test -s $tmp/pcut
ctl D set-upstream 127.0.0.1 $(cat $tmp/pcut)
expect_error "upstream dies mid-GetUpdateData" "UssCommunicationError: WebException: The underlying connection was closed: An unexpected error occurred on a receive."
ncat=$(sqlite3 $tmp/U/data/susdb.db 'SELECT COUNT(*) FROM tbRevision WHERE IsCategory = 1')
nrev=$(sqlite3 $tmp/D/data/susdb.db 'SELECT COUNT(*) FROM tbRevision')
check "the committed updates are kept ($nrev = $ncat categories + 2000)" test "$nrev" = $((ncat + 2000))
check "the update anchor did not move" test "$(sqlite3 $tmp/D/data/susdb.db "SELECT COALESCE(Value, '') FROM tbConfiguration WHERE Name = 'UpstreamSyncAnchor'")" = ""
check "no half update: every revision has its XML" test "$(sqlite3 $tmp/D/data/susdb.db 'SELECT COUNT(*) FROM tbRevision r LEFT JOIN tbXml x ON x.RevisionID = r.RevisionID WHERE x.RevisionID IS NULL')" = 0
check "last sync reads Failed" sh -c "'$WSUSCTL' -p $port_D last-sync | grep -q '^result 2 '"

# The retry resumes: only what is missing is fetched, and then all is there.
ctl D sync-wait >$tmp/retry.txt 2>&1
check "the retry succeeds" grep -q '^result Succeeded new 600 ' $tmp/retry.txt
check "the retry fetched only the missing revisions" log_has $dlog "Synchronizing updates: 600 new revision(s) of 2600 listed by the upstream server"
check "identical metadata after the retry" cmp -s <(dump U) <(dump D)

# An expired cookie (InvalidCookie) in the middle: the DSS authorizes again
# and goes on, as MS-WSUSSS 2.2.9.3 says.
ctl U set-mu 'generated:?updates=2700&seed=3' >/dev/null
ctl U sync-wait >/dev/null 2>&1
"$FAULTYUSS" --port-file $tmp/pcookie --mode cookie --nth 1 --upstream 127.0.0.1:$port_U & pids+=($!)
wait_for 10 test -s $tmp/pcookie
ctl D set-upstream 127.0.0.1 $(cat $tmp/pcookie)
ctl D sync-wait >$tmp/again.txt 2>&1
check "an expired cookie mid-sync: authorize again and succeed" grep -q '^result Succeeded' $tmp/again.txt
check "the new authorization is logged" log_has $dlog "The upstream server refused the cookie (InvalidCookie); authorizing again."
check "identical metadata after re-authorizing" cmp -s <(dump U) <(dump D)

done_tests
