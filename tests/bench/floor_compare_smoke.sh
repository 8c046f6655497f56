#!/bin/bash
# floor_compare_smoke.sh — tools/bench/floor_compare.sh (the command
# docs/benchmarks.md gives for the floor at 50 and 256 clients) runs one
# short round against the floor, a 3-node fabraft and redis-server on
# free loopback ports, and prints its row and median ratios.  Not a speed
# test.
. "$(dirname "$0")/../e2e/lib.sh"
need redis-server
need redis-benchmark
pick_ports
out=$(FLOOR_COMPARE_REQUESTS=3000 FLOOR_COMPARE_WARMUP=500 \
	FLOOR_COMPARE_PORTS="$((CPORT + 4)) $((CPORT + 5)) $CPORT $RPORT" \
	bash "$(dirname "$0")/../../tools/bench/floor_compare.sh" "$BIN" 1 8 2>&1) ||
	fail "floor_compare.sh exited $?: $out"
echo "$out"
echo "$out" | grep -Eq '^1 8 [0-9.]+ [0-9.]+ [0-9.]+ [0-9.]+$' ||
	fail "no round row"
echo "$out" | grep -q '^clients 8: median ratios over 1 rounds: floor/redis' ||
	fail "no median line"
FLOOR_COMPARE_PORTS="1 2 3" bash "$(dirname "$0")/../../tools/bench/floor_compare.sh" \
	"$BIN" >"$DIR/bad" 2>&1
[ $? = 2 ] && grep -q 'bad port' "$DIR/bad" || fail "bad ports not refused"
echo PASS
