#!/bin/bash
# e2e_stop: SIGSTOP a follower under writes and continue it: it catches
# up; SIGSTOP the leader: the others elect a new one, writes go on, and
# the old leader steps down when continued.
. "$(dirname "$0")/lib.sh"
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
F=$((L % 3 + 1))
writer s "$DIR/acked" "$DIR/stop" &
W=$!
EXTRA_PIDS="$W"
sleep 1
kill -STOP "$(pid_of $F)"
echo "follower $F stopped"
sleep 3
n1=$(wc -l <"$DIR/acked")
kill -CONT "$(pid_of $F)"
echo "follower $F continued ($n1 writes acknowledged meanwhile)"
sleep 1
L=$(leader)
[ -n "$L" ] || fail "no leader"
kill -STOP "$(pid_of $L)"
echo "leader $L stopped"
t0=$(now_ms)
N=$(wait_leader 3000 "$L") || fail "no new leader while $L is stopped"
echo "node $N leads after $(($(now_ms) - t0)) ms"
sleep 2
kill -CONT "$(pid_of $L)"
echo "old leader $L continued"
sleep 1
touch "$DIR/stop"
wait "$W"
n2=$(wc -l <"$DIR/acked")
[ "$n2" -gt "$n1" ] || fail "no writes after the leader stopped"
wait_converged 15 >/dev/null || fail "replicas did not converge"
L=$(leader)
[ "$(for i in 1 2 3; do info_field $i role; done | grep -c leader)" = 1 ] ||
	fail "not exactly one leader"
check_acked "$DIR/acked" "$L"
echo "PASS"
