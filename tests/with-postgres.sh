#!/bin/bash
# with-postgres.sh - run a command against a throwaway PostgreSQL server.
#
#   tests/with-postgres.sh COMMAND [ARGS...]
#
# Creates a cluster in a temporary folder (initdb; as root, the server runs
# as the "postgres" user the Debian package creates), starts it on a free
# loopback port, creates the database "site", runs COMMAND with
# CM_TEST_DB set to the psqlODBC connection string, then stops the server
# and removes the folder, whatever COMMAND did.  Tests that need to stop and
# start the server mid-run use CM_TEST_PGCTL ("stop" / "start").
set -u

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "with-postgres.sh: PostgreSQL server binaries not found (Debian: apt-get install postgresql)" >&2
    exit 1
fi
tmp=$(mktemp -d /tmp/cmpg.XXXXXX)
chmod 755 "$tmp"
run=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$tmp"
    run=(runuser -u postgres --)
fi

# A free loopback port: try a few at random.
port=
for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "with-postgres.sh: no free port" >&2; exit 1; }

cleanup() {
    "${run[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

"${run[@]}" "$pgbin/initdb" -D "$tmp/data" -A trust -U cm -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1 || {
    echo "with-postgres.sh: initdb failed:" >&2; cat "$tmp/initdb.log" >&2; exit 1; }
opts="-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off"
# pgctl stop|start, also for tests that take the server away and bring it back.
export CM_TEST_PGCTL="$tmp/pgctl"
cat >"$tmp/pgctl" <<CTL
#!/bin/bash
case "\$1" in
  start) ${run[*]} "$pgbin/pg_ctl" -D "$tmp/data" -o "$opts" -w -t 60 -l "$tmp/pg.log" start >/dev/null ;;
  stop) ${run[*]} "$pgbin/pg_ctl" -D "$tmp/data" -m fast -w -t 60 stop >/dev/null ;;
esac
CTL
chmod 755 "$tmp/pgctl"
"$tmp/pgctl" start || { echo "with-postgres.sh: the server did not start:" >&2; cat "$tmp/pg.log" >&2; exit 1; }
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U cm site || exit 1

export CM_TEST_DB="Driver=PostgreSQL Unicode;Servername=127.0.0.1;Port=$port;Database=site;Uid=cm;Pwd=unused"
export CM_TEST_DIALECT=postgresql
"$@"
exit $?
