#!/bin/bash
# faults.sh - end to end, WCM's failures and the settings it manages, with
# the real smsdbmon, wcm and wsusd: a wrong connection account (HTTP 401)
# gives state 3 with the documents' steps, wsyncmgr's documented "WSUS
# server not configured" failure when wsyncmgr is built, and recovery once
# the account is fixed; an unreachable SUP; a setting the SUP rejects (a
# SOAP fault); a SOAP fault from a broken WSUS database; a site setting that
# makes no sense; the upstream server and the proxy with its account on
# wsusd; a second SUP configured as a replica of the first; bad files in
# WSUSMgr.box quarantined.  SQLite, or PostgreSQL under with-postgres.sh.
. "$(dirname "$0")/wcmlib.sh"

set_sup() { sql "UPDATE SoftwareUpdatePoints SET $1 WHERE ServerName = 'localhost'"; }
WAUTH='CONTOSO\wsussvc:S3cret!'
# cfg_has PORT TEXT: the configuration of the wsusd on PORT holds TEXT (the first one wants the account).
cfg_has() {
    local auth=
    [ "$1" = "$WPORT" ] && auth=$WAUTH
    api "$1" ExecuteSPGetConfiguration "" "$auth" | grep -qF -- "$2"
}
istr() { # istr ID INDEX: the last stored insertion string of a WCM message
    sql "SELECT s.InsStrValue FROM StatusMessages m JOIN StatusMessageInsStrs s ON s.RecordID = m.RecordID WHERE m.MessageID = $1 AND s.InsStrIndex = $2 AND m.Component = 'SMS_WSUS_CONFIGURATION_MANAGER' ORDER BY m.RecordID DESC LIMIT 1"
}
# fails_after N TEXT: a failure logged after the Nth "Remote configuration failed" line
failed_again() { more_lines "Remote configuration failed on WSUS Server." "$1"; }
n_failed() { count_lines "Remote configuration failed on WSUS Server."; }

# --- wrong account: 401, state 3, wsyncmgr refuses, recovery ----------------
init_site >/dev/null || { bad "cmsite init"; exit 1; }
WPORT=$(free_port) || { bad "no free port"; exit 1; }
sql "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost', PortNumber = $WPORT, SSLPortNumber = $((WPORT + 1)), ConnectionAccount = 'CONTOSO\\wsussvc', ConnectionPassword = 'wrong' WHERE SiteCode = 'CS1'"
"$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'Subscription Wait' 1 >/dev/null
echo 'S3cret!' | "$WSUSD" --root "$root" --set-account 'CONTOSO\wsussvc' >/dev/null
start_wsusd wsusd "$root" "$WPORT" || { bad "wsusd serves on port $WPORT"; exit 1; }
start smsdbmon "$SMSDBMON" --root "$root"
start wcm "$WCM" --root "$root"

check "wrong account: state 3" wait_for 30 state_is localhost 3
check "wrong account: the error and what to check, in order" in_order "$wlog" \
    "Setting new configuration state to 1 (WSUS_CONFIG_PENDING)" \
    "Attempting connection to WSUS server: localhost, port: $WPORT, useSSL: False" \
    "ERROR: Connecting on WSUS server localhost, port: $WPORT, useSSL: False failed: The request failed with HTTP status 401: Unauthorized" \
    "Steps to try: Verify that the Software Update Point connection account is configured (if required) and that it has the permissions to connect to the WSUS computer (connection account: CONTOSO\\wsussvc). Verify that the permissions on the ApiRemoting30 Virtual Directory are set correctly." \
    "Remote configuration failed on WSUS Server." \
    "STATMSG: ID=8401 SEV=E" \
    "Setting new configuration state to 3 (WSUS_CONFIG_FAILED)" \
    "Waiting for changes for 60 minutes"
check "wrong account: the API answers 401 to that account" bash -c "curl -s -o /dev/null -w '%{http_code}' -u 'CONTOSO\\wsussvc:wrong' -X POST --data x http://127.0.0.1:$WPORT/ApiRemoting30/WebService.asmx | grep -q 401"
check "wrong account: never connected" test "$(count_lines "Successfully connected to server")" -eq 0
check "wrong account: 8401 with the error" test "$(istr 8401 2)" = "The request failed with HTTP status 401: Unauthorized"
check "wrong account: WCMLastError" test "$(sql "SELECT WCMLastError FROM SoftwareUpdatePoints WHERE ServerName = 'localhost'")" = "The request failed with HTTP status 401: Unauthorized"
check "wrong account: wsusd denied it" log_has "$root/logs/wsusd.log" "denied for user 'CONTOSO\\wsussvc'"
cat_msg=$("$CMSITE" statmsg --root "$root" --id 8401 2>&1)
check "cmsite statmsg shows 8401 as text" grep -q "WSUS Configuration Manager failed to configure WSUS server localhost" <<<"$cat_msg"

