#!/bin/bash
# subscribe.sh - end to end, issue 4's "done when": cmsite subscribe a
# product and a classification, smsdbmon drops the .CSB, WCM wakes ("File
# notification triggered WCM Inbox.") and changes the subscription of the
# real wsusd through its administration API with the document's WCM.log
# lines, state 2 is recorded; wsusd's own synchronization then brings only
# updates of that product and classification; settings changed behind
# WCM's back on wsusd are put back by the next interval check; an
# unsubscription is applied; and a site without categories reads them from
# its software update point.  SQLite, or PostgreSQL under with-postgres.sh.
. "$(dirname "$0")/wcmlib.sh"

P2012=a105a108-7c9b-4518-bbbe-73f0fe30012b
P2008=fdfe8200-9d98-44ba-a12a-772282bf60ef
CSEC=0fa1201d-4330-4fa8-8ae9-b877473b6441
CCRIT=e6cf1350-c01b-414d-a61f-263d14d133b4

has_sub() { api "$WPORT" GetSubscription | grep -qF -- "$1"; }
has_cfg() { api "$WPORT" ExecuteSPGetConfiguration | grep -qF -- "$1"; }

setup_site
check "first pass: state 2 recorded" wait_for 30 state_is localhost 2
check "first pass: version check lines" wait_for 10 in_order "$wlog" \
    "Checking for supported version of WSUS (min WSUS 3.0 SP2 + KB2720211 + KB2734608)" \
    "Checking runtime v2.0.50727..." \
    "Did not find supported version of assembly Microsoft.UpdateServices.Administration." \
    "Checking runtime v4.0.30319..." \
    "Found supported assembly Microsoft.UpdateServices.Administration version 4.0.0.0, file version" \
    "Found supported assembly Microsoft.UpdateServices.BaseApi version 4.0.0.0, file version" \
    "Supported WSUS version found" \
    "Setting new configuration state to 1 (WSUS_CONFIG_PENDING)" \
    "Attempting connection to WSUS server: localhost, port: $WPORT, useSSL: False" \
    "Successfully connected to server: localhost, port: $WPORT, useSSL: False" \
    "No changes - WSUS Server settings are correctly configured and Upstream Server is set to Microsoft Update" \
    'Subscribed Update Categories <?xml version="1.0" ?>~<Categories>~</Categories>' \
    "Configuration successful. Will wait for 1 second for any subscription or proxy changes" \
    "Setting new configuration state to 2 (WSUS_CONFIG_SUCCESS)" \
    "Waiting for changes for 60 minutes"
check "first pass: 8400 stored" test "$(msg_count 8400)" -eq 1
check "first pass: WSUS version recorded" test "$(sql "SELECT WSUSVersion FROM SoftwareUpdatePoints WHERE ServerName = 'localhost'")" = 10.0.17763.1

# Before any synchronization nobody knows a category: cmsite says what to do.
out=$("$CMSITE" subscribe --root "$root" 2>&1); rc=$?
check "subscribe with no categories anywhere fails (exit 1)" test "$rc" -eq 1
check "... and says to synchronize first" grep -q "has none either" <<<"$out"

# The categories a synchronization of the site database would insert.
for row in "Product:$P2012|Product|Windows Server 2012" "Product:$P2008|Product|Windows Server 2008 R2" \
           "UpdateClassification:$CSEC|UpdateClassification|Security Updates" \
           "UpdateClassification:$CCRIT|UpdateClassification|Critical Updates"; do
    IFS='|' read -r uid type name <<<"$row"
    sql "INSERT INTO CI_CategoryInstances (CategoryInstance_UniqueID, CategoryTypeName) VALUES ('$uid', '$type')"
    sql "INSERT INTO CI_LocalizedCategoryInstances (CategoryInstanceID, LocaleID, CategoryInstanceName) SELECT CategoryInstanceID, 1033, '$name' FROM CI_CategoryInstances WHERE CategoryInstance_UniqueID = '$uid'"
done
out=$("$CMSITE" subscribe --root "$root" 2>&1); rc=$?
check "subscribe lists the site's categories" test "$rc" -eq 0
check "... products unsubscribed" grep -q "^  \[ \] Windows Server 2012 .*Product:$P2012" <<<"$out"
check "... classifications unsubscribed" grep -q "^  \[ \] Security Updates .*UpdateClassification:$CSEC" <<<"$out"

