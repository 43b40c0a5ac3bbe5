#!/bin/bash
# e2e_web.sh - wsusd's web site with a real wsusd: the liveness answers of a
# WSUS server, the administration API driving a sync and reporting progress,
# HTTP authentication, and every kind of bad request (malformed SOAP,
# unknown operations, hostile XML, oversized bodies, slow clients), each
# answered as WSUS answers it, with one log line, the server staying up.
. "$(dirname "$0")/wsuslib.sh"

start_wsusd A --client-timeout 2 --max-body 65536 || exit 1
base=http://127.0.0.1:$port_A
log=$tmp/A/logs/wsusd.log
api=$base/ApiRemoting30/WebService.asmx

# Liveness: / is 403, the virtual directories exist.
check "/ answers 403" test "$(curl -s -o /dev/null -w '%{http_code}' $base/)" = 403
check "wusserverversion.xml" sh -c "curl -sf $base/ClientWebService/wusserverversion.xml | grep -q '<ServerVersion>'"
check "SimpleAuth.asmx" test "$(curl -s -o /dev/null -w '%{http_code}' $base/SimpleAuthWebService/SimpleAuth.asmx)" = 200
check "wuident.cab is a cab" sh -c "curl -sf $base/Selfupdate/wuident.cab | head -c 4 | grep -q MSCF"
check "unknown path answers 404" test "$(curl -s -o /dev/null -w '%{http_code}' $base/nothing/here)" = 404
check "paths ignore case, as IIS" test "$(curl -s -o /dev/null -w '%{http_code}' $base/selfupdate/WUIDENT.CAB)" = 200

soap() { # soap URL BODY: POST a SOAP request, print status and body
    curl -s -w '\n%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' --data-binary "$2" "$1"
}
env_open='<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
env_close='</soap:Body></soap:Envelope>'

# The administration API answers, with the MS-WSUSAR namespace.
out=$(soap $api "${env_open}<GetServerProtocolVersion xmlns=\"http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService\"/>${env_close}")
check "GetServerProtocolVersion" sh -c "echo '$out' | grep -q '<GetServerProtocolVersionResult>1.8</GetServerProtocolVersionResult>'"

# Malformed SOAP: a SOAP fault, one log line.
out=$(soap $api '<soap:Envelope><not-closed>')
check "malformed SOAP gets 500 and a fault" sh -c "echo '$out' | tail -n 1 | grep -q 500 && echo '$out' | grep -q 'Server was unable to read request'"
check "malformed SOAP is logged" log_has $log "is not a SOAP message; answered with a SOAP fault."
out=$(soap $base/ServerSyncWebService/ServerSyncWebService.asmx 'plain text, not XML')
check "malformed SOAP on ServerSyncWebService gets a fault" sh -c "echo '$out' | grep -q '<soap:Fault>'"

# Unknown operations: a SOAP fault naming it, one log line.
out=$(soap $api "${env_open}<FormatDisk xmlns=\"http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService\"/>${env_close}")
check "unknown operation gets a fault" sh -c "echo '$out' | grep -q 'Server did not recognize the value of HTTP Header SOAPAction'"
check "unknown operation is logged" log_has $log "Unknown operation http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService/FormatDisk"
out=$(soap $base/ServerSyncWebService/ServerSyncWebService.asmx "${env_open}<GetDeployments xmlns=\"http://www.microsoft.com/SoftwareDistribution\"/>${env_close}")
check "unimplemented MS-WSUSSS operation gets a fault" sh -c "echo '$out' | grep -q '<soap:Fault>'"

# Hostile XML: external entities and entity bombs are refused, nothing is read.
out=$(soap $api '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetServerVersion xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService">&e;</GetServerVersion></soap:Body></soap:Envelope>')
check "XXE request is refused" sh -c "echo '$out' | grep -q 'Server was unable to read request' && ! echo '$out' | grep -q 'root:'"