if [ -n "${WSYNCMGR:-}" ]; then
    "$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Post Sync Wait' 0 >/dev/null
    start wsyncmgr "$WSYNCMGR" --root "$root"
    "$CMSITE" syncnow --root "$root" >/dev/null
    check "wsyncmgr: the documented failure" wait_for 60 log_has "$root/logs/wsyncmgr.log" \
        "Sync failed: WSUS server not configured. Please refer to WCM.log for configuration error details. Source: CWSyncMgr::DoSync"
    check "wsyncmgr: 6703 with the documents' strings" wait_for 10 bash -c \
        "grep -q 'ID=6703 SEV=E .*ISTR0=\"CWSyncMgr::DoSync\" ISTR1=\"WSUS server not configured' '$root/logs/wsyncmgr.log'"
    stop wsyncmgr
else
    echo "skip - wsyncmgr is not built: its 'WSUS server not configured' failure is not checked"
fi

nok=$(count_lines "Setting new configuration state to 2 (WSUS_CONFIG_SUCCESS)")
set_sup "ConnectionPassword = 'S3cret!'"
check "account fixed: WCM notices the change and configures" wait_for 30 state_is localhost 2
check "account fixed: logged" in_order "$wlog" \
    "The settings of the software update points of site CS1 changed in the site database; configuring them now." \
    "Successfully connected to server: localhost, port: $WPORT, useSSL: False" \
    "Configuration successful. Will wait for 1 second for any subscription or proxy changes" \
    "Setting new configuration state to 2 (WSUS_CONFIG_SUCCESS)"
check "account fixed: the error is cleared" test -z "$(sql "SELECT WCMLastError FROM SoftwareUpdatePoints WHERE ServerName = 'localhost' AND WCMLastError IS NOT NULL")"
check "account fixed: 8400" test "$(istr 8400 0)" = localhost
if [ -n "${WSYNCMGR:-}" ]; then
    nfail=$(grep -c "WSUS server not configured" "$root/logs/wsyncmgr.log")
    start wsyncmgr "$WSYNCMGR" --root "$root"
    "$CMSITE" syncnow --root "$root" >/dev/null
    check "wsyncmgr: synchronizes the configured SUP" wait_for 120 log_has "$root/logs/wsyncmgr.log" "Synchronizing WSUS server localhost"
    check "wsyncmgr: no new 'not configured' failure" test "$(grep -c "WSUS server not configured" "$root/logs/wsyncmgr.log")" -eq "$nfail"
    stop wsyncmgr
fi

# --- an unreachable SUP ------------------------------------------------------
nf=$(n_failed)
DEAD=$(free_port)
set_sup "PortNumber = $DEAD"
check "unreachable: state 3" wait_for 30 failed_again "$nf"
check "unreachable: the error and what to check" in_order "$wlog" \
    "Attempting connection to WSUS server: localhost, port: $DEAD, useSSL: False" \
    "ERROR: Connecting on WSUS server localhost, port: $DEAD, useSSL: False failed: Unable to connect to the remote server" \
    "Steps to try: Verify that the Update Services service is running on the WSUS computer. Verify that the Default Website or WSUS Administration website is running on the WSUS computer. Check the port settings configured for the Software Update Point and verify that they are the same as the port settings that are configured for the website used by WSUS on the Software Update Point (port $DEAD," \
    "Setting new configuration state to 3 (WSUS_CONFIG_FAILED)"
check "unreachable: state 3 stored" state_is localhost 3
set_sup "PortNumber = $WPORT"
check "reachable again: state 2" wait_for 30 state_is localhost 2

# --- a setting the SUP rejects: a SOAP fault ----------------------------------
nf=$(n_failed)
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER Languages 'en,xx' >/dev/null
check "rejected language: state 3" wait_for 30 failed_again "$nf"
check "rejected language: the fault and what to check" in_order "$wlog" \
    "Changing update languages from en to en,xx" \
    "ERROR: Changing the configuration on WSUS server localhost, port: $WPORT, useSSL: False failed: The configuration is not valid: an update language is not known to this server" \
    "Steps to try: The WSUS server rejected the setting." \
    "Remote configuration failed on WSUS Server." \
    "Setting new configuration state to 3 (WSUS_CONFIG_FAILED)"