out=$("$CMSITE" subscribe --root "$root" --product "Nonexistent Product" 2>&1); rc=$?
check "an unknown product is refused (exit 2)" test "$rc" -eq 2
check "... saying how to list them" grep -q "no product 'Nonexistent Product' is known to the site" <<<"$out"

# --- the subscription ---------------------------------------------------------
n4=$(count_lines "Setting new configuration state to 4")
out=$("$CMSITE" subscribe --root "$root" --product "windows server 2012" --classification "UpdateClassification:$CSEC" 2>&1); rc=$?
check "subscribe a product by title and a classification by ID" test "$rc" -eq 0
check "... says what it did" grep -q "Subscribed to Product:$P2012 (Windows Server 2012)" <<<"$out"
check "CI_UpdateCategorySubscription holds both" test "$(sql "SELECT COUNT(*) FROM CI_UpdateCategorySubscription WHERE IsSubscribed = 1")" -eq 2
id2012=$(sql "SELECT CategoryInstanceID FROM CI_CategoryInstances WHERE CategoryInstance_UniqueID = 'Product:$P2012'")
idsec=$(sql "SELECT CategoryInstanceID FROM CI_CategoryInstances WHERE CategoryInstance_UniqueID = 'UpdateClassification:$CSEC'")
check "smsdbmon receives the change" wait_for 20 log_has "$root/logs/smsdbmon.log" "RCV: INSERT on CI_UpdateCategorySubscription for SubNotify_iu_WCM [$id2012 ]"
check "smsdbmon drops the .CSB into WSUSMgr.box" wait_for 20 log_has "$root/logs/smsdbmon.log" "SND: Dropped $root/inboxes/WSUSMgr.box/$idsec.CSB"
check "WCM wakes and sets state 2" wait_for 30 in_order "$wlog" "File notification triggered WCM Inbox." "Setting new configuration state to 2 (WSUS_CONFIG_SUCCESS)"
check "the document's WCM.log lines, in order" in_order "$wlog" \
    "File notification triggered WCM Inbox." \
    "Setting new configuration state to 4 (WSUS_CONFIG_SUBSCRIPTION_PENDING)" \
    "Attempting connection to WSUS server: localhost, port: $WPORT, useSSL: False" \
    "Successfully connected to server: localhost, port: $WPORT, useSSL: False" \
    "Subscribed Update Categories <?xml version=\"1.0\" ?>~<Categories>~<Category Id=\"Product:$P2012\"><![CDATA[Windows Server 2012]]></Category>~<Category Id=\"UpdateClassification:$CSEC\"><![CDATA[Security Updates]]></Category>~</Categories>" \
    "Subscribing to Product:$P2012 (Windows Server 2012)" \
    "Subscribing to UpdateClassification:$CSEC (Security Updates)" \
    "Configuration successful. Will wait for 1 second for any subscription or proxy changes" \
    "Setting new configuration state to 2 (WSUS_CONFIG_SUCCESS)"
check "one subscription pass for the two notifications" test "$(count_lines "Setting new configuration state to 4")" -eq $((n4 + 1))
check "state 2 stored" state_is localhost 2
check "8400 with what changed" test "$(sql "SELECT COUNT(*) FROM StatusMessages m JOIN StatusMessageInsStrs s ON s.RecordID = m.RecordID WHERE m.MessageID = 8400 AND s.InsStrIndex = 3 AND s.InsStrValue = 'subscription'")" -eq 1
check "the notifications are removed" wait_for 10 bash -c "[ -z \"\$(find '$box' -maxdepth 1 -name '*.CSB')\" ]"
sub=$(api "$WPORT" GetSubscription)
check "wsusd subscribes to the product" grep -q "<Categories><guid>$P2012</guid></Categories>" <<<"$sub"
check "wsusd subscribes to the classification" grep -q "<Classifications><guid>$CSEC</guid></Classifications>" <<<"$sub"
check "wsusd does not synchronize on its own" grep -q "<SynchronizeAutomatically>false</SynchronizeAutomatically>" <<<"$sub"
check "wsusd logs who changed it" log_has "$root/logs/wsusd.log" "AdminDataAccess.SetSubscription Subscription changed by (anonymous): 1 product(s), 1 classification(s)"

