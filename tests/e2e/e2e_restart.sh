#!/bin/bash
# e2e_restart: stop every node (SIGTERM), start them again: the state is
# recovered from the logs (same digest, every key back).
. "$(dirname "$0")/lib.sh"
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
: >"$DIR/acked"
for n in $(seq 0 299); do
	echo "SET r$n v$n"
	echo "r$n" >>"$DIR/acked"
done >"$DIR/sets"
rcli "$(cport $L)" <"$DIR/sets" >"$DIR/set.out" || fail "SET batch"
[ "$(grep -c '^OK$' "$DIR/set.out")" = 300 ] || fail "not every SET acknowledged"
rcli "$(cport $L)" del r0 r1 >/dev/null
sed -i '1,2d' "$DIR/acked"
rcli "$(cport $L)" kvc.node.add 7 10.0.0.7:7000 0 dram 1000000 >/dev/null
before=$(wait_converged 10) || fail "not converged before the restart"
echo "before: digest/applied $before"
"$BIN/fabraft" cluster stop --dir "$DIR" || fail "cluster stop"
for i in 1 2 3; do
	grep -q "clean shutdown" "$DIR/node$i.log" || fail "node $i: unclean stop"
done
start_cluster 3
L=$(wait_leader 5000) || fail "no leader after the restart"
after=$(wait_converged 15) || fail "not converged after the restart"
echo "after: digest/applied $after"
[ "${before%/*}" = "${after%/*}" ] || fail "state digest changed: $before -> $after"
check_acked "$DIR/acked" "$L"
[ "$(rcli "$(cport $L)" exists r0)" = 0 ] || fail "deleted key came back"
grep -q "recovered term [1-9].* [1-9][0-9]* entries" "$DIR/node1.log" ||
	fail "node 1 did not report recovered entries"
echo "PASS"
