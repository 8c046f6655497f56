#!/bin/bash
# bench_cluster_quick.sh — `fabraft-bench cluster --quick` works end to end:
# every cell of fabraft, etcd and redis ran with operations and no errors,
# results.json is valid, the table and plots exist, and no server is left
# running, after a normal exit and after SIGINT in the middle of a cell.
# Not a speed test.  Exit 77 (skip) when etcd or redis-server is missing.
set -u
BENCH=${1:?usage: bench_cluster_quick.sh path/to/fabraft-bench}
DIR=$(mktemp -d /tmp/fabraft-bq.XXXXXX)
BGPID=""
cleanup() {
	[ -n "$BGPID" ] && kill -9 "$BGPID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# Server processes whose command line names our temp root (read only).
left() { pgrep -f "$DIR/tmp" | grep -vx "$$" || true; }

mkdir -p "$DIR/tmp"
TMPDIR=$DIR/tmp "$BENCH" cluster --quick --out "$DIR/out" 2>&1 | tee "$DIR/log"
rc=${PIPESTATUS[0]}
[ "$rc" = 77 ] && exit 77
[ "$rc" = 0 ] || fail "fabraft-bench cluster --quick exited $rc"
[ -z "$(left)" ] || fail "servers still running: $(left)"
[ -z "$(ls -A "$DIR/tmp")" ] || fail "temp dirs left: $(ls "$DIR/tmp")"
grep -q "all servers stopped" "$DIR/log" || fail "no shutdown line"

/usr/bin/python3 - "$DIR/out/results.json" <<'PY' || fail "results.json"
import json, sys
d = json.load(open(sys.argv[1]))
cells = d["cells"]
systems = {c["system"] for c in cells}
assert systems == {"fabraft", "etcd", "redis"}, systems
workloads = {c["workload"] for c in cells}
assert workloads == {"set", "setget", "kvc"}, workloads
for c in cells:
    assert c["ok"] and c["ops"] > 0 and c["errors"] == 0, (c["label"], c["error"])
    # A leader change under load answers -TRYAGAIN (a write that then
    # reads back nothing); anything else that misses is a harness bug.
    assert c["read_misses"] == 0 or c["retry_replies"] > 0, c["label"]
    assert 0 < c["latency_us"]["p50"] <= c["latency_us"]["p99"], c["label"]
    assert c["server_cpu_s"] > 0, c["label"]
    # The load average taken before each cell (issue 18).
    assert c["round"] == 1 and len(c["loadavg"]) == 3, c["label"]
    assert all(x >= 0 for x in c["loadavg"]), c["label"]
    if c["system"] != "redis":
        assert c["peer_bytes_per_op"] > 0, c["label"]
        assert c["log_fsyncs_per_op"] > 0, c["label"]  # fsync on
    if c["system"] == "fabraft":
        want = "off" if c["path"].endswith("-msg") else "on"
        assert c["rma_seen"] == want, c["label"]
rb = d["redis_benchmark"]
# Issue 18's unpipelined -c 50 and issue 8's -P 16, against both stores.
assert {r["target"] for r in rb} == {"fabraft tcp-msg n3", "redis aof-always"}, rb
for r in rb:
    assert r["ok"] and r["round"] == 1 and len(r["loadavg"]) == 3, r
    assert r["command"].endswith("-c 50") and r["command_p16"].endswith("-P 16"), r
    for k in ("set_rps", "get_rps", "set_rps_p16", "get_rps_p16"):
        assert r[k] > 0, (k, r)
print("results.json: %d cells ok" % len(cells))
PY
grep -q '^| fabraft tcp-msg n3 | set | 64 | 16 |' "$DIR/out/results.md" ||
	fail "results.md has no table row"
grep -q '^  - fabraft tcp-msg n3: SET .* = .*x (m.*); GET .* = .*x (m.*)$' \
	"$DIR/out/results.md" || fail "results.md has no redis-benchmark target line"
if command -v gnuplot >/dev/null; then
	[ -s "$DIR/out/tput_set.png" ] && [ -s "$DIR/out/cdf_set_c16.png" ] ||
		fail "no plots"
fi

# SIGINT while a cell runs: the benchmark stops, kills its servers, exits 130.
TMPDIR=$DIR/tmp "$BENCH" cluster --systems fabraft --paths tcp-msg \
	--clients 16 --workloads set --values 64 --pipeline 1 --nodes 3 \
	--duration 30 --no-redis-benchmark --no-plots --out "$DIR/out2" \
	>"$DIR/log2" 2>&1 &
BGPID=$!
for _ in $(seq 1 100); do
	grep -q "measure" "$DIR/log2" 2>/dev/null && break
	[ -n "$(left)" ] && grep -q "warm-up" "$DIR/log2" && break
	sleep 0.1
done
[ -n "$(left)" ] || fail "no fabraftd started under $DIR/tmp: $(cat "$DIR/log2")"
kill -INT "$BGPID"
wait "$BGPID"
rc=$?
BGPID=""
[ "$rc" = 130 ] || fail "exit $rc after SIGINT, wanted 130"
[ -z "$(left)" ] || fail "servers left after SIGINT: $(left)"
echo "PASS: quick run and SIGINT both left no server running"
