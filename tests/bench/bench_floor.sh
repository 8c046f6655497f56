#!/bin/bash
# fabraft-bench floor: each I/O pattern runs, reports sane percentiles as
# JSON, removes its files; bad flags and a missing directory are refused;
# --serve answers RESP SETs (batches spanning blocks, values over a batch
# refused), counts them, stops on SIGTERM or --seconds; --procs runs the
# other nodes as processes, which end with it and whose death is reported.
# Not a speed test.
set -u
B=$1
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for args in "--nodes 3" "--nodes 3 --procs" "--nodes 1" "--nodes 5 --slot off" \
	"--nodes 3 --io buffered" "--nodes 2 --blocks fresh --bytes 4000"; do
	# shellcheck disable=SC2086
	out=$("$B" floor $args --ops 40 --dir "$D" --json) ||
		fail "floor $args exited $?"
	echo "floor $args: $out"
	python3 - "$out" $args <<'PY' || fail "floor $args: bad result"
import json, sys
r = json.loads(sys.argv[1])
args = sys.argv[2:]
nodes = int(args[args.index("--nodes") + 1])
assert r["nodes"] == nodes and r["majority"] == nodes // 2 + 1, r
assert r["ops"] == 40, r
assert 0 < r["p50_us"] <= r["p99_us"] <= r["p999_us"], r
assert r["slot"] == ("off" not in args), r
assert r["procs"] == ("--procs" in args), r
if "buffered" in args:
    assert not r["o_direct"], r
PY
	left=$(find "$D" -name 'fabraft-floor-*' | wc -l)
	[ "$left" = 0 ] || fail "floor $args left $left file(s)"
done

"$B" floor --nodes 0 >"$D/out" 2>&1
[ $? = 2 ] && grep -q -- '--nodes' "$D/out" || fail "--nodes 0 not refused"
"$B" floor --ops 40 --dir "$D/missing" >"$D/out" 2>&1
[ $? = 1 ] && grep -q 'missing' "$D/out" || fail "a missing --dir not named"
"$B" floor --io sideways >/dev/null 2>&1
[ $? = 2 ] || fail "--io sideways not refused"
# floor --serve with extra flags $@ in the background: SP, its port.
serve_start() {
	"$B" floor --serve --port 0 --dir "$D" "$@" >"$D/serve" 2>&1 &
	SP=$!
	port=""
	for _ in $(seq 100); do
		port=$(sed -n 's/.*serving RESP on 127.0.0.1:\([0-9]*\).*/\1/p' "$D/serve")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$D/serve"; fail "--serve $* printed no port"; }
}
# --serve: redis-cli and (when installed) redis-benchmark against it.
serve_start
cli() { timeout 20 redis-cli -p "$port" "$@"; }
[ "$(cli set k v)" = OK ] || fail "--serve: SET not answered OK"
cli get k | grep -q 'SET key value only' || fail "--serve: GET not refused"
head -c 1000000 /dev/zero | tr '\0' x >"$D/big"
[ "$(cli -x set big <"$D/big")" = OK ] || fail "--serve: a 1 MB SET failed"
head -c 5000000 /dev/zero | tr '\0' y >"$D/huge"
cli -x set huge <"$D/huge" | grep -qi 'invalid' ||
	fail "--serve: a SET over one batch not refused"
want=2
if command -v redis-benchmark >/dev/null; then
	timeout 60 redis-benchmark -p "$port" -t set -n 3000 -c 20 -q \
		>/dev/null 2>&1 || fail "--serve: redis-benchmark failed"
	want=3002
else
	echo "redis-benchmark not installed: 300 SETs by redis-cli instead"
	for i in $(seq 300); do echo "SET k$i v$i"; done | cli >/dev/null
	want=302
fi
kill -TERM $SP
wait $SP || { cat "$D/serve"; fail "--serve exited $? on SIGTERM"; }
cat "$D/serve"
read -r sets batches refused < <(sed -n \
	's/.*served \([0-9]*\) SETs in \([0-9]*\) batches.*refused \([0-9]*\).*/\1 \2 \3/p' \
	"$D/serve")
[ "${sets:-0}" -ge "$want" ] && [ "${batches:-0}" -ge 1 ] &&
	[ "$batches" -le "$sets" ] && [ "${refused:-0}" -ge 1 ] ||
	fail "--serve: summary says sets=${sets:-?} batches=${batches:-?} refused=${refused:-?} (want >= $want SETs)"
left=$(find "$D" -name 'fabraft-floor-*' | wc -l)
[ "$left" = 0 ] || fail "--serve left $left file(s)"

# --serve --procs: node 0 answers while the nodes are processes; they end
# with it; a node killed is reported and stops node 0 with status 1.
procs_start() {
	serve_start --procs
	grep -q 'node processes' "$D/serve" || fail "--procs: not said"
	[ "$(pgrep -c -P $SP)" = 2 ] || fail "--serve --procs: not 2 node processes"
}
procs_start
for i in $(seq 50); do echo "SET k$i v$i"; done | cli >/dev/null
kill -TERM $SP
wait $SP || { cat "$D/serve"; fail "--serve --procs exited $? on SIGTERM"; }
sets=$(sed -n 's/.*served \([0-9]*\) SETs.*/\1/p' "$D/serve")
[ "${sets:-0}" = 50 ] || fail "--serve --procs: ${sets:-no} SETs served, want 50"
procs_start
kids=$(pgrep -P $SP)
kill -KILL $(echo "$kids" | head -1)
# Node 0 sees the dead node at the first SET whose round reads its end of
# stream (the other node's ack may come first): a few SETs at most.
for _ in $(seq 100); do
	kill -0 $SP 2>/dev/null || break
	cli set k v >/dev/null 2>&1
	sleep 0.1
done
kill -0 $SP 2>/dev/null && { kill -TERM $SP; fail "--procs: a killed node went unnoticed"; }
wait $SP
st=$?
[ $st = 1 ] && grep -q 'node' "$D/serve" ||
	{ cat "$D/serve"; fail "--serve --procs: a killed node gave status $st"; }
for k in $kids; do
	! kill -0 "$k" 2>/dev/null || fail "--procs: node process $k outlived node 0"
done
left=$(find "$D" -name 'fabraft-floor-*' | wc -l)
[ "$left" = 0 ] || fail "--serve --procs left $left file(s)"

out=$("$B" floor --serve --seconds 1 --nodes 1 --io buffered --dir "$D" \
	--json) || fail "--serve --seconds 1 exited $?"
echo "floor --serve --seconds 1: $out"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["serve"] and r["nodes"] == 1 and r["sets"] == 0 and r["port"] > 0, r' "$out" ||
	fail "--serve --seconds 1: bad result"
"$B" floor --port 7000 >/dev/null 2>&1
[ $? = 2 ] || fail "--port without --serve not refused"
"$B" floor --serve --blocks fresh >/dev/null 2>&1
[ $? = 2 ] || fail "--serve --blocks fresh not refused"
echo "bench_floor: passed"
