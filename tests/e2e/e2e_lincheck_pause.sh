#!/bin/bash
# e2e_lincheck_pause: the linearizability check of e2e_lincheck on three
# nodes in three network namespaces on a bridge, where a stopped leader
# also loses its peer traffic (issue 16).  A real pause often comes with
# lost packets (a full NIC queue, a VM that is descheduled with its
# network); here nftables in the old leader's namespace drops everything
# between it and its peers from the moment it is stopped (SIGSTOP) until
# 1 s after it is continued, while clients still reach it.  In between, a
# new leader is elected, a prober inside lincheck writes a fresh value to
# every key through the other nodes and then sends a GET of each to the
# stopped leader (the GETs queue on its sockets; their call time is when
# they were sent).  On resuming, the old leader hears nothing from its
# peers before it handles those GETs: a leader that still trusted its
# lease answered them with the values from before the writes, which the
# checker rejects.  Before that, leader and follower are SIGKILLed and
# restarted once.  FABRAFT_E2E_READ_MODE picks the read mode (default
# lease); FABRAFT_E2E_FABRAFTD runs another daemon binary (an older build,
# to see the test fail); FABRAFT_E2E_STOPS the number of stop rounds (3).
. "$(dirname "$0")/lib.sh"
LC=${LINCHECK:-$BIN/../tests/lincheck}
[ -x "$LC" ] || skip "lincheck not built ($LC)"
need ip
need nft
DAEMON=${FABRAFT_E2E_FABRAFTD:-$BIN/fabraftd}
[ -x "$DAEMON" ] || skip "no daemon binary $DAEMON"
MODE=${FABRAFT_E2E_READ_MODE:-lease}
STOPS=${FABRAFT_E2E_STOPS:-3}
NODES=3
netns_cleanup() {
	local i
	for i in 1 2 3; do
		[ -f "$DIR/node$i.pid" ] && kill -CONT "$(pid_of "$i")" 2>/dev/null
	done
	netns_down
}
trap 'netns_cleanup; cleanup' EXIT
netns_up fp 150
if ! ip netns exec "$NS-1" nft add table inet probe 2>/dev/null; then
	skip "nftables does not work here (kernel without nf_tables?)"
fi
ip netns exec "$NS-1" nft delete table inet probe

# lib.sh's leader, wait_leader and wait_stable ask INFO through this.
info_field() {
	timeout 3 redis-cli -h "$NET.$1" -p 6379 info 2>/dev/null | tr -d '\r' |
		sed -n "s/^$2://p"
}
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/secret"
for i in 1 2 3; do
	cat >"$DIR/node$i.conf" <<CONF
id = $i
peers = 1=$NET.1:7001,2=$NET.2:7001,3=$NET.3:7001
client = $NET.$i:6379
client-peers = 1=$NET.1:6379,2=$NET.2:6379,3=$NET.3:6379
data-dir = $DIR/data$i
provider = tcp
cluster-id = 78
secret-file = $DIR/secret
read-mode = $MODE
CONF
done
start_node() {
	ip netns exec "$NS-$1" "$DAEMON" --config "$DIR/node$1.conf" \
		>>"$DIR/node$1.log" 2>&1 &
	echo $! >"$DIR/node$1.pid"
}
kill_node() {
	kill -9 "$(pid_of "$1")"
	{ wait "$(pid_of "$1")"; } 2>/dev/null
}
# cut NODE add|delete: drop every packet between NODE and its peers (both
# ways), clients unaffected.
cut() {
	local peers
	peers=$(for i in 1 2 3; do [ "$i" = "$1" ] || printf '%s.%s, ' "$NET" "$i"; done)
	if [ "$2" = add ]; then
		ip netns exec "$NS-$1" nft -f - <<NFT || return 1
table inet cut {
	chain in { type filter hook input priority 0; ip saddr { ${peers%, } } drop; }
	chain out { type filter hook output priority 0; ip daddr { ${peers%, } } drop; }
}
NFT
	else
		ip netns exec "$NS-$1" nft delete table inet cut
	fi
}
for i in 1 2 3; do start_node "$i"; done
wait_leader 8000 >/dev/null || fail "no leader"
wait_stable

"$LC" run --addrs "$NET.1:6379,$NET.2:6379,$NET.3:6379" --clients 4 \
	--keys 3 --seconds $((14 + STOPS * 6)) --probe "$DIR/probe" \
	--dump "$DIR/history" >"$DIR/lin.out" 2>&1 &
LP=$!
EXTRA_PIDS="$LP"
sleep 2
L=$(wait_leader 5000) || fail "no leader before the kills"
echo "SIGKILL leader $L"
kill_node "$L"
sleep 2
start_node "$L"
wait_stable
L=$(wait_leader 5000) || fail "no leader after the restart"
F=$((L % 3 + 1))
echo "SIGKILL follower $F"
kill_node "$F"
sleep 1
start_node "$F"
wait_stable

# stop_round N: stop the leader and cut it off; once another node leads,
# let lincheck's prober write every key and queue GETs at the stopped
# leader; continue it with its peers still cut off for 1 s, then heal.
stop_round() {
	local L P N t0
	L=$(wait_leader 5000) || fail "round $1: no leader"
	P=$(pid_of "$L")
	kill -STOP "$P"
	cut "$L" add || { kill -CONT "$P"; fail "nft rules refused"; }
	t0=$(now_ms)
	N=$(wait_leader 8000 "$L") || fail "round $1: no new leader while $L is stopped"
	echo "round $1: leader $L stopped and cut off; node $N leads after $(($(now_ms) - t0)) ms"
	echo "$1 $NET.$L:6379" >"$DIR/probe"
	t0=$(now_ms)
	until [ "$(cat "$DIR/probe.sent" 2>/dev/null)" = "$1" ]; do
		[ $(($(now_ms) - t0)) -lt 10000 ] || fail "round $1: the prober did not answer"
		sleep 0.02
	done
	kill -CONT "$P"
	sleep 1
	cut "$L" delete
	echo "round $1: $L continued, healed 1 s later"
	wait_stable
}
for round in $(seq 1 "$STOPS"); do
	stop_round "$round"
done
lincheck_wait fabraft-lincheck-pause-fail
grep "^probe: GET" "$DIR/lin.out" | grep -vq "no answer" ||
	fail "no probe read was answered"
L=$(wait_leader 5000) || fail "no leader at the end"
[ "$(info_field "$L" read_mode)" = "$MODE" ] ||
	fail "read_mode is $(info_field "$L" read_mode), want $MODE"
echo "PASS"