check "rejected language: wsusd keeps its languages" cfg_has "$WPORT" "<EnabledUpdateLanguages>en</EnabledUpdateLanguages>"
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER Languages 'en,de' >/dev/null
check "languages fixed: state 2" wait_for 30 state_is localhost 2
check "languages fixed: wsusd has them" cfg_has "$WPORT" "<EnabledUpdateLanguages>de,en</EnabledUpdateLanguages>"

# --- a SOAP fault from the SUP's own database, retried on the next cycle ------
nf=$(n_failed)
susdb "$root" "ALTER TABLE tbSubscription RENAME TO tbSubscriptionAway"
touch "$box/900.CSB"
check "broken WSUS database: state 3" wait_for 30 failed_again "$nf"
check "broken WSUS database: the fault" in_order "$wlog" \
    "File notification triggered WCM Inbox." \
    "ERROR: Reading the subscription on WSUS server localhost, port: $WPORT, useSSL: False failed: The WSUS database could not be read or written" \
    "Steps to try: Review wsusd.log (WSUSCtrl.log) on the WSUS computer for errors." \
    "Setting new configuration state to 3 (WSUS_CONFIG_FAILED)"
check "broken WSUS database: the notification is removed all the same" wait_for 10 bash -c "[ ! -e '$box/900.CSB' ]"
susdb "$root" "ALTER TABLE tbSubscriptionAway RENAME TO tbSubscription"
touch "$box/901.CSB"
check "WSUS database back: the next cycle succeeds" wait_for 30 state_is localhost 2

# --- a site setting that makes no sense is not sent ---------------------------
natt=$(count_lines "Attempting connection to WSUS server")
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Sync Source' UpstreamServer >/dev/null
check "upstream without a name: state 3" wait_for 30 state_is localhost 3
check "upstream without a name: said so" wait_for 10 log_has "$wlog" \
    "ERROR: Cannot compute the configuration of WSUS server localhost: The sync source is UpstreamServer but the Upstream Server setting '' is not a server name"
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Upstream Server' 'bad host!' >/dev/null
check "bad upstream name: said so" wait_for 30 log_has "$wlog" \
    "ERROR: Cannot compute the configuration of WSUS server localhost: The sync source is UpstreamServer but the Upstream Server setting 'bad host!' is not a server name"
check "bad site settings: the SUP was not contacted" test "$(count_lines "Attempting connection to WSUS server")" -eq "$natt"
check "bad site settings: 8401 says what to correct" bash -c "grep -q 'cmsite config' <<<\"\$1\"" _ "$(istr 8401 3)"

# --- upstream server and proxy on wsusd ----------------------------------------
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Upstream Server' 'upstream.contoso.com:8531' >/dev/null
check "upstream server: state 2" wait_for 30 state_is localhost 2
check "upstream server: logged" log_has "$wlog" "Changing the upstream server from Microsoft Update to upstream.contoso.com, port: 8531, useSSL: False"
check "upstream server: on wsusd" cfg_has "$WPORT" "<SyncSource>UpstreamServer</SyncSource>"
check "upstream server: name and port" cfg_has "$WPORT" "<UpstreamServerName>upstream.contoso.com</UpstreamServerName><ServerPortNumber>8531</ServerPortNumber>"

set_sup "UseProxy = 1, ProxyName = 'proxy.contoso.com', ProxyPort = 3128, ProxyAccount = 'CONTOSO\\proxysvc', ProxyPassword = 'pr0xy'"
check "proxy: logged" wait_for 30 log_has "$wlog" "Changing the proxy server from no proxy to proxy.contoso.com:3128 with account CONTOSO\\proxysvc"
check "proxy: on wsusd" wait_for 10 cfg_has "$WPORT" "<UseProxy>true</UseProxy><ProxyName>proxy.contoso.com</ProxyName><ProxyServerPort>3128</ProxyServerPort><ProxyUserName>proxysvc</ProxyUserName><ProxyUserDomain>CONTOSO</ProxyUserDomain>"
check "proxy: the password is not echoed back" bash -c "! grep -q pr0xy <<<\"\$1\"" _ "$(api "$WPORT" ExecuteSPGetConfiguration "" "$WAUTH")"
check "proxy: the password is not logged" bash -c "! grep -q pr0xy '$wlog'"
npw=$(count_lines "Setting the password of proxy account")
set_sup "ProxyPassword = 'n3w'"
check "proxy password changed: sent again" wait_for 30 more_lines "Setting the password of proxy account CONTOSO\\proxysvc" "$npw"
set_sup "UseProxy = 0"
check "no proxy: logged" wait_for 30 log_has "$wlog" "Changing the proxy server from proxy.contoso.com:3128 with account CONTOSO\\proxysvc to no proxy"
check "no proxy: on wsusd" wait_for 10 cfg_has "$WPORT" "<UseProxy>false</UseProxy>"
"$CMSITE" config --root "$root" SMS_WSUS_SYNC_MANAGER 'Sync Source' MicrosoftUpdate >/dev/null
check "back to Microsoft Update" wait_for 30 log_has "$wlog" "Changing the upstream server from upstream.contoso.com, port: 8531, useSSL: False to Microsoft Update"
check "back to Microsoft Update: on wsusd" wait_for 10 cfg_has "$WPORT" "<SyncSource>MicrosoftUpdate</SyncSource>"

