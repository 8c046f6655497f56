#!/bin/bash
# e2e_clock: KV-cache leases do not follow a node's wall clock (issue 16).
# One daemon's CLOCK_REALTIME is shifted with the test hook
# FABRAFT_TEST_WALL_OFFSET_MS (core/node/node_clock.c note 5; the host
# clock is untouched: a time namespace, `unshare --time`, offsets only
# CLOCK_MONOTONIC and CLOCK_BOOTTIME, never CLOCK_REALTIME).  A leader an
# hour ahead must not expire a storage node whose lease still runs, and a
# leader an hour behind must not keep alive one whose lease ran out, and a
# whole cluster restarted an hour ahead must not expire it either.
. "$(dirname "$0")/lib.sh"
need redis-cli
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
rcli "$(cport "$L")" KVC.NODE.ADD 7 127.0.0.1:7000 0 dram 1000000 LEASE 60000 |
	grep -q OK || fail "KVC.NODE.ADD"
# sn_alive NODE ID: the alive column of storage node ID in KVC.NODE.LIST at node $1.
sn_alive() {
	rcli "$(cport "$1")" KVC.NODE.LIST |
		awk -v id="$2" 'f==1 {n++} $0==id && f==0 {f=1; n=0}
			f==1 && n==3 {print; exit}'
}
[ "$(sn_alive "$L" 7)" = 1 ] || fail "storage node 7 not alive at the start"
# restart_shifted ID OFFSET_MS: restart node ID with its wall clock moved,
# then hand it the leadership.
restart_shifted() {
	kill -9 "$(pid_of "$1")"
	sleep 0.5
	FABRAFT_TEST_WALL_OFFSET_MS=$2 start_cluster 3
	grep -q "test hook: wall clock shifted by $2 ms" "$DIR/node$1.log" ||
		fail "node $1 did not take the offset"
	for i in $(seq 1 50); do
		[ "$(leader)" = "$1" ] && return 0
		"$BIN/fabraft" --dir "$DIR" transfer "$1" >/dev/null 2>&1
		sleep 0.2
	done
	fail "node $1 did not become leader"
}
L=$(leader)
A=$((L % 3 + 1))
echo "node $A: wall clock one hour ahead, now leader"
restart_shifted "$A" 3600000
for i in 1 2 3 4 5; do rcli "$(cport "$A")" SET clock-k "$i" >/dev/null; done
sleep 1
rcli "$(cport "$A")" SET clock-k after >/dev/null
[ "$(sn_alive "$A" 7)" = 1 ] ||
	fail "storage node 7 expired under a leader whose clock is 1 h ahead"
echo "storage node 7 still alive under the fast-clock leader"
# A short lease, then a leader an hour behind: it must still run out.
rcli "$(cport "$A")" KVC.NODE.ADD 8 127.0.0.1:7001 0 dram 1000000 LEASE 3000 |
	grep -q OK || fail "KVC.NODE.ADD 8"
B=$((A % 3 + 1))
echo "node $B: wall clock one hour behind, now leader"
restart_shifted "$B" -3600000
sleep 3.5
for i in 1 2 3; do rcli "$(cport "$B")" SET clock-k "b$i" >/dev/null; done
[ "$(sn_alive "$B" 8)" = 0 ] ||
	fail "storage node 8 outlived its lease under a leader 1 h behind"
[ "$(sn_alive "$B" 7)" = 1 ] || fail "storage node 7 expired under the slow leader"
echo "storage node 8 expired on time, node 7 alive"
# Every node restarted (the commit index is not persisted: none of them
# knows the cluster time until its leader applies its own no-op), all with
# wall clocks an hour ahead.  The old leader stamped its first writes from
# its wall clock and expired node 7 at once.
echo "whole cluster restarted, every wall clock one hour ahead"
for i in 1 2 3; do kill -9 "$(pid_of "$i")"; done
sleep 0.5
# hammer PORT: SETs for 3 s, so some reach the new leader between its
# election and the apply of its no-op (a window of a round trip).
hammer() {
	local t0
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt 3000 ]; do
		redis-cli -p "$1" -r 200 SET clock-h x >/dev/null 2>&1
	done
}
H=""
for i in 1 2 3; do
	hammer "$(cport "$i")" &
	H="$H $!"
done
FABRAFT_TEST_WALL_OFFSET_MS=3600000 start_cluster 3
for p in $H; do wait "$p"; done
C=$(wait_leader 5000) || fail "no leader after the restart"
for i in $(seq 1 100); do
	# "-TRYAGAIN leader N starting" until its no-op is applied.
	[ "$(rcli "$(cport "$C")" SET clock-k "c$i")" = OK ] && break
	sleep 0.02
done
[ "$(rcli "$(cport "$C")" GET clock-k)" = "c$i" ] || fail "SET after restart"
[ "$(sn_alive "$C" 7)" = 1 ] ||
	fail "storage node 7 expired: a restarted leader stamped its wall clock"
echo "storage node 7 alive after the whole-cluster restart"
echo "PASS"
