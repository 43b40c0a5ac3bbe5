#!/bin/bash
. "$(dirname "$0")/wsmlib.sh"
finish() { stop_all; echo "root=$root"; }
trap finish EXIT
setup_site
"$WSUSD" --root "$root" --set "MUUrl=generated:?updates=${N:-20000}&seed=2&languages=en" >/dev/null 2>&1
perf record -F 2000 -g -o /tmp/wsm/perf.wsm -p ${PIDS[wsyncmgr]} >/dev/null 2>&1 &
PERF1=$!
perf record -F 2000 -g -o /tmp/wsm/perf.wsusd -p ${PIDS[wsusd]} >/dev/null 2>&1 &
PERF2=$!
sleep 1
t0=$(date +%s.%N)
request_sync
t1=$(date +%s.%N)
kill -INT $PERF1 $PERF2; wait $PERF1 $PERF2
echo "last_end=$(last_end) total=$(echo "$t1 - $t0" | bc)"
grep -E "Site database phase|Done synchronizing|Synchronizing SMS|sync: Starting WSUS" "$slog" | cut -c1-150
grep VmHWM /proc/${PIDS[wsyncmgr]}/status