# --- a second SUP: a replica of the first ---------------------------------------
root2=$(mktemp -d /tmp/cmwsus2.XXXXXX)
W2=$(free_port)
start_wsusd wsusd2 "$root2" "$W2" || bad "second wsusd serves on port $W2"
sql "INSERT INTO SoftwareUpdatePoints (SiteCode, ServerName, PortNumber, SSLPortNumber, UseSSL, InstallOrder) VALUES ('CS1', '127.0.0.1', $W2, $((W2 + 1)), 0, 2)"
check "replica SUP: state 2" wait_for 30 state_is 127.0.0.1 2
check "replica SUP: configured as a replica of the first SUP" in_order "$wlog" \
    "Attempting connection to WSUS server: 127.0.0.1, port: $W2, useSSL: False" \
    "Changing the upstream server from Microsoft Update to localhost, port: $WPORT, useSSL: False" \
    "Changing replica mode from False to True"
check "replica SUP: on its wsusd" cfg_has "$W2" "<SyncSource>UpstreamServer</SyncSource><SyncToMU>false</SyncToMU><UpstreamServerName>localhost</UpstreamServerName><ServerPortNumber>$WPORT</ServerPortNumber><UpstreamServerUseSsl>false</UpstreamServerUseSsl><ReplicaMode>true</ReplicaMode>"
check "first SUP: still state 2" state_is localhost 2
stop wsusd2
rm -rf "$root2"

# --- bad files in WSUSMgr.box -----------------------------------------------------
n8403=$(msg_count 8403)
echo x > "$box/notes.txt"
ln -s /etc/passwd "$box/link.CSB"
head -c 70000 /dev/zero > "$box/big.CSB"
n8403_ge() { [ "$(msg_count 8403)" -ge "$1" ]; }
check "bad files: quarantined with a status message each" wait_for 30 n8403_ge $((n8403 + 3))
check "bad files: moved to corrupt/" test -e "$box/corrupt/notes.txt" -a -L "$box/corrupt/link.CSB" -a -e "$box/corrupt/big.CSB"
check "bad files: logged" log_has "$wlog" "Rejected notification file link.CSB in $box: not a regular file."
check "bad files: nothing left in the box" bash -c "[ -z \"\$(find '$box' -maxdepth 1 -type f -o -maxdepth 1 -type l)\" ]"
check "WCM still running" kill -0 "${PIDS[wcm]}"

# --- SSL: the SUP's SSL port and a certificate WCM must be told to trust -----------
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$root/sup.key" -out "$root/sup.pem" -days 2 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" >/dev/null 2>&1; then
    stop wsusd
    start wsusd "$WSUSD" --root "$root" --port "$WPORT" --ssl-port $((WPORT + 1)) --cert "$root/sup.pem" --key "$root/sup.key"
    check "wsusd serves SSL" wait_for 20 curl -s -o /dev/null --cacert "$root/sup.pem" "https://localhost:$((WPORT + 1))/ClientWebService/wusserverversion.xml"
    nf=$(n_failed)
    set_sup "UseSSL = 1"
    check "untrusted certificate: state 3" wait_for 30 failed_again "$nf"
    check "untrusted certificate: the error and what to check" in_order "$wlog" \
        "Attempting connection to WSUS server: localhost, port: $((WPORT + 1)), useSSL: True" \
        "failed: The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel." \
        "Steps to try: If the Software Update Point is configured for SSL (HTTPS), verify that WSUS is correctly configured for SSL." \
        "Setting new configuration state to 3 (WSUS_CONFIG_FAILED)"
    "$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'SSL CA File' "$root/sup.pem" >/dev/null
    check "trusted certificate: state 2" wait_for 30 state_is localhost 2
    check "trusted certificate: connected over SSL" log_has "$wlog" "Successfully connected to server: localhost, port: $((WPORT + 1)), useSSL: True"
else
    echo "skip - openssl cannot make a test certificate: the SSL part is not checked"
fi

end_tests
