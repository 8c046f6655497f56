#!/bin/bash
# e2e_upgrade: a data dir written by an older fabraftd (FABRAFT_OLD_FABRAFTD,
# e.g. one built from commit 31539ef, before variable-length hashes: its
# snapshots are kvcache format version 1) restarted with this one: the
# state machine restores from the old snapshot and replays the log after it
# to the same digest and the same lookups; then it takes new hash forms,
# writes its own (version 2) snapshot and restarts from that unchanged.
# Then a rolling upgrade's middle: nodes 1 and 2 old, node 3 new, in one
# cluster: with the hash forms both versions know (32 hex digits) every
# replica reaches the same digest (the digest of such states did not
# change).  Skipped when no older binary is given.
. "$(dirname "$0")/lib.sh"
need redis-cli
OLD=${FABRAFT_OLD_FABRAFTD:-}
[ -n "$OLD" ] && [ -x "$OLD" ] ||
	skip "set FABRAFT_OLD_FABRAFTD to an older fabraftd binary to test upgrades"
NEW="$BIN/fabraftd"
pick_ports
C=$CPORT
cli() { rcli "$C" "$@"; }
run() {
	"$1" --id 1 --peers "1=127.0.0.1:$RPORT" --client "127.0.0.1:$C" \
		--data-dir "$DIR/data" --snapshot-entries 5 --snapshot-trailing 2 \
		>>"$DIR/node1.log" 2>&1 &
	PID=$!
	EXTRA_PIDS="$PID"
	for _ in $(seq 100); do
		cli info 2>/dev/null | grep -q role:leader && return 0
		sleep 0.1
	done
	fail "$1 did not start"
}
stop() {
	kill -TERM "$PID"
	wait "$PID" || fail "exit $? on SIGTERM"
	EXTRA_PIDS=""
}
h() { printf '%032x' "$1"; }
chain() { for i in 1 2 3 4 5 6 7; do h "$i"; echo; done; }

run "$OLD"
[ "$(cli KVC.NODE.ADD 1 a:1 0 dram 100000000)" = OK ] || fail "NODE.ADD"
for i in 1 2 3 4 5 6 7; do
	p=-
	[ "$i" = 1 ] || p=$(h $((i - 1)))
	[ "$(cli KVC.PUT m "$(h "$i")" "$p" 16 1 dram $((i * 100)) 100)" = 1 ] ||
		fail "old: PUT $i"
done
cli SET k v >/dev/null
cli KVC.PIN m 100000 "$(h 3)" >/dev/null
d1=$(cli KVC.DIGEST)
# shellcheck disable=SC2046
l1=$(cli KVC.LOOKUP m $(chain))
stop
ls "$DIR/data"/snap-* >/dev/null 2>&1 || fail "the old daemon wrote no snapshot"

run "$NEW"
grep -q "restored the state machine from snapshot" "$DIR/node1.log" ||
	fail "no snapshot restored"
[ "$(cli KVC.DIGEST)" = "$d1" ] || fail "digest $(cli KVC.DIGEST) after the upgrade, was $d1"
# shellcheck disable=SC2046
[ "$(cli KVC.LOOKUP m $(chain))" = "$l1" ] || fail "lookup differs after the upgrade"
[ "$(cli GET k)" = v ] || fail "GET after the upgrade"
echo "upgrade: old snapshot + log restored, digest $d1 unchanged"
[ "$(cli KVC.PUT m i:7 "$(h 7)" 1 1 dram 5000 10)" = 1 ] || fail "PUT i:7"
for i in 1 2 3 4 5 6; do cli SET "x$i" y >/dev/null; done
d3=$(cli KVC.DIGEST)
stop
run "$NEW"
[ "$(cli KVC.DIGEST)" = "$d3" ] || fail "digest changed over a restart of the new daemon"
# shellcheck disable=SC2046
cli KVC.LOOKUP m $(chain) i:7 | grep -qx 0000000000000007 || fail "i:7 lost"
stop
echo "new daemon: i:7 stored, its own snapshot restored, digest $d3"

# ---- Mixed versions in one cluster ----
NODES=3
start_cluster 3
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null 2>&1
for i in 1 2 3; do
	b=$OLD
	[ "$i" = 3 ] && b=$NEW
	"$b" --config "$DIR/node$i.conf" >>"$DIR/node$i.log" 2>&1 &
	echo $! >"$DIR/node$i.pid"
	disown
done
wait_stable
L=$(wait_leader 5000) || fail "mixed cluster: no leader"
LC=$(cport "$L")
[ "$(rcli "$LC" KVC.NODE.ADD 1 a:1 0 dram 100000000)" = OK ] || fail "mixed: NODE.ADD"
for i in 1 2 3 4 5; do
	p=-
	[ "$i" = 1 ] || p=$(h $((i - 1)))
	[ "$(rcli "$LC" KVC.PUT m "$(h "$i")" "$p" 16 1 dram $((i * 100)) 100)" = 1 ] ||
		fail "mixed: PUT $i"
done
rcli "$LC" KVC.PIN m 100000 "$(h 2)" >/dev/null
rcli "$LC" KVC.ALLOC m 1000 >/dev/null
rcli "$LC" KVC.EVICT m "$(h 5)" >/dev/null
d=$(wait_converged 10) || fail "old and new replicas differ"
echo "mixed versions (nodes 1-2 old, 3 new, leader $L): digest/applied $d on all"
echo "PASS"
