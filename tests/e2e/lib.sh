# lib.sh - shared by the end-to-end scripts: a temporary site root, waits
# with a deadline, and checks that print what failed.  Sourced, not run.
# Needs CMSITE and SMSDBMON (set by meson); uses CM_TEST_DB when the
# PostgreSQL wrapper set it.

set -u
fails=0
root=$(mktemp -d /tmp/cme2e.XXXXXX)
export CMSITE_BINDIR=$(dirname "$SMSDBMON")

finish() {
    "$CMSITE" stop --root "$root" >/dev/null 2>&1
    pkill -f -- "--root $root" 2>/dev/null
    if [ "$fails" -ne 0 ]; then
        echo "---- logs of $root ----"
        for f in "$root"/logs/*; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
        for f in "$root"/*.stderr; do [ -s "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done
        # Again at the end: meson shows only the last 100 lines of a failed test.
        printf 'FAILED: %s\n' "${failed[@]}"
    fi
    rm -rf "$root"
}
trap finish EXIT

ok() { echo "ok - $*"; }
failed=()
bad() { echo "FAIL - $*"; fails=$((fails + 1)); failed+=("$*"); }

# wait_for SECONDS COMMAND...: true once COMMAND succeeds, false at the deadline.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    while [ $SECONDS -lt $deadline ]; do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# log_has FILE TEXT: the log contains the fixed string.
log_has() { grep -qF -- "$2" "$1" 2>/dev/null; }

check() { # check "description" COMMAND...
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

init_site() {
    if [ -n "${CM_TEST_DB:-}" ]; then
        "$CMSITE" init --root "$root" --site CS1 --server cs1site.contoso.com --db "$CM_TEST_DB"
    else
        "$CMSITE" init --root "$root" --site CS1 --server cs1site.contoso.com
    fi
}

done_tests() {
    echo "$fails failure(s)"
    [ "$fails" -eq 0 ]
}
