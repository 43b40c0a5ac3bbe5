#!/bin/bash
# faults.sh - Policy Provider against bad input and crashes, with the real
# daemons (SQLite, or PostgreSQL under tests/with-postgres.sh): .STN names
# that are not IDs or name unknown sources, files that are not regular,
# too large, empty or not, a burst of up to 1,000 files, kill -9 while the
# policy transaction is open, and kill -9 at random moments.  Every time:
# nothing half-written (version, bodies and hashes agree), nothing lost,
# one status message per bad file, and the daemon keeps running.
. "$(dirname "$0")/pvlib.sh"

check "cmsite init" init_site
guid=$(source_id)
stage="$root/stage"
mkdir -p "$stage"
start smsdbmon "$SMSDBMON" --root "$root"
start policypv "$POLICYPV" --root "$root"
check "policypv connected" wait_for 20 log_has "$pvlog" "Connected to the site database"
bump
check "baseline: policy 1.00" wait_for 20 version_is 1.00
check "quiet" wait_for 10 quiet

# --- bad names and files, beside good ones ------------------------------------
printf 'x' >"$stage/notaguid.STN"
: >"$stage/{00000000-0000-0000-0000-000000000001}.STN"
echo hello >"$stage/readme.txt"
head -c 70000 /dev/zero >"$stage/{00000000-0000-0000-0000-000000000002}.STN"
ln -s /etc/passwd "$stage/{00000000-0000-0000-0000-000000000003}.STN"
mkfifo "$stage/{00000000-0000-0000-0000-000000000004}.STN"
mkdir "$stage/{00000000-0000-0000-0000-000000000005}.STN"
: >"$stage/$(printf 'bad\001name.STN')"
bump
printf 'written by hand\n' >"$stage/$guid.STN"
: >"$stage/$(variant "$guid" 5).stn"
drop_staged
check "everything handled" wait_for 30 quiet
check "one new version for the good files: 2.00" version_is 2.00
check "rows agree at 2.00" rows_agree 2.00
check "seven bad files in corrupt/" test "$(nfiles "$box/corrupt")" = 7
check "the unknown source went to corrupt/" test -f "$box/corrupt/{00000000-0000-0000-0000-000000000001}.STN"
check "the symlink was moved, not followed" test -L "$box/corrupt/{00000000-0000-0000-0000-000000000003}.STN" -a -s /etc/passwd
check "the fifo was moved" test -p "$box/corrupt/{00000000-0000-0000-0000-000000000004}.STN"
check "a folder is left alone" test -d "$box/{00000000-0000-0000-0000-000000000005}.STN"
check "8302 once per bad file (6)" test "$(statmsgs 8302)" = 6
check "8303 for the unknown source" test "$(statmsgs 8303)" = 1
check "one log line per bad file" test "$(grep -c "ERROR: Rejected" "$pvlog")" = 7
check "the control byte is not written to the log" log_has "$pvlog" "ERROR: Rejected bad?name.STN"
check "policypv keeps running" alive policypv

