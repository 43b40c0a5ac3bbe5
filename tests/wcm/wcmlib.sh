# wcmlib.sh - shared by the WSUS Configuration Manager end-to-end scripts:
# tests/e2e/lib.sh (temporary site root, waits, checks) plus the real
# daemons started directly (smsdbmon, wcm, and wsusd on free loopback ports,
# not 8530, so tests of other daemons can run beside), SQL on the site
# database (sqlite3, or psql under tests/with-postgres.sh), and calls of
# the WSUS administration API with curl, so what wsusd holds is checked by
# a client that is not ours.  Sourced, not run.  Needs CMSITE, SMSDBMON,
# WCM and WSUSD (set by meson); WSYNCMGR when that daemon is built.
. "$(dirname "$0")/../e2e/lib.sh"

wlog="$root/logs/WCM.log"
box="$root/inboxes/WSUSMgr.box"

# susdb DIR "STATEMENTS": query a wsusd's own database.
susdb() { sqlite3 -bail -cmd ".timeout 30000" "$1/data/susdb.db" "$2"; }

# state SERVER: the WCMConfigState of a SUP.
state() { sql "SELECT WCMConfigState FROM SoftwareUpdatePoints WHERE ServerName = '$1'"; }
state_is() { [ "$(state "$1")" = "$2" ]; }

# count_lines TEXT: how many WCM.log lines contain the fixed string.
count_lines() { grep -cF -- "$1" "$wlog" 2>/dev/null || true; }
# more_lines TEXT N: more than N lines now contain it.
more_lines() { [ "$(count_lines "$1")" -gt "$2" ]; }

# msg_count ID: status messages of WCM with this ID.
msg_count() {
    sql "SELECT COUNT(*) FROM StatusMessages WHERE Component = 'SMS_WSUS_CONFIGURATION_MANAGER' AND MessageID = $1"
}

# The site: CS1 with its SUP on this machine's wsusd (a free port), WCM waiting 1 second
# after a success, the daemons started.
setup_site() {
    init_site >/dev/null || { bad "cmsite init"; exit 1; }
    WPORT=$(free_port) || { bad "no free port"; exit 1; }
    sql "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost', PortNumber = $WPORT, SSLPortNumber = $((WPORT + 1)) WHERE SiteCode = 'CS1'"
    "$CMSITE" config --root "$root" SMS_WSUS_CONFIGURATION_MANAGER 'Subscription Wait' 1 >/dev/null
    start_wsusd wsusd "$root" "$WPORT" || { bad "wsusd serves on port $WPORT"; exit 1; }
    start smsdbmon "$SMSDBMON" --root "$root"
    start wcm "$WCM" --root "$root"
}

# end_tests: stop the daemons, check that none reported a sanitizer error or
# a leak on its standard error, and print the count.
end_tests() {
    stop_all
    check "no daemon reported a sanitizer error or leak" bash -c \
        "! grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$root'/*.stderr 2>/dev/null"
    done_tests
}