# --- wsusd's synchronization brings only that product and classification -------
api "$WPORT" StartSubscriptionManually >/dev/null
sync_done() { api "$WPORT" GetLastSynchronizationInfo | grep -q "<Result>Succeeded</Result>"; }
check "wsusd synchronizes" wait_for 120 sync_done
nupd=$(susdb "$root" "SELECT COUNT(*) FROM tbRevision WHERE IsCategory = 0 AND UpdateType IN ('Software', 'Driver')")
check "updates arrived ($nupd)" test "${nupd:-0}" -gt 0
# Every update must sit in Windows Server 2012 and in Security Updates.
outside=$(susdb "$root" "SELECT COUNT(*) FROM tbRevision r WHERE r.IsCategory = 0 AND r.UpdateType IN ('Software', 'Driver') AND (NOT EXISTS (SELECT 1 FROM tbRevisionInCategory c JOIN tbUpdate u ON u.LocalUpdateID = c.CategoryID WHERE c.RevisionID = r.RevisionID AND u.UpdateID = '$P2012') OR NOT EXISTS (SELECT 1 FROM tbRevisionInCategory c JOIN tbUpdate u ON u.LocalUpdateID = c.CategoryID WHERE c.RevisionID = r.RevisionID AND u.UpdateID = '$CSEC'))")
check "no update outside the subscription ($outside)" test "$outside" = 0
check "wsusd reports updates left outside the subscription" log_has "$root/logs/wsusd.log" "outside the subscription"

# The site's synchronization (wsyncmgr, when built): the site database gets only those updates.
if [ -n "${WSYNCMGR:-}" ]; then
    "$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 0 >/dev/null
    start wsyncmgr "$WSYNCMGR" --root "$root"
    "$CMSITE" syncnow --root "$root" >/dev/null
    check "wsyncmgr: the site synchronizes" wait_for 180 log_has "$root/logs/wsyncmgr.log" "Sync succeeded."
    ncis=$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)")
    check "wsyncmgr: updates in the site database ($ncis)" test "${ncis:-0}" -gt 0
    member() { echo "EXISTS (SELECT 1 FROM CI_CategoryMemberships m JOIN CI_CategoryInstances c ON c.CategoryInstanceID = m.CategoryInstanceID WHERE m.CI_ID = ci.CI_ID AND c.CategoryInstance_UniqueID = '$1')"; }
    outside=$(sql "SELECT COUNT(*) FROM CI_ConfigurationItems ci WHERE ci.CIType_ID IN (1, 8) AND NOT ($(member "Product:$P2012") AND $(member "UpdateClassification:$CSEC"))")
    check "wsyncmgr: every update is Windows Server 2012 and Security Updates ($outside outside)" test "$outside" = 0
    stop wsyncmgr
else
    echo "skip - wsyncmgr is not built: the site database part of the sync is not checked"
fi

# --- settings changed behind WCM's back are put back on the next check ---------
cfg=$(api "$WPORT" ExecuteSPGetConfiguration | sed -n 's/.*<Configuration>\(.*\)<\/Configuration>.*/\1/p')
bad_cfg=$(sed -e 's/<ReplicaMode>false</<ReplicaMode>true</' -e 's/<EnabledUpdateLanguages>en</<EnabledUpdateLanguages>en,de</' <<<"$cfg")
api "$WPORT" ExecuteSPSetConfiguration "<configuration>$bad_cfg</configuration>" >/dev/null
api "$WPORT" SetSubscription "<subscription><SynchronizeAutomatically>true</SynchronizeAutomatically><SynchronizeAutomaticallyTimeOfDay>3600</SynchronizeAutomaticallyTimeOfDay><NumberOfSynchronizationsPerDay>1</NumberOfSynchronizationsPerDay><Categories><guid>$P2012</guid><guid>$P2008</guid></Categories><Classifications><guid>$CCRIT</guid></Classifications></subscription>" >/dev/null
check "the drift is on wsusd" has_cfg "<ReplicaMode>true</ReplicaMode>"
nver=$(count_lines "Supported WSUS version found")
"$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'Check Interval' 1 >/dev/null
check "the interval check runs (Check Interval 1 minute)" wait_for 150 more_lines "Supported WSUS version found" "$nver"
check "WCM puts the settings back and says what it changed" wait_for 20 in_order "$wlog" \
    "Supported WSUS version found" \
    "Verify Upstream Server settings on the Active WSUS Server" \
    "Updating the configuration of WSUS server localhost (2 changes):" \
    "Changing replica mode from True to False" \
    "Changing update languages from de,en to en" \
    "Successfully updated the configuration of WSUS server localhost; upstream is Microsoft Update" \
    "Updating the subscription of WSUS server localhost (4 changes):" \
    "Changing the synchronization schedule of the WSUS server from automatic to manual" \
    "Subscribing to UpdateClassification:$CSEC (Security Updates)" \
    "Unsubscribing from Product:$P2008 (Windows Server 2008 R2)" \
    "Unsubscribing from UpdateClassification:$CCRIT (Critical Updates)" \
    "Configuration successful." \
    "Waiting for changes for 1 minutes"
