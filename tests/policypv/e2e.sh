#!/bin/bash
# e2e.sh - Policy Provider end to end, with the real smsdbmon, policypv and
# smsmp on a real site database (SQLite, or PostgreSQL under
# tests/with-postgres.sh): a sync raises the content version, smsdbmon
# drops {GUID}.STN, the policy version goes up by exactly one, the
# documents' query returns the new body, and the WSUS location lookup
# (cmsite wsus-location and the HTTP endpoint) returns the SUP's URL at
# that version and nothing for an older or newer one.  Also several .STN
# for one change, a failed sync (content versions that disagree), the
# periodic check catching a missed notification, and a clean stop.
. "$(dirname "$0")/pvlib.sh"

check "cmsite init" init_site
port=$(free_port)
"$CMSITE" config --root "$root" SMS_MP_CONTROL_MANAGER 'Location Port' "$port" >/dev/null
"$CMSITE" config --root "$root" MP_LocationManager 'Verbose Logging' 1 >/dev/null
guid=$(source_id)
check "the site has an update source" test -n "$guid"
start smsdbmon "$SMSDBMON" --root "$root"
start policypv "$POLICYPV" --root "$root"
start smsmp "$SMSMP" --root "$root"

check "policypv connected" wait_for 20 log_has "$pvlog" "Connected to the site database"
# cmsite init's sync status row (content version 0) already made a .STN.
check "the first .STN is found" wait_for 20 log_has "$pvlog" "Found $guid.STN"
check "no policy before the first sync" wait_for 10 log_has "$pvlog" "Site CS1 has no synchronized update source yet"
check "no SettingsPolicy row yet" test "$(sql "SELECT COUNT(*) FROM SettingsPolicy")" = 0

# --- a sync raises the content version to 1 ---------------------------------
bump
check "smsdbmon drops the .STN (non-zero)" wait_for 10 log_has "$root/logs/smsdbmon.log" \
    "SND: Dropped $box/$guid.STN (non-zero) ["
check "policy version 1.00" wait_for 20 version_is 1.00
check "Found {GUID}.STN" log_has "$pvlog" "Found $guid.STN  \$\$<SMS_POLICY_PROVIDER><"
check "Added Scan Tool ID {GUID}" log_has "$pvlog" "Added Scan Tool ID $guid  \$\$<SMS_POLICY_PROVIDER><"
check "Adding to delete list: <path>" log_has "$pvlog" "Adding to delete list: $box/$guid.STN  \$\$<"
check "the .STN is deleted after the commit" wait_for 10 box_empty
check "the body carries content version 1" body_has_cv 1
check "the body carries the update source ID" body_has "<value>$guid</value>"
check "Policy and PolicyAssignment agree at 1.00" rows_agree 1.00
check "status message 8300 stored" test "$(statmsgs 8300)" = 1

# --- the next sync: exactly one more version --------------------------------
bump
check "policy version 2.00" wait_for 20 version_is 2.00
# Quiet: no notification pending in the database, no file in the box.
check "nothing left to do" wait_for 10 quiet
check "exactly one increment" version_is 2.00
check "two versions written in all" test "$(updates_logged)" = 2
check "the body carries content version 2" body_has_cv 2
check "rows agree at 2.00" rows_agree 2.00
check "one Policy row, one PolicyAssignment row" test "$(sql "SELECT COUNT(*) FROM Policy")$(sql "SELECT COUNT(*) FROM PolicyAssignment")" = 11

# --- the WSUS location at that version, and not at others --------------------
out=$("$CMSITE" wsus-location --root "$root"); rc=$?
check "cmsite wsus-location finds the SUP" test $rc -eq 0
check "... its URL at version 2" grep -qF '<LocationRecord WSUSURL="http://cs1site.contoso.com:8530" ServerName="cs1site.contoso.com" Version="2"/>' <<<"$out"
check "... as a WSUSLocationReply for site CS1" grep -qF '<WSUSLocationReply SchemaVersion="1.00"><Sites><Site><MPSite SiteCode="CS1"/>' <<<"$out"
for v in 1 3; do
    out=$("$CMSITE" wsus-location --root "$root" --version $v 2>"$root/err"); rc=$?
    check "version $v: empty reply (exit 3)" test $rc -eq 3
    check "version $v: <Sites/>" grep -qF '<WSUSLocationReply SchemaVersion="1.00"><Sites/></WSUSLocationReply>' <<<"$out"
    check "version $v: the reason" grep -qF "The content versions disagree: the client asks for $v" "$root/err"
done
"$CMSITE" wsus-location --root "$root" --id "$guid" --version 2 --site CS1 --print-request >"$root/req2.xml"
check "a request document from flags" grep -qF "<Content ID=\"$guid\" Version=\"2\"/>" "$root/req2.xml"
out=$("$CMSITE" wsus-location --root "$root" "$root/req2.xml"); rc=$?
check "cmsite wsus-location reads a request file" test $rc -eq 0
check "... and finds the URL" grep -qF 'WSUSURL="http://cs1site.contoso.com:8530"' <<<"$out"

