# pvlib.sh - shared by the policypv end-to-end scripts: tests/e2e/lib.sh
# (temporary site root, waits, checks) plus the real daemons started
# directly (not by the supervisor, so nothing else syncs meanwhile), SQL on
# the site database through the database's own client (sqlite3, or psql
# under tests/with-postgres.sh), the content-version bump a sync makes, and
# independent checks of the policy rows.  Sourced, not run.  Needs CMSITE,
# SMSDBMON, POLICYPV and SMSMP (set by meson).
. "$(dirname "$0")/../e2e/lib.sh"

box="$root/inboxes/policypv.box"
pvlog="$root/logs/policypv.log"
mplog="$root/logs/MP_Location.log"

source_id() { sql "SELECT UpdateSource_UniqueID FROM CI_UpdateSources WHERE SourceSite = 'CS1'"; }
cv() { sql "SELECT ContentVersion FROM Update_SyncStatus WHERE SiteCode = 'CS1'"; }

# set_cv N: what spProcessSUMSyncStateMessage does after a successful sync:
# the new content version in Update_SyncStatus, CI_UpdateSources and
# WSUSServerLocations, in one transaction.
set_cv() {
    sql "BEGIN;
         UPDATE Update_SyncStatus SET ContentVersion = $1, SyncCatalogVersion = $1,
                LastSyncState = 6702 WHERE SiteCode = 'CS1';
         UPDATE CI_UpdateSources SET ContentVersion = $1 WHERE SourceSite = 'CS1';
         UPDATE WSUSServerLocations SET ContentVersion = $1 WHERE SiteCode = 'CS1';
         COMMIT;"
}
bump() { set_cv $(($(cv) + 1)); }

# The documents' query, for the version and the body.
DOCQ="FROM Policy WHERE PolicyID = (SELECT PolicyID FROM SettingsPolicy WHERE SourceType = 'UpdateSource')"
policy_version() { sql "SELECT Version $DOCQ"; }
version_is() { [ "$(policy_version)" = "$1" ]; }
body_has_cv() {
    sql "SELECT Body $DOCQ" | grep -qF "<property name=\"ContentVersion\" type=\"19\"><value>$1</value></property>"
}
body_has() { sql "SELECT Body $DOCQ" | grep -qF -- "$1"; }
updates_logged() { grep -c "Updated the UpdateSource policy" "$pvlog" 2>/dev/null; }

sha() { printf 'SHA256:%s' "$(printf '%s' "$1" | sha256sum | cut -c1-64 | tr a-f A-F)"; }

# rows_agree VERSION: Policy and PolicyAssignment at VERSION, hashes that
# match the bodies (computed here with sha256sum), InProcess 0, and the
# assignment referencing the policy's hash.
rows_agree() {
    local pid pa body pab
    pid=$(sql "SELECT PolicyID FROM SettingsPolicy WHERE SourceType = 'UpdateSource' AND SourceID = 'CS1'")
    pa=$(sql "SELECT PADBID FROM SettingsPolicy WHERE SourceType = 'UpdateSource' AND SourceID = 'CS1'")
    [ -n "$pid" ] && [ -n "$pa" ] || { echo "  no SettingsPolicy row"; return 1; }
    body=$(sql "SELECT Body FROM Policy WHERE PolicyID = '$pid'")
    pab=$(sql "SELECT Body FROM PolicyAssignment WHERE PADBID = $pa")
    [ "$(sql "SELECT Version FROM Policy WHERE PolicyID = '$pid'")" = "$1" ] || { echo "  Policy.Version"; return 1; }
    [ "$(sql "SELECT Version FROM PolicyAssignment WHERE PADBID = $pa")" = "$1" ] || { echo "  PolicyAssignment.Version"; return 1; }
    [ "$(sql "SELECT PolicyHash FROM Policy WHERE PolicyID = '$pid'")" = "$(sha "$body")" ] || { echo "  PolicyHash"; return 1; }
    [ "$(sql "SELECT BodyHash FROM PolicyAssignment WHERE PADBID = $pa")" = "$(sha "$pab")" ] || { echo "  BodyHash"; return 1; }
    [ "$(sql "SELECT InProcess FROM PolicyAssignment WHERE PADBID = $pa")" = 0 ] || { echo "  InProcess"; return 1; }
    grep -qF "PolicyVersion=\"$1\"" <<<"$body" || { echo "  body version"; return 1; }
    grep -qF "PolicyHash=\"$(sha "$body")\"" <<<"$pab" || { echo "  assignment reference"; return 1; }
}

# Files (not folders) directly in a folder.
nfiles() { find "$1" -maxdepth 1 ! -type d -printf x | wc -c; }
box_empty() { [ "$(nfiles "$box")" = 0 ] && [ "$(nfiles "$box/process")" = 0 ]; }
quiet() { box_empty && [ "$(sql "SELECT COUNT(*) FROM TableChangeNotifications")" = 0 ]; }
statmsgs() { sql "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = $1"; }

# Rename every file of $stage into the box at once (as a relay delivers a batch).
drop_staged() {
    python3 -c 'import os, sys
for name in os.listdir(sys.argv[1]):
    os.rename(os.path.join(sys.argv[1], name), os.path.join(sys.argv[2], name))' "$stage" "$box"
}

# Case variants of a {GUID}.STN name: variant NAME N.
variant() {
    local name=$1 n=$2 out="" i c k=0
    for ((i = 0; i < ${#name}; i++)); do
        c=${name:i:1}
        if [[ $c == [A-F] ]]; then
            (((n >> k) & 1)) && c=${c,,}
            k=$((k + 1))
        fi
        out+=$c
    done
    echo "$out"
}
