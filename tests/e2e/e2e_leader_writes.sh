#!/bin/bash
# e2e_leader_writes: where a leader writes its log (--leader-writes,
# core/node/node.c log_flush).
# 1. Default (thread): INFO says wal_leader_writes:thread, and none of the
#    log batches the leader writes under 16 writers is written by its event
#    loop (wal_batches_inline stays).
# 2. inline: the same load, and every batch of the leader is written by
#    its loop (wal_batches_inline grows with wal_batches).
# 3. Acknowledged writes of an inline leader survive kill -9 of it: they
#    read back from the new leader and, once it restarted, from it.
# 4. A bad value is refused in one line naming the choices (exit 2).
. "$(dirname "$0")/lib.sh"
need redis-benchmark
NODES=3

# load MODE: 5000 SETs from 16 clients on the leader, which must write
# them as MODE says; prints the leader.
load() {
	local l b0 i0 b1 i1
	l=$(wait_leader 15000) || fail "no leader"
	[ "$(info_field "$l" wal_leader_writes)" = "$1" ] ||
		fail "INFO wal_leader_writes is not $1"
	b0=$(info_field "$l" wal_batches)
	i0=$(info_field "$l" wal_batches_inline)
	redis-benchmark -p "$(cport "$l")" -t set -n 5000 -c 16 -q \
		>/dev/null 2>&1 || fail "redis-benchmark against node $l"
	[ "$(leader)" = "$l" ] || fail "leadership moved during the load"
	b1=$(info_field "$l" wal_batches)
	i1=$(info_field "$l" wal_batches_inline)
	echo "$1: leader $l wrote $((b1 - b0)) log batches, $((i1 - i0)) inline" >&2
	[ $((b1 - b0)) -gt 0 ] || fail "$1: the leader wrote no batch"
	if [ "$1" = inline ]; then
		[ $((i1 - i0)) = $((b1 - b0)) ] ||
			fail "inline: some of the leader's batches went to its writer thread"
	else
		[ $((i1 - i0)) = 0 ] ||
			fail "thread: the leader wrote batches in its loop"
	fi
	echo "$l"
}

# 1. The default.
start_cluster 3
load thread >/dev/null

# 2. Inline.
set_conf leader-writes inline
L=$(load inline)

# 3. kill -9 of an inline leader right after acknowledged writes.
set_batch "$L" k 300
kill -9 "$(pid_of "$L")"
N=$(wait_leader 15000) || fail "no new leader after killing node $L"
echo "node $L killed; node $N leads"
check_acked "$DIR/acked" "$N"
"$BIN/fabraftd" --config "$DIR/node$L.conf" >>"$DIR/node$L.log" 2>&1 &
echo $! >"$DIR/node$L.pid"
wait_converged 15 >/dev/null || fail "node $L did not catch up"
check_acked "$DIR/acked" "$L"

# 4. Refused.
expect_rc 2 --leader-writes sideways
grep -q 'thread|inline' "$DIR/out" || fail "the refusal does not name the choices"
echo PASS
