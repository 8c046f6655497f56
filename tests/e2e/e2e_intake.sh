#!/bin/bash
# e2e_intake: the client-front hold (--intake-hold-us, core/node/node_intake.c).
# 1. Default hold, 50 concurrent writers: the leader held its front
#    (intake_holds > 0) and proposed the writes in batches of 8 or more on
#    average (unheld, this machine makes about 6).
# 2. --intake-hold-us 0: the same load never holds the front.
# 3. A round that cannot end (both followers stopped, a long election
#    timeout so the leader keeps its term): a write waits, and meanwhile a
#    new client's PING and INFO are answered within 2 s, long before the
#    write's 5 s request timeout; the write succeeds once the followers run
#    again.  Without the hold's time bound they would wait for the write.
. "$(dirname "$0")/lib.sh"
need redis-cli
need redis-benchmark
NODES=3

# load: 20000 SETs from 50 clients on the leader; prints the leader.
load() {
	local l p
	l=$(wait_leader 15000) || fail "no leader"
	p=$(cport "$l")
	redis-benchmark -p "$p" -t set -n 20000 -c 50 -q >/dev/null 2>&1 ||
		fail "redis-benchmark against node $l"
	echo "$l"
}

# 1. The default hold batches.
start_cluster 3
L=$(load)
holds=$(info_field "$L" intake_holds)
props=$(info_field "$L" proposals)
batches=$(info_field "$L" propose_batches)
echo "hold 1000 us: $holds holds, $props proposals in $batches batches"
[ "${holds:-0}" -gt 0 ] || fail "the front was never held under 50 clients"
[ "${batches:-0}" -gt 0 ] && [ $((props / batches)) -ge 8 ] ||
	fail "proposal batches average under 8 with the hold on"

# 2. Off: never held.
set_conf intake-hold-us 0
L=$(load)
holds=$(info_field "$L" intake_holds)
props=$(info_field "$L" proposals)
batches=$(info_field "$L" propose_batches)
echo "hold off: $holds holds, $props proposals in $batches batches"
[ "$holds" = 0 ] || fail "held the front with --intake-hold-us 0"

# 3. A stalled round does not stall the front.
set_conf intake-hold-us 1000 election-ticks 300
L=$(wait_leader 15000) || fail "no leader with election-ticks 300"
P=$(cport "$L")
[ "$(rcli "$P" set warm up)" = OK ] || fail "first SET"
h0=$(info_field "$L" intake_holds)
F1=$((L % 3 + 1))
F2=$((F1 % 3 + 1))
kill -STOP "$(pid_of "$F1")" "$(pid_of "$F2")"
rcli "$P" set stalled value >"$DIR/stalled.out" 2>&1 &
W=$!
EXTRA_PIDS="$W"
sleep 0.3
t0=$(now_ms)
pong=$(rcli "$P" ping)
holds=$(info_field "$L" intake_holds)
took=$(($(now_ms) - t0))
kill -0 "$W" 2>/dev/null && waiting=1 || waiting=0
kill -CONT "$(pid_of "$F1")" "$(pid_of "$F2")"
echo "stalled round: PING and INFO answered in $took ms (write still" \
	"waiting: $waiting), holds $h0 -> $holds"
[ "$pong" = PONG ] || fail "PING during a stalled round: '$pong'"
[ "$waiting" = 1 ] || fail "the write ended before the check: $(cat "$DIR/stalled.out")"
[ "$took" -lt 2000 ] || fail "PING and INFO took $took ms during a stalled round"
[ "${holds:-0}" -gt "$h0" ] || fail "the front was not held during the stall"
wait "$W"
EXTRA_PIDS=""
[ "$(cat "$DIR/stalled.out")" = OK ] ||
	fail "the stalled write after the followers resumed: $(cat "$DIR/stalled.out")"
[ "$(rcli "$P" get stalled)" = value ] || fail "GET of the stalled write"
echo "e2e_intake: ok"
