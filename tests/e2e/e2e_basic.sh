#!/bin/bash
# e2e_basic: a 3-node cluster serves redis-cli on every node, INFO, status,
# redirects, redis-benchmark, and shuts down cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
echo "leader: node $L"

for i in 1 2 3; do
	[ "$(rcli "$(cport $i)" -c set "key$i" "val$i")" = OK ] ||
		fail "SET via node $i"
done
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$(rcli "$(cport $j)" -c get "key$i")" = "val$i" ] ||
			fail "GET key$i via node $j"
	done
done
echo "SET/GET through every node: ok"

F=$((L % 3 + 1))
[ "$(rcli "$(cport $F)" set fw 1)" = OK ] || fail "SET forwarded by follower $F"
[ "$(rcli "$(cport $F)" get fw)" = 1 ] || fail "GET forwarded by follower $F"
[ "$(info_field $F forwarded)" -ge 2 ] || fail "follower $F did not forward"
echo "follower $F forwards to the leader: ok"

for k in role node_id term leader_id commit_index last_applied provider rma; do
	v=$(info_field "$L" $k)
	[ -n "$v" ] || fail "INFO lacks $k"
done
[ "$(info_field "$L" provider)" != none ] || fail "provider none"

[ "$(rcli "$(cport $L)" set cas a)" = OK ] || fail "set cas"
[ "$(rcli "$(cport $L)" set cas b IFEQ a)" = OK ] || fail "CAS a->b"
[ "$(rcli "$(cport $L)" get cas)" = b ] || fail "CAS result"
out=$(rcli "$(cport $L)" set cas c IFEQ a)
[ "$out" != OK ] || fail "CAS with a wrong old value succeeded"
# Pipelined GET, SET, GET on one connection: the second GET sees the SET.
exec 3<>"/dev/tcp/127.0.0.1/$(cport $L)"
printf '*2\r\n$3\r\nGET\r\n$2\r\npp\r\n*3\r\n$3\r\nSET\r\n$2\r\npp\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$2\r\npp\r\n' >&3
out=$(timeout 3 head -c 17 <&3 | tr -d '\r' | tr '\n' ' ')
exec 3<&-
[ "$out" = '$-1 +OK $1 1 ' ] || fail "pipelined GET/SET/GET gave '$out'"
echo "pipelined GET/SET/GET: $out"
out=$(rcli "$(cport $L)" nosuchcommand a)
case "$out" in *"unknown command"*) ;; *) fail "unknown command: $out" ;; esac

"$BIN/fabraft" status --dir "$DIR" >"$DIR/status" || fail "status"
cat "$DIR/status"
[ "$(grep -c ' leader ' "$DIR/status")" = 1 ] || fail "status: not one leader"
[ "$(grep -c 'follower' "$DIR/status")" = 2 ] || fail "status: followers"

if command -v redis-benchmark >/dev/null; then
	timeout 30 redis-benchmark -p "$(cport $L)" -t set,get -n 5000 -c 10 \
		-P 4 -q >"$DIR/bench" 2>&1 || fail "redis-benchmark"
	tr '\r' '\n' <"$DIR/bench" | grep "requests per second" ||
		fail "redis-benchmark gave no result"
fi
if command -v redis-benchmark >/dev/null; then
	timeout 30 redis-benchmark -p "$(cport $F)" -t set,get -n 5000 -c 10 \
		-P 4 -q >"$DIR/bench" 2>&1 || fail "redis-benchmark via follower"
	tr '\r' '\n' <"$DIR/bench" | grep "requests per second" ||
		fail "redis-benchmark via follower gave no result"
fi
wait_converged 10 >/dev/null || fail "replicas differ"

# With forwarding off a follower redirects to the leader's client port.
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "cluster stop"
for i in 1 2 3; do
	grep -q "clean shutdown" "$DIR/node$i.log" ||
		fail "node $i: no clean shutdown"
	printf 'forward = off\nread-mode = stale\n' >>"$DIR/node$i.conf"
done
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
F=$((L % 3 + 1))
out=$(rcli "$(cport $F)" set x y)
case "$out" in
"MOVED 0 127.0.0.1:$(cport $L)") echo "follower $F answers: $out" ;;
*) fail "follower $F answered '$out', want MOVED to node $L" ;;
esac
[ "$(rcli "$(cport $F)" -c set x y)" = OK ] || fail "redis-cli -c via $F"
# --read-mode stale: the follower answers reads from its own state.
for k in $(seq 50); do
	[ "$(rcli "$(cport $F)" get x)" = y ] && break
	sleep 0.05
done
[ "$(rcli "$(cport $F)" get x)" = y ] || fail "stale read on follower $F"
[ "$(info_field $F read_mode)" = stale ] || fail "read_mode not stale"
echo "follower $F serves stale reads locally"

"$BIN/fabraft" cluster stop --dir "$DIR" || fail "cluster stop"
[ "$(grep -c "clean shutdown" "$DIR/node1.log")" = 2 ] ||
	fail "node 1: no second clean shutdown"
echo "PASS"
