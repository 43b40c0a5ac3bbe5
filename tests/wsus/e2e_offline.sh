#!/bin/bash
# e2e_offline.sh - wsusd's offline source ("sync from the offline catalog"):
# a generated wsusscn2-style cab and the same catalog as a folder of update
# XML give the same updates; a corrupt or missing catalog fails the sync
# cleanly and keeps the database as it was.  Also here: hostile update XML
# (missing identity, unknown type, another update's blob, a supersedence
# cycle, self references) from an upstream server is refused or repaired
# one update at a time.
. "$(dirname "$0")/wsuslib.sh"

"$WSUSD" --generate $tmp/cat --updates 2000 --seed 11 --languages en,de >/dev/null || bad "generate folder"
"$WSUSD" --generate $tmp/cat.cab --updates 2000 --seed 11 --languages en,de >/dev/null || bad "generate cab"

start_wsusd F || exit 1
start_wsusd C || exit 1
for n in F C; do ctl $n set-languages en,de >/dev/null; done
check "folder source set" ctl F set-offline $tmp/cat
check "cab source set" ctl C set-offline $tmp/cat.cab
ctl F sync-wait >$tmp/f.txt 2>&1
ctl C sync-wait >$tmp/c.txt 2>&1
check "folder import succeeded" grep -q '^result Succeeded new 20' $tmp/f.txt
check "cab import succeeded" grep -q '^result Succeeded new 20' $tmp/c.txt
check "progress of the updates was reported" grep -q '^progress updates [0-9]*/2000$' $tmp/c.txt
# The same updates (file download URLs travel only in the cab's FileLocations).
no_urls() { awk -F'\t' 'BEGIN { OFS = "\t" } $1 == "file" { NF = 5 } { print }'; }
if cmp -s <(dump F | no_urls) <(dump C | no_urls); then ok "the cab yields the same updates as the folder"
else bad "the cab yields the same updates as the folder"; diff <(dump F | no_urls) <(dump C | no_urls) | head; fi
check "the cab's file URLs are kept" test "$(sqlite3 $tmp/C/data/susdb.db "SELECT COUNT(*) FROM tbFile WHERE MUURL LIKE 'http%'")" -gt 0

