#!/bin/bash
# trace_replay.sh — `fabraft-bench trace` against its expectation:
#  1. bad traces (missing file, malformed JSON, ids that are not integers,
#     numbers out of range, repeats, truncated gzip, empty) are refused
#     with exit 2 and the file and line named, before any server starts;
#  2. one engine, unlimited capacity: hit_blocks equals the exact prefix
#     reuse computed by trace_expect.py (a separate Python script) on a
#     made trace (50 designed requests + the shipped trace's first 300
#     lines), on fabraft and, when etcd is installed, on etcd;
#  3. four engines with a small capacity: no errors, LRU victims counted;
#  4. --speed paces requests by their arrival times;
#  5. nothing is left running.
# Usage: trace_replay.sh FABRAFT_BENCH
set -u
BENCH=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHIPPED=$ROOT/tools/bench/traces/conversation_trace.jsonl.gz
W=$(mktemp -d /tmp/fabraft-trace-test.XXXXXX)
export TMPDIR=$W/tmp
mkdir -p "$TMPDIR"
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. Bad input: exit 2, a clear message naming file and line, no crash.
bad() { # NAME EXPECTED-TEXT (the trace is $W/NAME)
	local out rc
	out=$("$BENCH" trace --trace "$W/$1" --systems fabraft 2>&1)
	rc=$?
	[ $rc = 2 ] || fail "$1: exit $rc, want 2 ($out)"
	echo "$out" | grep -qF -- "$2" || fail "$1: no '$2' in: $out"
	echo "ok: $1 -> $(echo "$out" | head -1)"
}
GOOD='{"timestamp": 0, "input_length": 600, "output_length": 1, "hash_ids": [1, 2]}'
printf '%s\n%s\n{"timestamp": 5, "hash_ids": [1, 2\n' "$GOOD" "$GOOD" >"$W/malformed.jsonl"
printf '%s\n{"timestamp": 5, "hash_ids": [1, "a"]}\n' "$GOOD" >"$W/string.jsonl"
printf '%s\n\n{"timestamp": 5, "hash_ids": [1, 2.5]}\n' "$GOOD" >"$W/float.jsonl"
printf '{"timestamp": 5, "hash_ids": [-3]}\n' >"$W/negative.jsonl"
printf '{"timestamp": 5, "hash_ids": [18446744073709551616]}\n' >"$W/huge.jsonl"
printf '{"timestamp": 99999999999999999999, "hash_ids": [1]}\n' >"$W/hugets.jsonl"
printf '{"timestamp": 5, "hash_ids": [7, 8, 7]}\n' >"$W/repeat.jsonl"
printf '{"timestamp": 5, "hash_ids": {"a": 1}}\n' >"$W/notlist.jsonl"
printf '{"hash_ids": [1]}\n' >"$W/nots.jsonl"
printf '[1, 2]\n' >"$W/array.jsonl"
printf '{"timestamp": 1, "x": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]], "hash_ids": [1]}\n' >"$W/deep.jsonl"
printf '{"timestamp": 1, "x": {"a" 1}, "hash_ids": [1]}\n' >"$W/badobj.jsonl"
: >"$W/empty.jsonl"
head -c 5000 "$SHIPPED" >"$W/truncated.jsonl.gz"
bad missing.jsonl "missing.jsonl: cannot open"
bad malformed.jsonl "malformed.jsonl:3: hash_ids: expected ',' or ']'"
bad string.jsonl "string.jsonl:2: hash_ids[1] is not a non-negative integer"
bad float.jsonl "float.jsonl:3: hash_ids[1] is not an integer"
bad negative.jsonl "negative.jsonl:1: hash_ids[0] is not a non-negative integer"
bad huge.jsonl "huge.jsonl:1: hash_ids[0] is out of range (0..18446744073709551615)"
bad hugets.jsonl "hugets.jsonl:1: timestamp is out of range"
bad repeat.jsonl "repeat.jsonl:1: hash_ids[2] repeats id 7"
bad notlist.jsonl "notlist.jsonl:1: hash_ids is not a list"
bad nots.jsonl "nots.jsonl:1: needs both"
bad array.jsonl "array.jsonl:1: not a JSON object"
bad deep.jsonl "deep.jsonl:1: nested too deeply"
bad badobj.jsonl "badobj.jsonl:1: expected ':' after a key"
bad empty.jsonl "empty.jsonl: no requests"
bad truncated.jsonl.gz "truncated.jsonl.gz:70: cannot read (damaged or truncated gzip?)"