# MS-WSUSSS validation: a cookie that is not ours, an authorization cookie request with bad names.
out=$(soap $base/ServerSyncWebService/ServerSyncWebService.asmx "${env_open}<GetConfigData xmlns=\"http://www.microsoft.com/SoftwareDistribution\"><cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>Zm9yZ2Vk</EncryptedData></cookie></GetConfigData>${env_close}")
check "a forged cookie gets InvalidCookie" sh -c "echo '$out' | grep -q '<ErrorCode>InvalidCookie</ErrorCode>'"
out=$(soap $base/DssAuthWebService/DssAuthWebService.asmx "${env_open}<GetAuthorizationCookie xmlns=\"http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService\"><accountName>bad name!</accountName><accountGuid>x</accountGuid></GetAuthorizationCookie>${env_close}")
check "bad DSS identity gets InvalidParameters" sh -c "echo '$out' | grep -q '<ErrorCode>InvalidParameters</ErrorCode>'"

# Oversized body: 413 and a log line.
head -c 200000 /dev/zero | tr '\0' 'x' >$tmp/big.xml
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/xml' --data-binary @$tmp/big.xml $api)
check "oversized body gets 413" test "$code" = 413
check "oversized body is logged" log_has $log "refused with HTTP 413: the body is larger than 65536 bytes."

# A slow client: while it holds a connection half-sent, others are served;
# the server closes it when its idle time-out passes.
exec 3<>/dev/tcp/127.0.0.1/$port_A
printf 'POST /ApiRemoting30/WebService.asmx HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n<soap' >&3
check "served while a slow client holds a connection" "$WSUSCTL" -p $port_A version
check "the slow client is disconnected by the server" timeout 60 cat <&3
exec 3<&-

# The administration API drives a sync of the generated catalog and reports progress.
check "set the source" ctl A set-mu 'generated:?updates=3000&seed=5'
ctl A sync-wait >$tmp/sync.txt 2>&1
check "sync succeeded" grep -q '^result Succeeded new ' $tmp/sync.txt
check "progress was reported" grep -q '^progress updates [0-9]*/3000' $tmp/sync.txt
check "state is not processing after the sync" test "$(ctl A state)" = 0
check "the manual start is logged" log_has $log "AdminDataAccess.StartSubscriptionManually Synchronization manually started"
check "event 382 is logged" log_has $log "EventLogEventReporter.ReportEvent EventId=382,Type=Information,Category=Synchronization,Message=A manual synchronization was started."
check "event 384 is logged" log_has $log "EventId=384,Type=Information,Category=Synchronization,Message=Synchronization completed successfully."
check "SyncFinish is logged" log_has $log "CatalogSyncAgent.SetSubscriptionStateWithRetry Firing event SyncFinish..."
check "events are rows of tbEventInstance" test "$(sqlite3 $tmp/A/data/susdb.db 'SELECT COUNT(*) FROM tbEventInstance WHERE EventID IN (382, 384)')" = 2
ncat=$(ctl A categories | wc -l)
check "categories are listed" test "$ncat" -gt 10
id=$(sqlite3 $tmp/A/data/susdb.db "SELECT u.UpdateID FROM tbUpdate u JOIN tbRevision r ON r.LocalUpdateID = u.LocalUpdateID WHERE r.IsCategory = 0 AND r.KBArticleID IS NOT NULL LIMIT 1")
check "an update by ID" sh -c "'$WSUSCTL' -p $port_A update $id | grep -q '^$id [0-9]* Software KB[0-9]'"
check "the XML of an update" sh -c "'$WSUSCTL' -p $port_A xml $id | grep -q 'UpdateID=\"$id\"'"
"$WSUSCTL" -p $port_A update 00000000-0000-0000-0000-0000000000ff 2>$tmp/err.txt
check "an unknown update is not found (exit 3)" test $? = 3
check "an unknown update's text" grep -q 'could not be found' $tmp/err.txt
ctl A set-languages xx 2>$tmp/err.txt
check "an unknown language is refused with a fault" grep -q 'an update language is not known to this server' $tmp/err.txt
check "languages can be set" ctl A set-languages en,de,ja
check "languages read back" sh -c "'$WSUSCTL' -p $port_A config | grep -q '^Languages=de,en,ja$'"

