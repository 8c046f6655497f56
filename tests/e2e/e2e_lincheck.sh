#!/bin/bash
# e2e_lincheck: concurrent clients do GET/SET/compare-and-set on a few keys
# through every node while leaders and followers are killed and restarted,
# and while the leader is stopped (SIGSTOP) for 2 s, twenty election
# timeouts, then continued: reads that queued on its sockets meanwhile must
# not see state older than what the new leader acknowledged (issue 16; the
# lease used to be counted in ticks, which the runtime collapses after a
# stall).  The recorded history must be linearizable (tests/e2e/lincheck.c).
# FABRAFT_E2E_READ_MODE picks the read mode (index, lease, log).
. "$(dirname "$0")/lib.sh"
LC=${LINCHECK:-$BIN/../tests/lincheck}
[ -x "$LC" ] || skip "lincheck not built ($LC)"
NODES=3
# SIGSTOP rounds (3.5 s each); a longer run may ask for more.
STOPS=${FABRAFT_E2E_STOPS:-3}
start_cluster 3
wait_leader 5000 >/dev/null || fail "no leader"
"$LC" run --addrs "127.0.0.1:$(cport 1),127.0.0.1:$(cport 2),127.0.0.1:$(cport 3)" \
	--clients 4 --keys 3 --seconds $((12 + STOPS * 7 / 2)) --dump "$DIR/history" >"$DIR/lin.out" 2>&1 &
LP=$!
EXTRA_PIDS="$LP"
sleep 2
for round in 1 2; do
	L=$(leader)
	[ -n "$L" ] || L=1
	echo "round $round: SIGKILL leader $L"
	kill -9 "$(pid_of "$L")"
	sleep 2
	start_cluster 3
	sleep 1
	F=$(( $(leader) % 3 + 1 ))
	echo "round $round: SIGKILL follower $F"
	kill -9 "$(pid_of "$F")"
	sleep 1
	start_cluster 3
done
# stop_round N: stop the leader; once the others have acknowledged a new
# value of pause-k, send a GET for it to the stopped leader (it queues on
# the socket), then continue the leader: the answer may be the new value
# or an error, never the value from before the stop.
stop_round() {
	local L O P GP got i
	L=$(leader)
	[ -n "$L" ] || L=1
	P=$(pid_of "$L")
	rcli "$(cport "$L")" SET pause-k "old$1" >/dev/null
	echo "round $1: SIGSTOP leader $L for about 2 s"
	kill -STOP "$P"
	sleep 1
	got=""
	for i in $(seq 1 30); do
		O=$(((L + i % 2) % 3 + 1))
		got=$(timeout 2 redis-cli -p "$(cport "$O")" SET pause-k "new$1" 2>&1)
		[ "$got" = OK ] && break
		sleep 0.1
	done
	if [ "$got" != OK ]; then
		kill -CONT "$P"
		fail "no write acknowledged while leader $L was stopped ($got)"
	fi
	timeout 20 redis-cli -p "$(cport "$L")" GET pause-k >"$DIR/probe$1" 2>&1 &
	GP=$!
	sleep 0.5
	kill -CONT "$P"
	wait "$GP"
	got=$(cat "$DIR/probe$1")
	echo "round $1: GET queued at the stopped leader answered: $got"
	[ "$got" != "old$1" ] ||
		fail "stale read: the resumed leader $L answered old$1 after new$1 was acknowledged"
	sleep 1
}
for round in $(seq 1 "$STOPS"); do
	stop_round "$round"
done
lincheck_wait fabraft-lincheck-fail
# The reads went the way this run was meant to test.
mode=${FABRAFT_E2E_READ_MODE:-index}
L=$(leader)
[ -n "$L" ] || fail "no leader at the end"
[ "$(info_field "$L" read_mode)" = "$mode" ] ||
	fail "read_mode is $(info_field "$L" read_mode), want $mode"
# Counters are per process and the last leader may have been restarted (or
# elected) just as the load ended: ask it a few reads of its own first.
for i in 1 2 3 4 5; do rcli "$(cport "$L")" GET lin-probe >/dev/null; done
if [ "$mode" = log ]; then
	[ "$(info_field "$L" read_markers)" -gt 0 ] || fail "no read markers"
else
	[ "$(info_field "$L" reads_index)" -gt 0 ] || fail "no ReadIndex reads"
fi
echo "reads: mode $mode, reads_index $(info_field "$L" reads_index), read_markers $(info_field "$L" read_markers)"
echo "PASS"