# A folder holding a document that is not update XML: the reader stops
# there, the sync fails cleanly and says so, the server goes on.
mkdir $tmp/bad
cp $tmp/cat/*.xml $tmp/bad/
printf '<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><unclosed>' >$tmp/bad/9000006-broken.xml
start_wsusd H || exit 1
ctl H set-offline $tmp/bad >/dev/null
ctl H sync-wait >$tmp/h.txt 2>&1
check "a folder with a broken document fails the sync" grep -q '^result Failed' $tmp/h.txt
check "and says the catalog is corrupt" grep -q "^error UssCommunicationError: the offline catalog $tmp/bad is corrupt" $tmp/h.txt
check "the server keeps running" ctl H version

# Hostile update XML from an upstream server (stored there behind its
# back): a missing identity, an unknown type, a blob that is another update,
# a supersedence cycle, self references.  Each bad update is refused with one
# log line, the cycle is broken, everything else arrives.
start_wsusd U || exit 1
ctl U set-mu 'generated:?updates=300&seed=4' >/dev/null
ctl U sync-wait >/dev/null 2>&1
udb=$tmp/U/data/susdb.db
pick() { sqlite3 $udb "SELECT u.UpdateID FROM tbRevision r JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID JOIN tbXml x ON x.RevisionID = r.RevisionID WHERE r.IsCategory = 0 AND x.RootElementXml LIKE '%</upd:Relationships>%' AND x.RootElementXml NOT LIKE '%SupersededUpdates%' AND x.RootElementXml NOT LIKE '%BundledUpdates%' ORDER BY u.UpdateID LIMIT 1 OFFSET $1"; }
X1=$(pick 0); X2=$(pick 1); X3=$(pick 2); A=$(pick 3); B=$(pick 4); S=$(pick 5)
setxml() { # setxml ID SQL-EXPRESSION-OF-x.RootElementXml
    sqlite3 -cmd '.timeout 20000' $udb "UPDATE tbXml SET RootElementXml = $2 WHERE RevisionID = (SELECT r.RevisionID FROM tbRevision r JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID WHERE u.UpdateID = '$1' AND r.IsLatestRevision = 1)" || bad "change the XML of $1"
}
setxml $X1 "replace(RootElementXml, 'upd:UpdateIdentity UpdateID=\"$X1\"', 'upd:Nothing UpdateID=\"$X1\"')"
setxml $X2 "replace(RootElementXml, 'UpdateType=\"Software\"', 'UpdateType=\"Firmware\"')"
setxml $X3 "replace(RootElementXml, '$X3', '$A')"
setxml $A "replace(RootElementXml, '</upd:Relationships>', '<upd:SupersededUpdates><upd:UpdateIdentity UpdateID=\"$B\"/></upd:SupersededUpdates></upd:Relationships>')"
setxml $B "replace(RootElementXml, '</upd:Relationships>', '<upd:SupersededUpdates><upd:UpdateIdentity UpdateID=\"$A\"/></upd:SupersededUpdates></upd:Relationships>')"
setxml $S "replace(RootElementXml, '</upd:Relationships>', '<upd:BundledUpdates><upd:UpdateIdentity UpdateID=\"$S\" RevisionNumber=\"100\"/></upd:BundledUpdates><upd:SupersededUpdates><upd:UpdateIdentity UpdateID=\"$S\"/></upd:SupersededUpdates></upd:Relationships>')"
start_wsusd D || exit 1
dlog=$tmp/D/logs/wsusd.log
ctl D set-upstream 127.0.0.1 $port_U >/dev/null
ctl D sync-wait >$tmp/d.txt 2>&1
check "hostile updates do not stop the sync" grep -q '^result Succeeded' $tmp/d.txt
check "missing identity refused" log_has $dlog "Update $X1 revision 100 refused: its update XML is malformed or of an unknown type."
check "unknown type refused" log_has $dlog "Update $X2 revision 100 refused: its update XML is malformed or of an unknown type."
check "a blob of another update refused" log_has $dlog "Update $X3 revision 100 refused: its XML is update $A revision 100."
check "the count of refused updates is logged" log_has $dlog ", 3 refused,"
check "the supersedence cycle is found and broken" log_has $dlog "A supersedence cycle was found"
check "one edge of the cycle is left" test "$(sqlite3 $tmp/D/data/susdb.db "SELECT COUNT(*) FROM tbRevisionSupersedesUpdate s JOIN tbRevision r ON r.RevisionID = s.RevisionID JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID WHERE (u.UpdateID = '$A' AND s.SupersededUpdateID = '$B') OR (u.UpdateID = '$B' AND s.SupersededUpdateID = '$A')")" = 1
check "self references are dropped" log_has $dlog "Update $S refers to itself 2 time(s)"
check "everything else arrived" test "$(dump D | grep -c '^rev')" = $(( $(dump U | grep -c '^rev') - 3 ))

# A corrupt cab, and a catalog that is not there: clean failures, nothing lost.
before=$(dump C | md5sum)
head -c 60000 $tmp/cat.cab >$tmp/broken.cab
ctl C set-offline $tmp/broken.cab >/dev/null
ctl C sync-wait >$tmp/c2.txt 2>&1
check "a corrupt cab fails the sync" grep -q '^result Failed' $tmp/c2.txt
check "and says so" grep -q "^error UssCommunicationError: the offline catalog $tmp/broken.cab .*corrupt" $tmp/c2.txt
check "the server keeps running" ctl C version
check "the database kept its state" test "$(dump C | md5sum)" = "$before"
ctl C set-offline $tmp/nothing-here.cab >/dev/null
ctl C sync-wait >$tmp/c3.txt 2>&1
check "a missing catalog fails the sync" grep -q "^error UssCommunicationError: the offline catalog $tmp/nothing-here.cab does not exist." $tmp/c3.txt

done_tests
