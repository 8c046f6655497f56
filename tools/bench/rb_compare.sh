#!/bin/bash
# rb_compare.sh — redis-benchmark against three stores, alternated round by
# round; prints each round's rates and the median of the per-round ratios
# (docs/benchmarks.md, "The floor at 50 and 256 clients" and "GET at 50
# clients").
#   set: SET against the consensus-free floor (`fabraft-bench floor
#        --serve`) with its nodes as threads and as processes (--procs),
#        a 3-node fabraft (`fabraft cluster start`, fsync on) and
#        redis-server (appendfsync always);
#   get: GET of one 3-byte value against a 3-node fabraft with --read-mode
#        index (the default), one with --read-mode lease, and redis-server.
#
#   tools/bench/rb_compare.sh set|get BUILD_BIN [ROUNDS] [CLIENTS...]
#   e.g. tools/bench/rb_compare.sh set build-rel/bin 5 50 256
# Environment: RB_COMPARE_REQUESTS (redis-benchmark -n, default 100000),
# RB_COMPARE_WARMUP (untimed requests first, default 20000),
# RB_COMPARE_PORTS="FLOOR REDIS FABRAFT RAFT" (loopback ports; fabraft
# takes 3 client ports from FABRAFT and 3 raft ports from RAFT; default
# "16600 16500 16379 17001").  Exits 77 without redis-server or
# redis-benchmark, 2 on bad arguments.
set -u
usage() {
	echo "usage: rb_compare.sh set|get BUILD_BIN [ROUNDS] [CLIENTS...]"
	exit 2
}
[ $# -ge 2 ] || usage
MODE=$1 BIN=$2 ROUNDS=${3:-3}
[ "$MODE" = set ] || [ "$MODE" = get ] || usage
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || usage
shift $(($# >= 3 ? 3 : 2))
CLIENTS=("$@")
[ ${#CLIENTS[@]} -gt 0 ] || CLIENTS=(50 256)
for c in "${CLIENTS[@]}"; do
	[[ "$c" =~ ^[1-9][0-9]*$ ]] || usage
done
N=${RB_COMPARE_REQUESTS:-100000}
WARM=${RB_COMPARE_WARMUP:-20000}
read -r FLOOR_PORT REDIS_PORT FAB_PORT RAFT_PORT \
	<<<"${RB_COMPARE_PORTS:-16600 16500 16379 17001}"
for p in "$FLOOR_PORT" "$REDIS_PORT" "$FAB_PORT" "$RAFT_PORT"; do
	[[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1024 ] && [ "$p" -le 65500 ] ||
		{ echo "rb_compare: RB_COMPARE_PORTS: bad port '$p'"; exit 2; }
done

for t in redis-benchmark redis-server redis-cli; do
	command -v $t >/dev/null || { echo "rb_compare: no $t on PATH"; exit 77; }
done
[ -x "$BIN/fabraft-bench" ] && [ -x "$BIN/fabraft" ] ||
	{ echo "rb_compare: no fabraft-bench or fabraft in $BIN"; exit 2; }
W=$(mktemp -d -p "${TMPDIR:-/tmp}" rb-compare.XXXXXX)
FLOOR_PID=""
cleanup() {
	[ -n "$FLOOR_PID" ] && kill -TERM "$FLOOR_PID" 2>/dev/null
	redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
	"$BIN/fabraft" cluster stop --dir "$W/fab" >/dev/null 2>&1
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# Ops/s of redis-benchmark -t $MODE -c $2 against port $1 (after a
# warm-up); a GET reads a 3-byte value, as redis-benchmark's SET writes.
rate() {
	if [ "$MODE" = get ]; then
		redis-cli -p "$1" set key:__rand_int__ xxx >/dev/null || return 1
	fi
	redis-benchmark -p "$1" -t "$MODE" -n "$WARM" -c "$2" -q >/dev/null 2>&1
	redis-benchmark -p "$1" -t "$MODE" -n "$N" -c "$2" -q 2>&1 |
		tr '\r' '\n' |
		sed -n 's/^[SG]ET: \([0-9.]*\) requests per second.*/\1/p' | tail -1
}

# The floor; $1: --procs or nothing.
start_floor() {
	"$BIN/fabraft-bench" floor --serve --port "$FLOOR_PORT" --dir "$W" $1 \
		>"$W/floor.out" 2>&1 &
	FLOOR_PID=$!
	for _ in $(seq 100); do
		grep -q 'serving RESP' "$W/floor.out" && return 0
		sleep 0.1
	done
	cat "$W/floor.out" >&2
	return 1
}
stop_floor() {
	kill -TERM "$FLOOR_PID"
	wait "$FLOOR_PID"
	FLOOR_PID=""
}
# A 3-node fabraft with --read-mode $1; its leader's port in FAB_LEADER.
start_fab() {
	rm -rf "$W/fab"
	"$BIN/fabraft" cluster start --dir "$W/fab" --client-port "$FAB_PORT" \
		--raft-port "$RAFT_PORT" --read-mode "$1" >/dev/null || return 1
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
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$W/redis" \
		--appendonly yes --appendfsync always --save '' \
		--daemonize yes >/dev/null || return 1
	for _ in $(seq 50); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# The rate of store $1 (floor, floor-procs, index, lease or redis) at $2
# clients.
one() {
	local r=""
	case $1 in
	floor | floor-procs)
		local procs=""
		[ "$1" = floor-procs ] && procs=--procs
		start_floor "$procs" || { echo "rb_compare: the floor did not start" >&2; return 1; }
		r=$(rate "$FLOOR_PORT" "$2")
		stop_floor
		;;
	index | lease)
		start_fab "$1" || { echo "rb_compare: fabraft has no leader" >&2; return 1; }
		r=$(rate "$FAB_LEADER" "$2")
		"$BIN/fabraft" cluster stop --dir "$W/fab" >/dev/null
		;;
	redis)
		start_redis || { echo "rb_compare: redis-server did not start" >&2; return 1; }
		r=$(rate "$REDIS_PORT" "$2")
		redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
		rm -rf "$W/redis"
		;;
	esac
	[ -n "$r" ] ||
		{ echo "rb_compare: redis-benchmark against $1 printed no rate" >&2; return 1; }
	echo "$r"
}

if [ "$MODE" = set ]; then STORES=(floor floor-procs index redis); else STORES=(index lease redis); fi
echo "# rb_compare $MODE: $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"$ROUNDS rounds, redis-benchmark -t $MODE -n $N"
echo "# round clients load ${STORES[*]} (ops/s; index, lease: fabraft's read mode)"
for r in $(seq "$ROUNDS"); do
	for c in "${CLIENTS[@]}"; do
		row="$r $c $(cut -d' ' -f1 /proc/loadavg)"
		for st in "${STORES[@]}"; do
			x=$(one "$st" "$c") || exit 1
			row="$row $x"
		done
		echo "$row" | tee -a "$W/rows"
	done
done
python3 - "$W/rows" "$MODE" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
mode = sys.argv[2]
if mode == "set":
    names = ("floor", "floor-procs", "fabraft", "redis")
    pairs = [(0, 3), (1, 3), (2, 3), (2, 0), (2, 1)]
else:
    names = ("index", "lease", "redis")
    pairs = [(0, 2), (1, 2)]
for c in sorted({int(r[1]) for r in rows}):
    rs = [[float(x) for x in r[3:3 + len(names)]] for r in rows if int(r[1]) == c]
    out = ["%s/%s %.2f" % (names[a], names[b],
                           statistics.median(v[a] / v[b] for v in rs))
           for a, b in pairs]
    print("clients %d: median ratios over %d rounds: %s"
          % (c, len(rs), "  ".join(out)))
PY
