#!/bin/bash
# e2e_fwdtimeout: a follower whose leader stops answering (SIGSTOP, and
# elections slowed down so it stays the leader) answers its forwarded
# clients after the request timeout instead of leaving them hanging.
. "$(dirname "$0")/lib.sh"
NODES=3
start_cluster 3
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "stop"
for i in 1 2 3; do
	printf 'election-ticks = 300\nrequest-timeout-ms = 800\n' >>"$DIR/node$i.conf"
done
start_cluster 3
L=$(wait_leader 30000) || fail "no leader"
F=$((L % 3 + 1))
[ "$(rcli "$(cport $F)" set a 1)" = OK ] || fail "forwarded SET"
kill -STOP "$(pid_of $L)"
t0=$(now_ms)
out=$(rcli "$(cport $F)" set b 2)
dt=$(($(now_ms) - t0))
kill -CONT "$(pid_of $L)"
echo "forwarded SET with the leader stopped -> '$out' after $dt ms"
case "$out" in *TRYAGAIN*unknown*) ;; *) fail "want a TRYAGAIN outcome-unknown" ;; esac
[ "$dt" -lt 3000 ] || fail "took $dt ms"
sleep 0.3
[ "$(rcli "$(cport $F)" set c 3)" = OK ] || fail "forwarding did not recover"
echo "PASS"