# 2. Exact prefix reuse with one engine.
python3 "$HERE/trace_make.py" "$W/made.jsonl" "$SHIPPED" 300 ||
	fail "cannot make the trace"
gzip -9 -k "$W/made.jsonl"
read -r REQ BLK HITS < <(python3 "$HERE/trace_expect.py" "$W/made.jsonl")
echo "expected: $REQ requests, $BLK blocks, $HITS hit blocks"
[ "$HITS" -gt 0 ] && [ "$HITS" -lt "$BLK" ] || fail "expectation is trivial"
SYSTEMS=fabraft
if command -v etcd >/dev/null 2>&1; then
	SYSTEMS=fabraft,etcd
else
	echo "SKIP (etcd part): etcd is not installed (tools/scripts/setup.sh installs etcd-server)"
fi
"$BENCH" trace --trace "$W/made.jsonl.gz" --engines 1 --max-rate \
	--systems $SYSTEMS --json "$W/one.json" || fail "replay exited $?"
python3 - "$W/one.json" "$REQ" "$BLK" "$HITS" "$SYSTEMS" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
req, blk, hits = map(int, sys.argv[2:5])
names = [s["system"] for s in doc["systems"]]
assert names == sys.argv[5].split(","), names
assert doc["requests"] == req and doc["engines"] == 1, doc
assert len(doc["load_avg_start"]) == 3
for s in doc["systems"]:
    got = (s["requests"], s["blocks"], s["hit_blocks"])
    if got != (req, blk, hits) or s["errors"] or not s["ran"]:
        print("FAIL: %s gave %s (errors %d: %s), want %s" %
              (s["system"], got, s["errors"], s["error"], (req, blk, hits)))
        sys.exit(1)
    assert s["put_blocks"] == blk - hits, s
    assert abs(s["hit_ratio"] - hits / blk) < 1e-6, s
    assert s["lookups"] == req and 0 < s["puts"] <= req, s
    for k in ("lookup_p50_us", "lookup_p99_us", "put_p50_us",
              "put_p99_us", "ops_per_s"):
        assert s[k] > 0, (k, s)
    print("ok: %s hit_blocks %d of %d (exact), lookup p50 %.0f us" %
          (s["system"], s["hit_blocks"], s["blocks"], s["lookup_p50_us"]))
PY

# 3. Four engines, 256 blocks each: eviction through KVC.ALLOC, no errors.
"$BENCH" trace --trace "$W/made.jsonl" --engines 4 --capacity-blocks 256 \
	--systems fabraft --json "$W/four.json" || fail "4-engine replay exited $?"
python3 - "$W/four.json" "$REQ" "$BLK" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))["systems"][0]
req, blk = int(sys.argv[2]), int(sys.argv[3])
assert s["ran"] and s["errors"] == 0, s
assert s["requests"] == req and s["blocks"] == blk, s
assert s["evicted"] > 0, s
print("ok: 4 engines, 256 blocks each: %d hit blocks, %d evicted" %
      (s["hit_blocks"], s["evicted"]))
PY

# 4. Paced: the 50 designed requests arrive over 490 ms; --speed 1 must
#    take at least that long (at max rate it takes a few ms).
head -50 "$W/made.jsonl" >"$W/paced.jsonl"
"$BENCH" trace --trace "$W/paced.jsonl" --engines 2 --speed 1 \
	--systems fabraft --json "$W/paced.json" || fail "paced replay exited $?"
python3 - "$W/paced.json" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))["systems"][0]
assert s["ran"] and s["errors"] == 0 and s["requests"] == 50, s
assert s["seconds"] >= 0.49, ("replay faster than the arrivals", s["seconds"])
print("ok: --speed 1 replay took %.3f s (arrivals span 0.490 s)" % s["seconds"])
PY

# 5. No server outlives the benchmark.
sleep 0.5
if pgrep -f -- "$TMPDIR" >/dev/null; then
	pgrep -af -- "$TMPDIR"
	fail "servers left running"
fi
echo "PASS"
