#!/bin/bash
# e2e_failover: SIGKILL the leader under write load: a new leader within
# 2 s, every acknowledged write read back, the killed node catches up.
. "$(dirname "$0")/lib.sh"
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
writer w "$DIR/acked" "$DIR/stop" &
W=$!
EXTRA_PIDS="$W"
sleep 2
L=$(leader)
[ -n "$L" ] || fail "no leader before the kill"
before=$(wc -l <"$DIR/acked")
echo "leader node $L; $before writes acknowledged; SIGKILL"
t0=$(now_ms)
kill -9 "$(pid_of "$L")"
N=$(wait_leader 2000 "$L") || fail "no new leader within 2 s"
dt=$(($(now_ms) - t0))
echo "node $N leads $dt ms after the kill (term $(info_field "$N" term))"
sleep 2
touch "$DIR/stop"
wait "$W"
after=$(wc -l <"$DIR/acked")
[ "$after" -gt "$before" ] || fail "no write acknowledged after the kill"
echo "$after writes acknowledged in all"
check_acked "$DIR/acked" "$N"
start_cluster 3 # restarts the killed node only
wait_converged 15 >/dev/null || fail "killed node did not catch up"
echo "node $L restarted and caught up"
echo "PASS"
