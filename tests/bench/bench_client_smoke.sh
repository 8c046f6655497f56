#!/bin/bash
# bench_client_smoke.sh — `fabraft-bench client` runs against a 3-node
# cluster and prints its table (every op, both sides).  Not a speed test.
. "$(dirname "$0")/../e2e/lib.sh"
NODES=3
start_cluster 3
out=$("$BIN/fabraft-bench" client --ops 50 --rounds 2 \
	--endpoints "127.0.0.1:$(cport 1),127.0.0.1:$(cport 2),127.0.0.1:$(cport 3)" 2>&1) ||
	fail "fabraft-bench client: $out"
echo "$out"
for op in GET SET KVC.LOOKUP-64; do
	echo "$out" | grep -q "^$op " || fail "no $op row"
done
# Bad input: a clear error, exit 2.
"$BIN/fabraft-bench" client --endpoints "nohost" >"$DIR/bad" 2>&1
[ $? = 2 ] || fail "bad endpoints: not exit 2"
grep -q "not HOST:PORT" "$DIR/bad" || fail "bad endpoints: $(cat "$DIR/bad")"
echo PASS
