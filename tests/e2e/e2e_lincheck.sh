#!/bin/bash
# e2e_lincheck: concurrent clients do GET/SET/compare-and-set on a few keys
# through every node while leaders and followers are killed and restarted;
# the recorded history must be linearizable (tests/e2e/lincheck.c).
. "$(dirname "$0")/lib.sh"
LC=${LINCHECK:-$BIN/../tests/lincheck}
[ -x "$LC" ] || skip "lincheck not built ($LC)"
NODES=3
start_cluster 3
wait_leader 5000 >/dev/null || fail "no leader"
"$LC" run --addrs "127.0.0.1:$(cport 1),127.0.0.1:$(cport 2),127.0.0.1:$(cport 3)" \
	--clients 4 --keys 3 --seconds 14 --dump "$DIR/history" >"$DIR/lin.out" 2>&1 &
LP=$!
EXTRA_PIDS="$LP"
sleep 2
for round in 1 2; do
	L=$(leader)
	[ -n "$L" ] || L=1
	echo "round $round: SIGKILL leader $L"
	kill -9 "$(pid_of "$L")"
	sleep 2
	start_cluster 3
	sleep 1
	F=$(( $(leader) % 3 + 1 ))
	echo "round $round: SIGKILL follower $F"
	kill -9 "$(pid_of "$F")"
	sleep 1
	start_cluster 3
done
wait "$LP"
rc=$?
EXTRA_PIDS=""
cat "$DIR/lin.out"
if [ "$rc" != 0 ]; then
	# Keep what a failure needs to be studied: the history and the logs.
	keep=/tmp/fabraft-lincheck-fail.$$
	mkdir -p "$keep" && cp "$DIR"/history "$DIR"/node*.log "$keep"/ 2>/dev/null
	echo "history and node logs kept in $keep"
	fail "history not linearizable (or too short)"
fi
# The reads went the way this run was meant to test.
mode=${FABRAFT_E2E_READ_MODE:-index}
L=$(leader)
[ -n "$L" ] || fail "no leader at the end"
[ "$(info_field "$L" read_mode)" = "$mode" ] ||
	fail "read_mode is $(info_field "$L" read_mode), want $mode"
# Counters are per process and the last leader may have been restarted (or
# elected) just as the load ended: ask it a few reads of its own first.
for i in 1 2 3 4 5; do rcli "$(cport "$L")" GET lin-probe >/dev/null; done
if [ "$mode" = log ]; then
	[ "$(info_field "$L" read_markers)" -gt 0 ] || fail "no read markers"
else
	[ "$(info_field "$L" reads_index)" -gt 0 ] || fail "no ReadIndex reads"
fi
echo "reads: mode $mode, reads_index $(info_field "$L" reads_index), read_markers $(info_field "$L" read_markers)"
echo "PASS"
