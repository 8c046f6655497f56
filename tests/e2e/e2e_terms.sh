#!/bin/bash
# e2e_terms: terms cannot be exhausted (issue 15, item 2).
#  1. A member that misbehaves (it holds the cluster's secret: here a tool
#     that takes a stopped follower's identity) sends every kind of message
#     with the term 2^62 and with a jump of 2^30: no node adopts either,
#     the leader stays, writes go on, and the follower rejoins.
#  2. A cluster staged at RAFT_TERM_MAX - 1 elects its last leader, says
#     term_exhausted in INFO and in the log, and once that leader is gone
#     answers writes with CLUSTERDOWN and the reason instead of TRYAGAIN.
. "$(dirname "$0")/lib.sh"
[ -x "${TERM_TOOL:-}" ] || skip "TERM_TOOL is not built"
NODES=3
TERM_MAX=4611686018427387904 # RAFT_TERM_MAX, 2^62
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
rcli "$(cport "$L")" set before 1 >/dev/null || fail "SET before"
T=$(info_field "$L" term)
follower_roles "$L"
kill -9 "$(pid_of "$F")"
sleep 0.5
for bad in "$TERM_MAX" $((T + (1 << 30))); do
	"$TERM_TOOL" rogue "$PROVIDER" "$F" "$peers" "$cid" "$DIR/secret" \
		"$bad" >"$DIR/rogue.out" 2>&1 ||
		{ cat "$DIR/rogue.out"; fail "the rogue member did not reach both nodes"; }
	cat "$DIR/rogue.out"
done
sleep 0.5
for i in "$L" "$S"; do
	t=$(info_field "$i" term)
	[ "$t" = "$T" ] || fail "node $i moved from term $T to $t"
	d=$(info_field "$i" msgs_dropped_term_jump)
	[ "${d:-0}" -ge 6 ] || fail "node $i counted ${d:-0} dropped messages, want >= 6"
	[ "$(info_field "$i" term_exhausted)" = no ] || fail "node $i exhausted"
	echo "node $i: term $t, $d messages with far terms dropped"
done
[ "$(leader "$F")" = "$L" ] || fail "the leader changed"
[ "$(rcli "$(cport "$L")" set after 1)" = OK ] || fail "SET after the attack"
start_cluster 3
wait_converged 15 >/dev/null || fail "follower $F did not rejoin"
[ "$(info_field "$F" term)" = "$T" ] || fail "follower $F rejoined in another term"
echo "part 1: no term adopted, leader $L kept, follower $F rejoined in term $T"

# Part 2: a cluster that reaches the maximum anyway.
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "cluster stop"
for i in 1 2 3; do
	"$TERM_TOOL" set-term "$DIR/data$i" "$cid" "$i" $((TERM_MAX - 1)) ||
		fail "set-term node $i"
done
start_cluster 3
L=$(wait_leader 5000) || fail "no leader at term 2^62 - 1"
[ "$(info_field "$L" term)" = "$TERM_MAX" ] || fail "leader not at RAFT_TERM_MAX"
[ "$(info_field "$L" term_exhausted)" = yes ] || fail "INFO does not say term_exhausted"
[ "$(rcli "$(cport "$L")" set last 1)" = OK ] || fail "the last leader does not serve"
grep -q "term space exhausted" "$DIR/node$L.log" || fail "no log line says so"
kill -9 "$(pid_of "$L")"
S=$((L % 3 + 1))
out=""
for k in $(seq 50); do
	out=$(rcli "$(cport "$S")" set x 1 2>&1)
	case "$out" in *CLUSTERDOWN*exhausted*) break ;; esac
	sleep 0.1
done
case "$out" in
*CLUSTERDOWN*exhausted*) ;;
*) fail "after the last leader: '$out', want CLUSTERDOWN ... exhausted" ;;
esac
[ -z "$(leader "$L")" ] || fail "a leader was elected beyond RAFT_TERM_MAX"
echo "part 2: at RAFT_TERM_MAX the cluster says: $out"
echo "PASS"
