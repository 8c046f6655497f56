#!/bin/bash
# rb_compare_smoke.sh — tools/bench/rb_compare.sh (the commands
# docs/benchmarks.md gives for the floor at 50 and 256 clients and for GET
# at 50 clients) runs one short round of each mode on free loopback ports
# and prints its row and median ratios; bad arguments are refused.  Not a
# speed test.
. "$(dirname "$0")/../e2e/lib.sh"
need redis-server
need redis-benchmark
CMP="$(dirname "$0")/../../tools/bench/rb_compare.sh"
pick_ports
for mode in set get; do
	out=$(RB_COMPARE_REQUESTS=3000 RB_COMPARE_WARMUP=500 \
		RB_COMPARE_PORTS="$((CPORT + 4)) $((CPORT + 5)) $CPORT $RPORT" \
		bash "$CMP" $mode "$BIN" 1 8 2>&1) ||
		fail "rb_compare.sh $mode exited $?: $out"
	echo "$out"
	# load, then a rate per store: floor, floor-procs, fabraft, redis
	# (set) or index, lease, redis (get)
	stores=3
	[ $mode = set ] && stores=4
	echo "$out" | grep -Eq "^1 8 [0-9.]+( [0-9.]+){$stores}\$" ||
		fail "$mode: no round row"
	echo "$out" | grep -q '^clients 8: median ratios over 1 rounds: ' ||
		fail "$mode: no median line"
done
RB_COMPARE_PORTS="1 2 3" bash "$CMP" set "$BIN" >"$DIR/bad" 2>&1
[ $? = 2 ] && grep -q 'bad port' "$DIR/bad" || fail "bad ports not refused"
bash "$CMP" put "$BIN" >"$DIR/bad" 2>&1
[ $? = 2 ] && grep -q 'usage' "$DIR/bad" || fail "a bad mode not refused"
echo PASS
