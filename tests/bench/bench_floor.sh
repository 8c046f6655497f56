#!/bin/bash
# fabraft-bench floor: each I/O pattern runs, reports sane percentiles as
# JSON, removes its files; bad flags and a missing directory are refused.
# Not a speed test.
set -u
B=$1
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for args in "--nodes 3" "--nodes 1" "--nodes 5 --slot off" \
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
echo "bench_floor: passed"
