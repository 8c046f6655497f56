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
	--clients 4 --keys 3 --seconds 14 >"$DIR/lin.out" 2>&1 &
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
[ "$rc" = 0 ] || fail "history not linearizable (or too short)"
echo "PASS"
