#!/bin/bash
# e2e_forge: a program on the network WITHOUT the cluster secret cannot
# speak for a member (issue 15, item 1).  It takes a stopped follower's
# address and sends the other two nodes every kind of Raft message "from"
# that follower, with the next term (a jump the term bound of e2e_terms
# allows), as well-formed frames with correct CRCs -- plain, and with a
# made-up MAC.  Before issue 15 one such APPEND_RESP deposed the leader.
# Now: no term moves, the leader stays, writes go on, every frame is
# counted as refused, and the follower rejoins.
. "$(dirname "$0")/lib.sh"
[ -x "${TERM_TOOL:-}" ] || skip "TERM_TOOL is not built"
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
rcli "$(cport "$L")" set before 1 >/dev/null || fail "SET before"
wait_converged 10 >/dev/null || fail "not converged"
T=$(info_field "$L" term)
follower_roles "$L"
declare -A R0
for i in "$L" "$S"; do R0[$i]=$(info_field "$i" fab_rejects_frame); done
kill -9 "$(pid_of "$F")"
sleep 0.5
"$TERM_TOOL" forge "$PROVIDER" "$F" "$peers" "$cid" $((T + 1)) \
	>"$DIR/forge.out" 2>&1 || { cat "$DIR/forge.out"; fail "the forger could not send"; }
cat "$DIR/forge.out"
sent=$(sed -n 's/.*forged \([0-9]*\) frames.*/\1/p' "$DIR/forge.out")
sleep 0.5
for i in "$L" "$S"; do
	t=$(info_field "$i" term)
	[ "$t" = "$T" ] || fail "node $i moved from term $T to $t"
	r=$(info_field "$i" fab_rejects_frame)
	n=$((r - ${R0[$i]}))
	# Half of the frames went to each node, half of those without a MAC:
	# each of these is counted.  (One with the AUTH flag naming a member
	# whose connection is down is dropped as "not connected" instead.)
	[ "$n" -ge $((sent / 4)) ] || fail "node $i refused $n frames, want >= $((sent / 4))"
	echo "node $i: term $t, $n forged frames refused"
done
[ "$(leader "$S")" = "$L" ] || fail "the leader changed"
[ "$(rcli "$(cport "$L")" get before)" = 1 ] || fail "data changed"
[ "$(rcli "$(cport "$L")" set after 1)" = OK ] || fail "SET after the forgery"
start_cluster 3
wait_converged 15 >/dev/null || fail "follower $F did not rejoin"
[ "$(info_field "$F" term)" = "$T" ] || fail "follower $F rejoined in another term"
echo "no term moved ($T), leader $L kept, $sent forged frames refused, follower $F rejoined"
echo "PASS"
