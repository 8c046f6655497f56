#!/bin/bash
# e2e_events: the KV event feed on 3 nodes.  Two writers store and evict
# blocks through every node while a follower lists the state (KVC.SCAN) and
# follows KVC.EVENTS through whatever node answers; the leader is killed
# with SIGKILL midway and restarted.  The follower checks: no gap and no
# duplicate seq, log indices non-decreasing, and the state rebuilt from the
# listing and the events equals a final KVC.SCAN.  Then the cluster
# restarts keeping 64 events (--kvc-events-max): KVC.EVENTS 1 is RESYNC, and
# a follower that starts at seq 1 lists the state, follows, and ends equal.
. "$(dirname "$0")/lib.sh"
need python3
TOOL="$(dirname "$0")/events_tool.py"
NODES=3
for bad in 0 4194305 x; do
	out=$("$BIN/fabraftd" --id 1 --peers 1=127.0.0.1:7001 --data-dir "$DIR/x" \
		--kvc-events-max "$bad" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [ "$(echo "$out" | wc -l)" -le 2 ] ||
		fail "--kvc-events-max $bad: exit $rc: $out"
done
echo "--kvc-events-max 0, 4194305, x refused: $(echo "$out" | head -1)"
start_cluster 3
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null
for i in 1 2 3; do
	printf 'snapshot-entries = 300\nsnapshot-trailing = 50\n' >>"$DIR/node$i.conf"
done
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
P="$(cport 1),$(cport 2),$(cport 3)"
for s in 1 2; do
	out=$(rcli "$(cport "$L")" KVC.NODE.ADD "$s" "10.0.0.$s:7000" 0 \
		hbm 100000000 dram 100000000)
	[ "$out" = OK ] || fail "KVC.NODE.ADD $s: $out"
done

python3 "$TOOL" write "$P" "$DIR/stop" 1 >"$DIR/w1.out" 2>&1 &
W1=$!
python3 "$TOOL" write "$P" "$DIR/stop" 2 >"$DIR/w2.out" 2>&1 &
W2=$!
EXTRA_PIDS="$W1 $W2"
sleep 1
python3 "$TOOL" follow "$P" "$DIR/stopf" "$DIR/follow.out" >"$DIR/follow.log" 2>&1 &
F=$!
EXTRA_PIDS="$W1 $W2 $F"
sleep 3
L=$(leader)
[ -n "$L" ] || fail "no leader before the kill"
echo "leader node $L; SIGKILL"
kill -9 "$(pid_of "$L")"
N=$(wait_leader 3000 "$L") || fail "no new leader within 3 s"
echo "node $N leads"
sleep 2
start_cluster 3 # restarts the killed node
echo "node $L restarted"
sleep 2
touch "$DIR/stop"
wait "$W1" || fail "writer 1: $(cat "$DIR/w1.out")"
wait "$W2" || fail "writer 2: $(cat "$DIR/w2.out")"
cat "$DIR/w1.out" "$DIR/w2.out"
touch "$DIR/stopf" # the follower drains the feed once the writers are gone
wait "$F" || { cat "$DIR/follow.log"; fail "follower"; }
cat "$DIR/follow.out"
wait_converged 20 >/dev/null || fail "nodes did not converge"
grep -q "followed [1-9][0-9]* events" "$DIR/follow.out" || fail "no events followed"

echo "restart keeping 64 events"
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null
for i in 1 2 3; do printf 'kvc-events-max = 64\n' >>"$DIR/node$i.conf"; done
start_cluster 3
L=$(wait_leader 5000) || fail "no leader after the restart"
out=$(rcli "$(cport "$L")" KVC.EVENTS 1)
case "$out" in
"RESYNC oldest kept seq is "*"; list the state with KVC.SCAN and follow from the seq it returns") ;;
*) fail "KVC.EVENTS 1 with 64 kept: $out" ;;
esac
echo "KVC.EVENTS 1: $out"
out=$(rcli "$(cport "$L")" KVC.EVENTS 999999999)
case "$out" in
"ERR from_seq is beyond the next seq "*) ;;
*) fail "KVC.EVENTS beyond the log: $out" ;;
esac
rm -f "$DIR/stop" "$DIR/stopf"
python3 "$TOOL" write "$P" "$DIR/stop" 3 20 >"$DIR/w3.out" 2>&1 &
W3=$!
python3 "$TOOL" follow "$P" "$DIR/stopf" "$DIR/follow2.out" 1 >"$DIR/follow2.log" 2>&1 &
F=$!
EXTRA_PIDS="$W3 $F"
sleep 3
touch "$DIR/stop"
wait "$W3" || fail "writer 3: $(cat "$DIR/w3.out")"
touch "$DIR/stopf"
wait "$F" || { cat "$DIR/follow2.log"; fail "follower after RESYNC"; }
cat "$DIR/follow2.out"
grep -q ", [1-9][0-9]* resyncs" "$DIR/follow2.out" || fail "the follower never saw RESYNC"

# Every replica numbers the feed alike: with local reads, each node's
# next seq and last events are the same.
wait_converged 20 >/dev/null || fail "nodes did not converge"
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null
for i in 1 2 3; do printf 'read-mode = stale\n' >>"$DIR/node$i.conf"; done
start_cluster 3
wait_converged 20 >/dev/null || fail "nodes did not converge after restart"
first=""
for i in 1 2 3; do
	next=$(rcli "$(cport "$i")" KVC.SCAN nosuchns 0 | sed -n 2p)
	[ -n "$next" ] && [ "$next" -gt 64 ] || fail "node $i: next seq '$next'"
	tail=$(rcli "$(cport "$i")" KVC.EVENTS $((next - 64)) COUNT 64 | md5sum)
	[ -z "$first" ] && first="$next $tail"
	[ "$next $tail" = "$first" ] || fail "node $i's feed differs"
done
echo "all nodes: next seq ${first%% *}, the last 64 events equal"
echo "PASS"
