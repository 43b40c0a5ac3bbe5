#!/bin/bash
# e2e_sync.sh - the done-when test of the software update point stand-in:
# two wsusd instances, the second syncing from the first over MS-WSUSSS,
# with a generated 10,000-update catalog; the metadata must be identical.
# Then a sync with nothing new, a server subscribed to one product and one
# classification, and a replica.  With CM_TEST_DB (tests/with-postgres.sh)
# the downstream server's database is PostgreSQL.
. "$(dirname "$0")/wsuslib.sh"

# The upstream server: the lab's generated catalog, 10,000 updates; larger
# blobs are served compressed (as cabs), so both blob forms cross the wire.
start_wsusd U || exit 1
"$WSUSD" --root $tmp/U --set CompressUpdateBlobsOver=2500 >/dev/null
check "upstream source set" ctl U set-mu 'generated:?updates=10000&seed=42&languages=en,de,fr,ja'
check "upstream languages" ctl U set-languages en,de,fr,ja
ctl U sync-wait >$tmp/u.txt 2>&1
check "upstream synced the generated catalog" grep -q '^result Succeeded new 10' $tmp/u.txt

# The downstream server, syncing from the upstream one.
if [ -n "${CM_TEST_DB:-}" ]; then
    start_wsusd D --db "$CM_TEST_DB" || exit 1
    conn_D=$CM_TEST_DB
else
    start_wsusd D || exit 1
fi
check "downstream upstream set" ctl D set-upstream 127.0.0.1 $port_U
check "downstream languages" ctl D set-languages en,de,fr,ja
ctl D sync-wait >$tmp/d.txt 2>&1
check "downstream sync succeeded" grep -q '^result Succeeded new ' $tmp/d.txt
check "progress of the update pass was reported" grep -q '^progress updates [0-9]*/10000$' $tmp/d.txt
dump U >$tmp/u.dump
dump D >$tmp/d.dump
check "the dump is not empty" test "$(grep -c '^rev' $tmp/u.dump)" -gt 10000
if cmp -s $tmp/u.dump $tmp/d.dump; then ok "identical metadata on both servers"; else
    bad "identical metadata on both servers"; diff $tmp/u.dump $tmp/d.dump | head -n 20; fi
check "the downstream server is in the upstream DSS table" test "$(sqlite3 $tmp/U/data/susdb.db "SELECT FullDomainName FROM tbDownstreamServerTarget")" = D.contoso.com

# Again: nothing is new (the anchors work).
ctl D sync-wait >$tmp/d2.txt 2>&1
check "second sync succeeded" grep -q '^result Succeeded new 0 revised 0' $tmp/d2.txt
check "second sync listed nothing new" log_has $tmp/D/logs/wsusd.log "Synchronizing updates: 0 new revision(s) of 0 listed by the upstream server"

# New updates upstream reach the downstream server by the anchors.
check "upstream grows" ctl U set-mu 'generated:?updates=10500&seed=42&languages=en,de,fr,ja'
ctl U sync-wait >/dev/null 2>&1
ctl D sync-wait >$tmp/d3.txt 2>&1
check "the delta arrives" grep -q '^result Succeeded new [1-9]' $tmp/d3.txt
dump U >$tmp/u.dump
dump D >$tmp/d.dump
check "identical again after the delta" cmp -s $tmp/u.dump $tmp/d.dump

# A server subscribed to one product and one classification gets only those.
start_wsusd S || exit 1
prod=$(sqlite3 $tmp/U/data/susdb.db "SELECT u.UpdateID FROM tbCategory c JOIN tbUpdate u ON u.LocalUpdateID = c.CategoryID WHERE c.CategoryType = 'Product' ORDER BY u.UpdateID LIMIT 1")
cls=0fa1201d-4330-4fa8-8ae9-b877473b6441
check "subscription set" ctl S subscribe $prod $cls
check "subscription reads back" sh -c "'$WSUSCTL' -p $port_S subscription | grep -q 'product $prod'"
check "filtered server's upstream set" ctl S set-upstream 127.0.0.1 $port_U
ctl S sync-wait >$tmp/s.txt 2>&1
check "filtered sync succeeded" grep -q '^result Succeeded' $tmp/s.txt
n_all=$(grep -c '^rev' $tmp/u.dump)
n_sub=$(dump S | grep -c '^rev')
check "the subscription filters ($n_sub of $n_all)" test "$n_sub" -gt 0 -a "$n_sub" -lt "$n_all"
outside=$(sqlite3 $tmp/S/data/susdb.db "SELECT COUNT(*) FROM tbRevision r WHERE r.IsCategory = 0 AND r.UpdateType <> 'Detectoid' AND NOT EXISTS (SELECT 1 FROM tbRevisionInCategory ric JOIN tbUpdate cu ON cu.LocalUpdateID = ric.CategoryID WHERE ric.RevisionID = r.RevisionID AND cu.UpdateID = '$cls')")
check "every synced update is in the classification" test "$outside" = 0

# A replica takes everything, whatever its own subscription.
start_wsusd R || exit 1
ctl R subscribe $prod $cls
check "replica upstream set" ctl R set-upstream 127.0.0.1 $port_U replica
ctl R set-languages en,de,fr,ja
ctl R sync-wait >/dev/null 2>&1
check "the replica holds the upstream's metadata" cmp -s $tmp/u.dump <(dump R)

done_tests
