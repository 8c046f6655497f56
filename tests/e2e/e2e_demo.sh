#!/bin/bash
# e2e_demo: `fabraft demo` runs to the end and reports no lost write; its
# replay of 400 requests of the shipped production trace by 4 engines runs
# through the leader kill and reports hits and latencies.
. "$(dirname "$0")/lib.sh"
pick_ports
timeout 100 "$BIN/fabraft" demo --dir "$DIR/demo" --chains 300 \
	--trace-requests 400 --engines 4 \
	--client-port "$CPORT" --raft-port "$RPORT" >"$DIR/demo.out" 2>&1
rc=$?
tr '\r' '\n' <"$DIR/demo.out" | grep -v "chains  *[0-9]*/"
[ "$rc" = 0 ] || fail "fabraft demo exited $rc"
grep -q "acknowledged writes lost  *0 (none)" "$DIR/demo.out" ||
	fail "demo summary lacks 'lost 0'"
grep -q "replicas identical after restart  *yes" "$DIR/demo.out" ||
	fail "replicas differ"
grep -q "trace replay (Mooncake conversation)  *400 requests, 4 engines" \
	"$DIR/demo.out" || fail "no trace replay of 400 requests in the summary"
# 400 requests of the conversation trace reuse prefixes: hits > 0.
grep -qE "trace prefix hit ratio  *[0-9.]+% \([1-9][0-9]* of [0-9]+ blocks\)" \
	"$DIR/demo.out" || fail "trace hit ratio missing or no hits"
grep -qE "trace KVC.LOOKUP latency  *p50 [0-9]+ us, p99 [0-9]+ us \(400\)" \
	"$DIR/demo.out" || fail "trace lookup latency missing"
grep -qE "trace put latency \(ALLOC \+ PUT RES\)  *p50 [0-9]+ us" \
	"$DIR/demo.out" || fail "trace put latency missing"
echo "PASS"
