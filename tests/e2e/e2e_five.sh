#!/bin/bash
# e2e_five: a 5-node cluster loses its leader and a follower at once (2 of
# 5): the other 3 elect a leader within 2 s and keep every acknowledged
# write; both come back and catch up.
. "$(dirname "$0")/lib.sh"
NODES=5
start_cluster 5
L=$(wait_leader 5000) || fail "no leader"
writer f "$DIR/acked" "$DIR/stop" &
W=$!
EXTRA_PIDS="$W"
sleep 1.5
L=$(leader)
[ -n "$L" ] || fail "no leader before the kill"
F=$((L % 5 + 1))
echo "SIGKILL leader $L and follower $F ($(wc -l <"$DIR/acked") writes so far)"
t0=$(now_ms)
kill -9 "$(pid_of "$L")" "$(pid_of "$F")"
N=""
while [ $(($(now_ms) - t0)) -lt 2000 ]; do
	for i in 1 2 3 4 5; do
		[ $i = "$L" ] || [ $i = "$F" ] && continue
		[ "$(info_field $i role)" = leader ] && N=$i
	done
	[ -n "$N" ] && break
	sleep 0.02
done
[ -n "$N" ] || fail "no new leader within 2 s"
echo "node $N leads $(($(now_ms) - t0)) ms after the kill"
n1=$(wc -l <"$DIR/acked")
sleep 2
touch "$DIR/stop"
wait "$W"
n2=$(wc -l <"$DIR/acked")
[ "$n2" -gt "$n1" ] || fail "no writes with 3 of 5 nodes"
check_acked "$DIR/acked" "$N"
start_cluster 5
wait_converged 20 >/dev/null || fail "restarted nodes did not catch up"
echo "nodes $L and $F restarted and caught up"
echo "PASS"
