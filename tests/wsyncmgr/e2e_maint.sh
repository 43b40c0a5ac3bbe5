#!/bin/bash
# e2e_maint.sh - the maintenance of WSUS Synchronization Manager (seed 004
# "Maintenance"): after a sync, the expired updates older than the cleanup
# age that no deployment references (directly or through a deployed update
# group) are deleted in batches, with the documented log lines, and every
# row that belonged to them; deployed, grouped and recent ones stay; the
# content version does not move; the pass runs again on its interval.
# Runs on SQLite, or on PostgreSQL under tests/with-postgres.sh.
. "$(dirname "$0")/wsmlib.sh"

setup_site
check "a first sync" request_sync
check "... succeeds" test "$(last_end)" = 6702
expired=$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsExpired = 1")
check "the catalog has expired updates" test "$expired" = 24
v=$(version)
# Stopped first, so no maintenance pass of this instance sees the dates changed below.
stop wsyncmgr

# All but the newest expired update expired long ago; one of the old ones is deployed, another
# is in a deployed update group.
sql "UPDATE CI_ConfigurationItems SET DateLastModified = '2000-01-01 00:00:00' WHERE IsExpired = 1 AND CI_ID < (SELECT MAX(CI_ID) FROM CI_ConfigurationItems WHERE IsExpired = 1)"
sql "INSERT INTO CI_CIAssignments (Assignment_UniqueID, AssignmentName) VALUES ('{8A1D6C52-0B6F-4C5E-9E8B-6B0E4C1B2F01}', 'Patch Tuesday')"
sql "INSERT INTO CI_AssignmentTargetedCIs (AssignmentID, CI_ID) SELECT MAX(a.AssignmentID), MIN(ci.CI_ID) FROM CI_CIAssignments a, CI_ConfigurationItems ci WHERE ci.IsExpired = 1"
sql "INSERT INTO CI_ConfigurationItems (CI_ID, CI_UniqueID, CIType_ID, ModelName) VALUES (900001, 'ScopeId_CS1/AuthList_1', 9, 'Servers 2014')"
sql "INSERT INTO CI_ConfigurationItemRelations (FromCI_ID, ToCI_ID, RelationType) SELECT 900001, MIN(CI_ID), 1 FROM CI_ConfigurationItems WHERE IsExpired = 1 AND CI_ID > (SELECT MIN(CI_ID) FROM CI_ConfigurationItems WHERE IsExpired = 1)"
sql "INSERT INTO CI_AssignmentTargetedGroups (AssignmentID, CI_ID) SELECT MAX(AssignmentID), 900001 FROM CI_CIAssignments"
total=$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems")

"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Maintenance Batch Size' 5 >/dev/null
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Maintenance Interval' 1 >/dev/null
start wsyncmgr "$WSYNCMGR" --root "$root"
check "maintenance runs after the start" wait_for 30 log_has "$slog" "Deleted 21 expired updates total"
check "... with the documented lines, a batch at a time" in_order "$slog" \
    "Deleting old expired updates..." "Deleted 5 expired updates" "Deleted 5 expired updates" \
    "Deleted 5 expired updates" "Deleted 5 expired updates" "Deleted 1 expired updates" \
    "Deleted 21 expired updates total"
check "the deployed, grouped and recent expired updates stay" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsExpired = 1")" = 3
check "21 configuration items fewer" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems")" = $((total - 21))
for t in CI_UpdateInfo CI_LocalizedProperties CI_CategoryMemberships CI_CIUpdateSources CI_ConfigurationItemContents; do
    check "no $t row of a deleted update" test "$(sql "SELECT COUNT(*) FROM $t WHERE CI_ID NOT IN (SELECT CI_ID FROM CI_ConfigurationItems)")" = 0
done
check "no relation to or from a deleted update" test "$(sql "SELECT COUNT(*) FROM CI_ConfigurationItemRelations WHERE FromCI_ID NOT IN (SELECT CI_ID FROM CI_ConfigurationItems) OR ToCI_ID NOT IN (SELECT CI_ID FROM CI_ConfigurationItems)")" = 0
check "no content file of a deleted update" test "$(sql "SELECT COUNT(*) FROM CI_ContentFiles WHERE Content_ID NOT IN (SELECT Content_ID FROM CI_Contents)")" = 0
check "the content version did not move" test "$(version)" = "$v"
passes=$(count "Deleting old expired updates...")
check "maintenance runs again on its interval" wait_for 100 more "Deleting old expired updates..." "$passes"
check "... and finds nothing more" wait_for 10 in_order "$slog" "Deleted 21 expired updates total" "Deleting old expired updates..." "Deleted 0 expired updates total"
check "a sync after it still succeeds" request_sync
check "... with 6702" test "$(last_end)" = 6702
wsm_done