# The schedule: a sync at a time of day a few seconds from now starts by itself.
tod=$(( ($(date -u +%s) + 3) % 86400 ))
check "schedule set" ctl A schedule 1 $tod 1
check "the schedule reads back" sh -c "'$WSUSCTL' -p $port_A subscription | grep -q '^auto 1 time $tod perday 1'"
check "the scheduled sync starts by itself" wait_for 60 log_has $log "EventId=381,Type=Information,Category=Synchronization,Message=A scheduled synchronization was started."
ctl A schedule 0 0 1 >/dev/null

# The WSUS server connection account: 401 without it or with a wrong one.
printf 'Pa55word\n' | "$WSUSD" --root $tmp/A --set-account 'CONTOSO\wsusadmin' >/dev/null
"$WSUSCTL" -p $port_A version 2>$tmp/err.txt
check "no account gets 401" grep -qx 'The request failed with HTTP status 401: Unauthorized' $tmp/err.txt
check "anonymous 401 is logged" log_has $log "denied for an anonymous request from 127.0.0.1 (HTTP 401: Unauthorized)."
"$WSUSCTL" -p $port_A -u 'CONTOSO\wsusadmin:wrong' version 2>$tmp/err.txt
check "a wrong password gets 401" grep -qx 'The request failed with HTTP status 401: Unauthorized' $tmp/err.txt
check "wrong account is logged" log_has $log "denied for user 'CONTOSO\\wsusadmin' from 127.0.0.1: wrong account or password (HTTP 401: Unauthorized)."
check "the right account is accepted" "$WSUSCTL" -p $port_A -u 'CONTOSO\wsusadmin:Pa55word' version
check "MS-WSUSSS stays anonymous" test "$(curl -s -o /dev/null -w '%{http_code}' $base/ServerSyncWebService/ServerSyncWebService.asmx)" = 200

# Refused connections read as .NET words them.
stop_wsusd A
"$WSUSCTL" -p $port_A version 2>$tmp/err.txt
check "refused connection" grep -qx 'Unable to connect to the remote server' $tmp/err.txt
check "WSUS stopped cleanly" log_has $log "WSUS stopped."

# TLS on the SSL port when a certificate is given; a downstream server syncs over it.
if openssl req -x509 -newkey rsa:2048 -nodes -keyout $tmp/key.pem -out $tmp/cert.pem -days 2 \
        -subj "/CN=localhost" >/dev/null 2>&1; then
    start_wsusd T --ssl-port 0 --cert $tmp/cert.pem --key $tmp/key.pem || exit 1
    sport=$(sed -n 's/^Listening on [0-9.]* port \([0-9]*\) (HTTPS)\..*/\1/p' $tmp/T/logs/wsusd.log)
    check "HTTPS answers" "$WSUSCTL" -s -k -p $sport version
    "$WSUSCTL" -s -p $sport version 2>$tmp/err.txt
    check "an untrusted certificate is refused" grep -qx 'The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.' $tmp/err.txt
    ctl T set-mu 'generated:?updates=200' >/dev/null
    ctl T sync-wait >/dev/null 2>&1
    start_wsusd S || exit 1
    "$WSUSD" --root $tmp/S --set UpstreamSkipCertificateCheck=1 >/dev/null
    ctl S set-upstream 127.0.0.1 $sport ssl >/dev/null
    ctl S sync-wait >$tmp/s.txt 2>&1
    check "a downstream server syncs over HTTPS" grep -q '^result Succeeded new 2' $tmp/s.txt
else
    bad "openssl cannot make a test certificate"
fi

# Another address than loopback needs the account.
"$WSUSD" --root $tmp/B --port 0 --bind 0.0.0.0 >$tmp/B.txt 2>&1
check "non-loopback without an account is refused" test $? = 2
check "and says what to do" grep -q 'needs an account' $tmp/B.txt

done_tests
