#!/bin/bash
# mp.sh - the management point stand-in (smsmp) end to end (SQLite, or
# PostgreSQL under tests/with-postgres.sh): a port someone else holds at
# start (reported once, retried), the WSUS location over HTTP, a corpus of
# malformed and hostile requests (each refused with one log line and one
# status message, nothing leaked, the listener still serving), the wrong
# verb and path, a port change taken without a restart, and a clean stop.
. "$(dirname "$0")/pvlib.sh"

check "cmsite init" init_site
guid=$(source_id)
set_cv 7
port=$(free_port)
"$CMSITE" config --root "$root" SMS_MP_CONTROL_MANAGER 'Location Port' "$port" >/dev/null

# --- a port that is taken at start -----------------------------------------------
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
time.sleep(300)' "$port" &
holder=$!
check "the test holds the port" wait_for 10 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"
start smsmp "$SMSMP" --root "$root"
check "the taken port is reported" wait_for 20 log_has "$mplog" "ERROR: MP LM: Cannot listen on 127.0.0.1:$port"
check "smsmp keeps running" alive smsmp
kill "$holder"
wait "$holder" 2>/dev/null
check "it listens once the port is free" wait_for 30 log_has "$mplog" "MP LM: Listening for WSUS location requests on http://127.0.0.1:$port/ccm_system/request"
check "8341 stored once" test "$(statmsgs 8341)" = 1
check "one log line for the taken port" test "$(grep -c "Cannot listen on" "$mplog")" = 1

# --- the location over HTTP ---------------------------------------------------------
url="http://127.0.0.1:$port/ccm_system/request"
"$CMSITE" wsus-location --root "$root" --print-request >"$root/req.xml"
code() { curl -s -o "$root/body" -w '%{http_code}' "$@"; }
check "a good request: 200" test "$(code --data-binary @"$root/req.xml" "$url")" = 200
check "... with the SUP's URL at version 7" grep -qF "<LocationRecord WSUSURL=\"http://cs1site.contoso.com:8530\" ServerName=\"cs1site.contoso.com\" Version=\"7\"/>" "$root/body"
iconv -f UTF-8 -t UTF-16 "$root/req.xml" >"$root/req16.xml"
check "the same request in UTF-16: 200" test "$(code --data-binary @"$root/req16.xml" "$url")" = 200
check "... with the URL" grep -qF 'Version="7"' "$root/body"

# --- malformed and hostile requests -------------------------------------------------
bad=(
    'garbage'
    '<WSUSLocationRequest'
    '<Other/>'
    '<WSUSLocationRequest><Content ID="not-a-guid" Version="7"/></WSUSLocationRequest>'
    "<WSUSLocationRequest><Content ID=\"$guid\" Version=\"7; DROP TABLE Policy\"/></WSUSLocationRequest>"
    "<WSUSLocationRequest><Content ID=\"$guid\" Version=\"7\"/><AssignedSite SiteCode=\"C'1\"/></WSUSLocationRequest>"
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><WSUSLocationRequest><Content ID="&x;" Version="7"/></WSUSLocationRequest>'
    '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><WSUSLocationRequest><Content ID="&c;" Version="7"/></WSUSLocationRequest>'
)
for b in "${bad[@]}"; do
    c=$(code --data-binary "$b" "$url")
    check "refused with 400: ${b:0:50}" test "$c" = 400
    check "... nothing of /etc/passwd in the answer" bash -c "! grep -q 'root:' '$root/body'"
done
head -c 70000 /dev/zero | tr '\0' ' ' >"$root/huge.xml"
check "a 70 KB request: 413" test "$(code --data-binary @"$root/huge.xml" "$url")" = 413
n=$((${#bad[@]} + 1))
check "one log line per refused request ($n)" test "$(grep -c "ERROR: MP LM: Rejected a WSUS location request from 127.0.0.1" "$mplog")" = "$n"
check "one 8340 per refused request" test "$(statmsgs 8340)" = "$n"
check "GET: 405" test "$(code "$url")" = 405
check "another path: 404" test "$(code --data-binary @"$root/req.xml" "http://127.0.0.1:$port/SMS_MP/.sms_aut")" = 404
check "no status message for those" test "$(statmsgs 8340)" = "$n"
check "the Policy table is still there" bash -c "$(declare -f sql pgport); root='$root'; sql 'SELECT COUNT(*) FROM Policy' >/dev/null"
check "still serving: 200" test "$(code --data-binary @"$root/req.xml" "$url")" = 200
check "smsmp keeps running" alive smsmp

# --- a new port without a restart ------------------------------------------------------
port2=$(free_port)
"$CMSITE" config --root "$root" SMS_MP_CONTROL_MANAGER 'Location Port' "$port2" >/dev/null
check "the listener moves" wait_for 30 log_has "$mplog" "MP LM: Listening for WSUS location requests on http://127.0.0.1:$port2/ccm_system/request"
check "the new port answers" test "$(code --data-binary @"$root/req.xml" "http://127.0.0.1:$port2/ccm_system/request")" = 200
check "the old port is closed" bash -c "! curl -s -o /dev/null --data-binary x '$url'"

stop smsmp; rc=$?
check "smsmp stops cleanly" test $rc -eq 0
check "stop logged" log_has "$mplog" "MP_LocationManager stopped."
# libmicrohttpd itself prints its bind failure (the taken port above); nothing else may appear.
check "nothing else on smsmp's standard error" bash -c "! grep -v '^Failed to bind to port $port: Address already in use' '$root/smsmp.stderr' | grep -q ."
done_tests