# --- a burst of up to 1,000 files-------------------------------------------------
# The good files are distinct names of the one source: case variants of its
# GUID's hex letters times the eight cases of the extension.  A GUID with few
# letters A-F has fewer than 75 variants, so the count is computed, not fixed.
bump
letters=$(tr -cd 'A-F' <<<"$guid")
nvar=$((1 << ${#letters}))
((nvar > 75)) && nvar=75
ngood=0
for v in $(seq 0 $((nvar - 1))); do
    for ext in .STN .STn .StN .Stn .sTN .sTn .stN .stn; do
        : >"$stage/$(variant "$guid" "$v")$ext"
        ngood=$((ngood + 1))
    done
done
for n in $(seq 0 299); do : >"$stage/$(printf '{11111111-0000-0000-0000-%012d}.STN' "$n")"; done
for n in $(seq 0 99); do : >"$stage/$(printf 'bad%03d.STN' "$n")"; done
check "$((ngood + 400)) files staged ($ngood for the known source)" test "$(nfiles "$stage")" = $((ngood + 400))
drop_staged
check "the burst is handled" wait_for 120 quiet
check "one version for the burst: 3.00" version_is 3.00
check "rows agree at 3.00" rows_agree 3.00
check "400 more in corrupt/" test "$(nfiles "$box/corrupt")" = 407
check "300 more 8303" test "$(statmsgs 8303)" = 301
check "100 more 8302" test "$(statmsgs 8302)" = 106
check "policypv keeps running after the burst" alive policypv

# --- kill -9 while the policy transaction is open ---------------------------------
marker="Adding to delete list: $box/$guid.STN"
before=$(grep -cF "$marker" "$pvlog")
if [ -z "${CM_TEST_DB:-}" ]; then
    # SQLite: the test holds the write lock, so policypv's transaction waits
    # at its first write; smsdbmon is stopped so it needs no lock meanwhile.
    check "smsdbmon stops" stop smsdbmon
    bump
    mkfifo "$root/lockin"
    sqlite3 "$root/data/site.db" <"$root/lockin" >/dev/null 2>&1 &
    lockpid=$!
    exec 7>"$root/lockin"
    # With a busy timeout, another connection holding the write lock for a
    # moment makes the test wait, not fail to take the lock (a CI run failed
    # that way once, on a loaded machine).
    echo ".timeout 10000" >&7
    echo "BEGIN IMMEDIATE;" >&7
    locked() { ! sqlite3 -cmd ".timeout 0" "$root/data/site.db" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1; }
    check "the test holds the write lock" wait_for 10 locked
    : >"$box/$guid.STN"
    check "policypv reaches its transaction" wait_for 20 bash -c "[ \$(grep -cF '$marker' '$pvlog') -gt $before ]"
else
    # PostgreSQL: the test locks PolicyAssignment, so policypv waits after it
    # has written the Policy row (uncommitted) and before the assignment.
    mkfifo "$root/lockin"
    psql -X -q -h 127.0.0.1 -p "$(pgport)" -U cm -d site <"$root/lockin" >/dev/null 2>&1 &
    lockpid=$!
    exec 7>"$root/lockin"
    echo "BEGIN; LOCK TABLE PolicyAssignment IN EXCLUSIVE MODE;" >&7
    locked() { [ "$(sql "SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'policyassignment' AND l.mode = 'ExclusiveLock' AND l.granted")" = 1 ]; }
    check "the test holds the lock" wait_for 10 locked
    bump
    waiting() { [ "$(sql "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%PolicyAssignment%'")" -ge 1 ]; }
    check "policypv waits in the middle of its write" wait_for 20 waiting
fi
kill9 policypv
echo "ROLLBACK;" >&7
exec 7>&-
wait $lockpid
# Usually policypv is held inside the .STN's own transaction, so the file waits
# claimed in process/; on a slow machine its start-up periodic check can be the
# one held instead, and the .STN is then still in the box.  Either way it is kept.
claimed=0
[ -f "$box/process/$guid.STN" ] && claimed=1
check "the .STN is kept (claimed in process/, or not yet taken)" bash -c "[ -f '$box/process/$guid.STN' ] || [ -f '$box/$guid.STN' ]"
check "nothing half-written: still 3.00" version_is 3.00
check "rows agree at 3.00 after the crash" rows_agree 3.00
start policypv "$POLICYPV" --root "$root"
if [ "$claimed" = 1 ]; then
    check "the claimed file is recovered at start" wait_for 20 log_has "$pvlog" "Recovered 1 file(s) left in process by an earlier run"
fi
check "4.00 after the restart" wait_for 30 version_is 4.00
check "rows agree at 4.00" rows_agree 4.00
check "the body carries content version 4" body_has_cv 4
alive smsdbmon 2>/dev/null || start smsdbmon "$SMSDBMON" --root "$root"
check "quiet after the restart" wait_for 30 quiet
check "still 4.00" version_is 4.00

# --- kill -9 at random moments -------------------------------------------------------
for i in $(seq 1 8); do
    bump
    sleep "0.$((RANDOM % 4))"
    kill9 policypv
    start policypv "$POLICYPV" --root "$root"
done
final=$(cv)
check "settles after the kills" wait_for 60 quiet
check "... with the last content version in the body" wait_for 30 body_has_cv "$final"
v=$(policy_version)
n=${v%.00}
check "one version per change at most (5..12, got $v)" test "$n" -ge 5 -a "$n" -le 12
check "rows agree at $v" rows_agree "$v"
check "no policy row was duplicated" test "$(sql "SELECT COUNT(*) FROM Policy")$(sql "SELECT COUNT(*) FROM PolicyAssignment")$(sql "SELECT COUNT(*) FROM SettingsPolicy")" = 111
check "policypv is running" alive policypv
check "nothing on the daemons' standard error" test ! -s "$root/policypv.stderr" -a ! -s "$root/smsdbmon.stderr"
done_tests
