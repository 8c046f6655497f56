#!/bin/bash
# bench_cluster_breakdown.sh — `fabraft-bench cluster --breakdown --json`
# (issue 18): for a 1-client SET on tcp-msg it prints every write stage
# counted over the window (repl for both followers), the medians of the
# stages every write waits for at most the client's median (plus the 1.33x
# bucket width; of the leader's write and the two acks, the second
# fastest: a commit needs two of the three), a floor measured in
# the same run (raw pwrite+fdatasync, a bare tcp round trip and the
# replicated floor of fabraft-bench floor, all > 0),
# valid JSON, and leaves no server running.  Not a speed test.
set -u
BENCH=${1:?usage: bench_cluster_breakdown.sh path/to/fabraft-bench}
DIR=$(mktemp -d /tmp/fabraft-bb.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$DIR/tmp"
TMPDIR=$DIR/tmp "$BENCH" cluster --breakdown --paths tcp-msg --duration 1 \
	--warmup 0.3 --json --out "$DIR/out" >"$DIR/json" 2>"$DIR/log" ||
	{ cat "$DIR/log"; fail "fabraft-bench cluster --breakdown exited $?"; }
cat "$DIR/json"
[ -z "$(pgrep -f "$DIR/tmp" | grep -vx "$$")" ] || fail "servers left running"
/usr/bin/python3 - "$DIR/json" <<'PY' || fail "breakdown JSON"
import json, sys
d = json.load(open(sys.argv[1]))
cells = d["breakdown"]
assert len(cells) == 1, cells
c = cells[0]
st = c["stages"]
bound = c["client_p50_us"] * 1.34  # one bucket's width over it
for s in ("propose", "wal", "commit", "apply", "reply"):
    assert st[s]["n"] > 0, s
for s in ("propose", "commit", "apply", "reply"):
    assert st[s]["p50_us"] <= bound, (s, st[s], c["client_p50_us"])
repl = [k for k in st if k.startswith("repl peer=")]
assert len(repl) == 2, repl
for k in repl:
    assert st[k]["n"] > 0, (k, st[k])
# A commit needs two of the leader's write and the two followers' acks:
# the second fastest of the three is inside the client's time, the
# slowest need not be.
paths = sorted(st[k]["p50_us"] for k in ["wal"] + repl)
assert paths[1] <= bound, (paths, c["client_p50_us"])
f = c["floor"]
assert f["write_bytes"] > 64, f  # the 64 B value plus its record
assert f["pwrite_fdatasync_p50_us"] > 0 and f["round_trip_p50_us"] > 0, f
assert f["replicated_p50_us"] > 0, f
assert f["provider"] == "tcp" and f["mode"] == "raw-msg" and f["note"] == "", f
print("breakdown: %d stages, floor %.1f us disk, %.1f us round trip, "
      "%.1f us replicated" % (len(st), f["pwrite_fdatasync_p50_us"],
      f["round_trip_p50_us"], f["replicated_p50_us"]))
PY
grep -q "^| wal |" "$DIR/out/results.md" || fail "results.md has no breakdown table"
echo PASS
