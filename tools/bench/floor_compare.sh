#!/bin/bash
# floor_compare.sh — redis-benchmark SET against the consensus-free floor
# (`fabraft-bench floor --serve`), a 3-node fabraft (`fabraft cluster
# start`, fsync on) and redis-server (appendfsync always), alternated
# round by round; prints each round's rates and the median of the
# per-round ratios (docs/benchmarks.md, "The floor at 50 and 256 clients").
#
#   tools/bench/floor_compare.sh BUILD_BIN [ROUNDS] [CLIENTS...]
#   e.g. tools/bench/floor_compare.sh build-rel/bin 3 50 256
# Environment: FLOOR_COMPARE_REQUESTS (redis-benchmark -n, default 100000),
# FLOOR_COMPARE_WARMUP (untimed requests first, default 20000),
# FLOOR_COMPARE_PORTS="FLOOR REDIS FABRAFT RAFT" (loopback ports; fabraft
# takes 3 client ports from FABRAFT and 3 raft ports from RAFT; default
# "16600 16500 16379 17001").  Exits 77 without redis-server or
# redis-benchmark.
set -u
BIN=${1:?usage: floor_compare.sh BUILD_BIN [ROUNDS] [CLIENTS...]}
ROUNDS=${2:-3}
shift $(($# >= 2 ? 2 : 1))
CLIENTS=("$@")
[ ${#CLIENTS[@]} -gt 0 ] || CLIENTS=(50 256)
N=${FLOOR_COMPARE_REQUESTS:-100000}
WARM=${FLOOR_COMPARE_WARMUP:-20000}
read -r FLOOR_PORT REDIS_PORT FAB_PORT RAFT_PORT <<<"${FLOOR_COMPARE_PORTS:-16600 16500 16379 17001}"
for p in "$FLOOR_PORT" "$REDIS_PORT" "$FAB_PORT" "$RAFT_PORT"; do
	[[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1024 ] && [ "$p" -le 65500 ] ||
		{ echo "floor_compare: FLOOR_COMPARE_PORTS: bad port '$p'"; exit 2; }
done

for t in redis-benchmark redis-server redis-cli; do
	command -v $t >/dev/null || { echo "floor_compare: no $t on PATH"; exit 77; }
done
[ -x "$BIN/fabraft-bench" ] && [ -x "$BIN/fabraft" ] ||
	{ echo "floor_compare: no fabraft-bench or fabraft in $BIN"; exit 2; }
W=$(mktemp -d -p "${TMPDIR:-/tmp}" floor-compare.XXXXXX)
FLOOR_PID=""
cleanup() {
	[ -n "$FLOOR_PID" ] && kill -TERM "$FLOOR_PID" 2>/dev/null
	redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1
	"$BIN/fabraft" cluster stop --dir "$W/fab" >/dev/null 2>&1
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# SET ops/s of redis-benchmark -c $2 against port $1 (after a warm-up).
rate() {
	redis-benchmark -p "$1" -t set -n "$WARM" -c "$2" -q >/dev/null 2>&1
	redis-benchmark -p "$1" -t set -n "$N" -c "$2" -q 2>&1 | tr '\r' '\n' |
		sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | tail -1
}

start_floor() {
	"$BIN/fabraft-bench" floor --serve --port $FLOOR_PORT --dir "$W" \
		>"$W/floor.out" 2>&1 &
	FLOOR_PID=$!
	for _ in $(seq 100); do
		grep -q 'serving RESP' "$W/floor.out" && return 0
		sleep 0.1
	done
	cat "$W/floor.out"
	return 1
}
stop_floor() {
	kill -TERM "$FLOOR_PID"
	wait "$FLOOR_PID"
	FLOOR_PID=""
}
start_fab() {
	rm -rf "$W/fab"
	"$BIN/fabraft" cluster start --dir "$W/fab" --client-port $FAB_PORT \
		--raft-port $RAFT_PORT >/dev/null || return 1
	for _ in $(seq 100); do
		for p in $FAB_PORT $((FAB_PORT + 1)) $((FAB_PORT + 2)); do
			if redis-cli -p $p info 2>/dev/null | grep -q role:leader; then
				FAB_LEADER=$p
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}
start_redis() {
	mkdir -p "$W/redis"
	redis-server --port $REDIS_PORT --bind 127.0.0.1 --dir "$W/redis" \
		--appendonly yes --appendfsync always --save '' \
		--daemonize yes >/dev/null || return 1
	for _ in $(seq 50); do
		redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

echo "# floor_compare: $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds, redis-benchmark -t set -n $N"
echo "# round clients load floor fabraft redis (SET ops/s)"
for r in $(seq "$ROUNDS"); do
	for c in "${CLIENTS[@]}"; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		start_floor || { echo "floor_compare: the floor did not start"; exit 1; }
		f=$(rate $FLOOR_PORT "$c")
		stop_floor
		start_fab || { echo "floor_compare: fabraft has no leader"; exit 1; }
		b=$(rate "$FAB_LEADER" "$c")
		"$BIN/fabraft" cluster stop --dir "$W/fab" >/dev/null
		start_redis || { echo "floor_compare: redis-server did not start"; exit 1; }
		s=$(rate $REDIS_PORT "$c")
		redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1
		rm -rf "$W/redis"
		[ -n "$f" ] && [ -n "$b" ] && [ -n "$s" ] ||
			{ echo "floor_compare: a redis-benchmark run printed no rate"; exit 1; }
		echo "$r $c $load $f $b $s" | tee -a "$W/rows"
	done
done
python3 - "$W/rows" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for c in sorted({int(r[1]) for r in rows}):
    rs = [r for r in rows if int(r[1]) == c]
    med = lambda f: statistics.median(f(float(r[3]), float(r[4]), float(r[5])) for r in rs)
    print(f"clients {c}: median ratios over {len(rs)} rounds: "
          f"floor/redis {med(lambda f, b, s: f / s):.2f}  "
          f"fabraft/redis {med(lambda f, b, s: b / s):.2f}  "
          f"fabraft/floor {med(lambda f, b, s: b / f):.2f}")
PY