cfg=$(api "$WPORT" ExecuteSPGetConfiguration)
check "wsusd is no replica again" grep -q "<ReplicaMode>false</ReplicaMode>" <<<"$cfg"
check "wsusd has the site's languages again" grep -q "<EnabledUpdateLanguages>en</EnabledUpdateLanguages>" <<<"$cfg"
sub=$(api "$WPORT" GetSubscription)
check "wsusd has the site's subscription again" grep -q "<Categories><guid>$P2012</guid></Categories><Classifications><guid>$CSEC</guid></Classifications>" <<<"$sub"
check "... and synchronizes only when asked" grep -q "<SynchronizeAutomatically>false</SynchronizeAutomatically>" <<<"$sub"
check "8400 names the changes" test "$(sql "SELECT COUNT(*) FROM StatusMessages m JOIN StatusMessageInsStrs s ON s.RecordID = m.RecordID WHERE m.MessageID = 8400 AND s.InsStrIndex = 3 AND s.InsStrValue = 'replica mode, languages, subscription'")" -eq 1
"$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'Check Interval' 60 >/dev/null

# --- unsubscribe -------------------------------------------------------------
out=$("$CMSITE" subscribe --root "$root" --remove --classification "Security Updates" 2>&1); rc=$?
check "unsubscribe a classification" test "$rc" -eq 0
check "WCM applies the unsubscription" wait_for 30 log_has "$wlog" "Unsubscribing from UpdateClassification:$CSEC (Security Updates)"
check "wsusd keeps only the product" wait_for 10 has_sub "<Categories><guid>$P2012</guid></Categories><Classifications></Classifications>"
out=$("$CMSITE" subscribe --root "$root" --remove --classification "Security Updates" 2>&1)
check "unsubscribing again changes nothing" grep -q "Not subscribed to UpdateClassification:$CSEC (Security Updates) already." <<<"$out"
out=$("$CMSITE" subscribe --root "$root" 2>&1)
check "the list shows the product subscribed" grep -q "^  \[x\] Windows Server 2012 " <<<"$out"

# --- a site without categories reads them from its software update point -----
sql "DELETE FROM CI_UpdateCategorySubscription"
sql "DELETE FROM CI_LocalizedCategoryInstances"
sql "DELETE FROM CI_CategoryInstances"
ncat=$(api "$WPORT" ExecuteSPGetCategories | grep -o "<GenericReadableRow>" | wc -l)
out=$("$CMSITE" subscribe --root "$root" --all 2>&1); rc=$?
check "subscribe reads the SUP's $ncat categories" test "$rc" -eq 0 -a "$ncat" -gt 0
check "... and says so" grep -q "read $ncat categories from its software update point localhost and inserted $ncat into CI_CategoryInstances" <<<"$out"
check "... they are in the site database" test "$(sql "SELECT COUNT(*) FROM CI_CategoryInstances")" -eq "$ncat"
check "... with English names" test "$(sql "SELECT COUNT(*) FROM CI_LocalizedCategoryInstances WHERE LocaleID = 1033")" -eq "$ncat"
check "... and their parents" test "$(sql "SELECT COUNT(*) FROM CI_CategoryInstances WHERE CategoryTypeName = 'Product' AND ParentCategoryInstanceID IS NULL")" -eq 0
check "... listed with companies and families" grep -q "^Companies (" <<<"$out"

stop wcm
check "WCM stops cleanly" log_has "$wlog" "STATMSG: ID=502"
end_tests
