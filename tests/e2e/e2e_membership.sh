#!/bin/bash
# e2e_membership: membership changes on a live cluster under write load.
# Four daemons run; the first configuration has voters 1-3 (node 4 is in
# everyone's address book, outside the cluster).  `fabraft member add 4`
# adds it as a learner and promotes it once caught up; then the leader
# removes itself: it steps down once that commits and the other three elect
# a leader.  A leadership transfer to a named node follows.  Writes go on
# throughout and every acknowledged one is read back.  Bad requests are
# refused with clear errors.
. "$(dirname "$0")/lib.sh"
pick_ports
NODES=3
"$BIN/fabraft" cluster start --nodes 4 --voters 3 --dir "$DIR" \
	--client-port "$CPORT" --raft-port "$RPORT" --provider "$PROVIDER" \
	>"$DIR/start.out" 2>&1 || { cat "$DIR/start.out"; fail "cluster start"; }
L=$(wait_leader 5000) || fail "no leader"
F() { "$BIN/fabraft" --dir "$DIR" "$@"; }
voters() { F member list | grep -c ' voter '; }
[ "$(voters)" = 3 ] || fail "expected 3 voters at start: $(F member list)"
[ "$(info_field 4 role)" = follower ] || fail "node 4 not running"

writer m "$DIR/acked" "$DIR/stop" &
W=$!
EXTRA_PIDS="$W"
sleep 1

# Bad requests: each refused, nothing changes.
out=$(F member remove 9 2>&1) && fail "removing a non-member succeeded"
echo "$out" | grep -q "not a member" || fail "remove 9: '$out'"
out=$(F cmd RAFT.MEMBER ADDLEARNER 77 2>&1) && fail "adding an unknown address succeeded"
echo "$out" | grep -q "no address" || fail "add 77: '$out'"
out=$(F cmd RAFT.MEMBER ADDLEARNER 2 2>&1) && fail "adding a member twice succeeded"
echo "$out" | grep -q "already" || fail "add 2: '$out'"
out=$(F transfer 9 2>&1) && fail "transfer to a non-member succeeded"
echo "$out" | grep -q "not a member" || fail "transfer 9: '$out'"
out=$(F cmd RAFT.MEMBER PROMOTE x 2>&1) && fail "a bad id was taken"
echo "$out" | grep -q "usage" || fail "promote x: '$out'"
[ "$(voters)" = 3 ] || fail "a refused request changed the members"

# Add node 4.
t0=$(now_ms)
F member add 4 >"$DIR/add.out" 2>&1 || { cat "$DIR/add.out"; fail "member add 4"; }
echo "node 4 added and promoted in $(($(now_ms) - t0)) ms"
NODES=4
[ "$(voters)" = 4 ] || fail "expected 4 voters: $(F member list)"
F member list

# The leader removes itself.
L=$(leader)
[ -n "$L" ] || fail "no leader before the removal"
t0=$(now_ms)
F member remove "$L" >/dev/null || fail "member remove $L"
N=""
while [ $(($(now_ms) - t0)) -lt 5000 ]; do
	N=$(leader "$L")
	[ -n "$N" ] && break
	sleep 0.02
done
[ -n "$N" ] || fail "no new leader after removing leader $L"
echo "leader $L removed itself; node $N leads $(($(now_ms) - t0)) ms later"
[ "$(info_field "$L" role)" = follower ] || fail "removed leader $L still leads"
[ "$(voters)" = 3 ] || fail "expected 3 voters after the removal"
F member list | grep -q "^$L " && fail "node $L still listed"

# Transfer leadership to a named voter.  Under load an election may change
# the leader between reading it and asking; then pick again (bounded).
T=""
for attempt in 1 2 3 4 5; do
	N=$(wait_leader 3000 "$L") || fail "no leader before the transfer"
	T=""
	for i in 1 2 3 4; do
		[ "$i" = "$L" ] || [ "$i" = "$N" ] || { T=$i; break; }
	done
	if F transfer "$T" >"$DIR/transfer.out" 2>&1; then
		for _ in $(seq 1 100); do
			[ "$(info_field "$T" role)" = leader ] && break
			sleep 0.02
		done
		[ "$(info_field "$T" role)" = leader ] && break
	fi
	echo "attempt $attempt: transfer $N -> $T: $(cat "$DIR/transfer.out"); leader now $(leader "$L")"
done
[ "$(info_field "$T" role)" = leader ] || fail "transfer to $T did not happen"
echo "leadership transferred from $N to $T"

sleep 1
touch "$DIR/stop"
wait "$W"
EXTRA_PIDS=""
n=$(wc -l <"$DIR/acked")
[ "$n" -gt 20 ] || fail "only $n writes acknowledged"
check_acked "$DIR/acked" "$T"
# The removed node takes no part: it never campaigned (its term is not
# ahead of the cluster's) and counts no voters.
tl=$(info_field "$L" term)
tc=$(info_field "$(leader "$L")" term)
[ "$tl" -le "$tc" ] || fail "removed node $L is at term $tl, cluster at $tc"
[ "$(info_field "$L" role)" = follower ] || fail "removed node $L is $(info_field "$L" role)"
echo "PASS"