out=$(echo '<WSUSLocationRequest><Content ID="x" Version="2"/></WSUSLocationRequest>' | "$CMSITE" wsus-location --root "$root" - 2>&1); rc=$?
check "a malformed request on standard input: exit 2" test $rc -eq 2
check "... saying why" grep -qF "not a valid WSUSLocationRequest: Content ID is missing or not a {GUID}" <<<"$out"
"$CMSITE" wsus-location --root "$root" --version two >/dev/null 2>&1; rc=$?
check "a bad flag: exit 2" test $rc -eq 2

check "smsmp listens" wait_for 20 log_has "$mplog" "MP LM: Listening for WSUS location requests on http://127.0.0.1:$port/ccm_system/request"
url="http://127.0.0.1:$port/ccm_system/request"
out=$(curl -s --data-binary @"$root/req2.xml" "$url")
check "HTTP: the SUP's URL at version 2" grep -qF '<LocationRecord WSUSURL="http://cs1site.contoso.com:8530" ServerName="cs1site.contoso.com" Version="2"/>' <<<"$out"
for v in 1 3; do
    sed "s/Version=\"2\"/Version=\"$v\"/" "$root/req2.xml" >"$root/req$v.xml"
    out=$(curl -s --data-binary @"$root/req$v.xml" "$url")
    check "HTTP: nothing for version $v" test "$out" = '<WSUSLocationReply SchemaVersion="1.00"><Sites/></WSUSLocationReply>'
done
check "MP_Location.log: Message Body" log_has "$mplog" "MP LM: Message Body : <WSUSLocationRequest SchemaVersion=\"1.00\"><Content ID=\"$guid\" Version=\"2\"/>"
check "MP_Location.log: calling MP_GetWSUSServerLocations" log_has "$mplog" "MP LM: calling MP_GetWSUSServerLocations"
check "MP_Location.log: Reply message body" log_has "$mplog" "MP LM: Reply message body:~<WSUSLocationReply SchemaVersion=\"1.00\"><Sites><Site>"

msgs=$("$CMSITE" statmsg --root "$root" --component SMS_POLICY_PROVIDER)
check "cmsite statmsg shows 8300 as text" grep -qF "Policy Provider updated the UpdateSource policy" <<<"$msgs"

# --- several .STN for one change make one version -----------------------------
bump
for n in $(seq 1 20); do : >"$box/$(variant "$guid" "$n").STN"; done
check "policy version 3.00" wait_for 20 version_is 3.00
check "every .STN is handled" wait_for 20 box_empty
check "still 3.00: one version for the burst" version_is 3.00
check "three versions written in all" test "$(updates_logged)" = 3
check "rows agree at 3.00" rows_agree 3.00

# --- a failed sync: the locations stay behind ---------------------------------
sql "BEGIN; UPDATE Update_SyncStatus SET ContentVersion = 4 WHERE SiteCode = 'CS1';
     UPDATE CI_UpdateSources SET ContentVersion = 4 WHERE SourceSite = 'CS1'; COMMIT;"
check "the policy follows Update_SyncStatus to 4" wait_for 20 body_has_cv 4
check "policy version 4.00" version_is 4.00
"$CMSITE" wsus-location --root "$root" --version 4 >/dev/null 2>"$root/err"; rc=$?
check "no location while WSUSServerLocations lags" test $rc -eq 3
check "... and cmsite says which table lags" grep -qF "CI_UpdateSources holds 4, Update_SyncStatus 4 and WSUSServerLocations 3" "$root/err"
out=$(sed 's/Version="2"/Version="4"/' "$root/req2.xml" | curl -s --data-binary @- "$url")
check "HTTP: nothing at 4 while the locations lag" grep -qF '<Sites/>' <<<"$out"
check "MP_Location.log says why" wait_for 5 log_has "$mplog" "MP LM: No WSUS location for update source $guid version 4: The content versions disagree"
sql "UPDATE WSUSServerLocations SET ContentVersion = 4 WHERE SiteCode = 'CS1'"
check "found again once the three agree" bash -c "\"$CMSITE\" wsus-location --root \"$root\" --version 4 >/dev/null"

# --- a missed notification is caught by the periodic check --------------------
check "smsdbmon stops" stop smsdbmon
"$CMSITE" config --root "$root" SMS_POLICY_PROVIDER 'Polling Interval' 1 >/dev/null
bump
check "no .STN without smsdbmon" test "$(nfiles "$box")" = 0
check "the periodic check writes 5.00" wait_for 30 version_is 5.00
check "... and says why" log_has "$pvlog" "Periodic check: the UpdateSource policy"
check "status message 8304 stored" test "$(statmsgs 8304)" -ge 1
check "rows agree at 5.00" rows_agree 5.00
check "body carries content version 5" body_has_cv 5

# --- clean stop ----------------------------------------------------------------
stop policypv; rc=$?
check "policypv stops cleanly" test $rc -eq 0
check "stop logged" log_has "$pvlog" "SMS_POLICY_PROVIDER stopped."
stop smsmp; rc=$?
check "smsmp stops cleanly" test $rc -eq 0
check "no errors from the daemons on stderr" test ! -s "$root/policypv.stderr" -a ! -s "$root/smsmp.stderr"
done_tests
