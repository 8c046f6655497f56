#!/bin/bash
# e2e_partition: three nodes in three network namespaces on a bridge.  The
# leader is cut off: on its (minority) side no write is acknowledged and no
# linearizable read answered; the majority elects a leader and serves; after
# healing, the old leader steps down and every replica converges, without
# the writes it could not commit.
. "$(dirname "$0")/lib.sh"
need ip
NODES=3
PIDS=""
netns_cleanup() {
	local p
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	netns_down
}
trap 'netns_cleanup; cleanup' EXIT
netns_up fr 100
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/secret"
PEERS="1=$NET.1:7001,2=$NET.2:7001,3=$NET.3:7001"
CPEERS="1=$NET.1:6379,2=$NET.2:6379,3=$NET.3:6379"
for i in 1 2 3; do
	cat >"$DIR/node$i.conf" <<CONF
id = $i
peers = $PEERS
client = $NET.$i:6379
client-peers = $CPEERS
data-dir = $DIR/data$i
provider = tcp
cluster-id = 77
secret-file = $DIR/secret
request-timeout-ms = 1500
CONF
	ip netns exec "$NS-$i" "$BIN/fabraftd" --config "$DIR/node$i.conf" \
		>"$DIR/node$i.log" 2>&1 &
	echo $! >"$DIR/node$i.pid"
	PIDS="$PIDS $!"
done
cli() { local i=$1; shift; timeout 5 redis-cli -h "$NET.$i" -p 6379 "$@"; }
role() { cli "$1" info 2>/dev/null | tr -d '\r' | sed -n 's/^role://p'; }
L=""
for k in $(seq 100); do
	for i in 1 2 3; do [ "$(role $i)" = leader ] && L=$i; done
	[ -n "$L" ] && break
	sleep 0.05
done
[ -n "$L" ] || fail "no leader"
for k in $(seq 50); do [ "$(cli $L set before 1)" = OK ] && break; sleep 0.1; done
[ "$(cli $L get before)" = 1 ] || fail "no write before the partition"
echo "leader $L; cutting it off"
ip link set "v$NS-$L" down
t0=$(now_ms)
# The old leader, alone: a write and a read must not succeed.
out=$(ip netns exec "$NS-$L" timeout 5 redis-cli -h "$NET.$L" -p 6379 set minority 1)
echo "write on the minority side -> $out"
[ "$out" != OK ] || fail "the minority acknowledged a write"
out=$(ip netns exec "$NS-$L" timeout 5 redis-cli -h "$NET.$L" -p 6379 get before)
echo "read on the minority side -> $out"
[ "$out" != 1 ] || fail "the minority answered a linearizable read"
N=""
while [ $(($(now_ms) - t0)) -lt 8000 ] && [ -z "$N" ]; do
	for i in 1 2 3; do
		[ "$i" != "$L" ] && [ "$(role $i)" = leader ] && N=$i
	done
	sleep 0.05
done
[ -n "$N" ] || fail "the majority elected no leader"
echo "majority leader: node $N"
[ "$(cli $N set majority 1)" = OK ] || fail "no write on the majority side"
echo "healing"
ip link set "v$NS-$L" up
ip link set "v$NS-$L" master "$BR" up
ok=0
for k in $(seq 100); do
	d=""
	for i in 1 2 3; do
		d="$d $(cli $i info 2>/dev/null | tr -d '\r' | sed -n 's/^kvc_digest://p')/$(cli $i info 2>/dev/null | tr -d '\r' | sed -n 's/^last_applied://p')"
	done
	set -- $d
	if [ "$1" = "$2" ] && [ "$2" = "$3" ] && [ "${1%/}" = "$1" ]; then ok=1; break; fi
	sleep 0.1
done
[ $ok = 1 ] || fail "replicas did not converge after healing: $d"
[ "$(for i in 1 2 3; do role $i; done | grep -c leader)" = 1 ] ||
	fail "not exactly one leader after healing"
[ "$(cli $N get majority)" = 1 ] || fail "majority write lost"
[ "$(cli $N exists minority)" = 0 ] || fail "the minority's write was committed"
echo "converged; old leader $L is $(role $L)"
echo "PASS"
