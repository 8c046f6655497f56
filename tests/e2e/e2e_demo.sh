#!/bin/bash
# e2e_demo: `fabraft demo` runs to the end and reports no lost write.
. "$(dirname "$0")/lib.sh"
pick_ports
timeout 100 "$BIN/fabraft" demo --dir "$DIR/demo" --chains 300 \
	--client-port "$CPORT" --raft-port "$RPORT" >"$DIR/demo.out" 2>&1
rc=$?
tr '\r' '\n' <"$DIR/demo.out" | grep -v "chains  *[0-9]*/"
[ "$rc" = 0 ] || fail "fabraft demo exited $rc"
grep -q "acknowledged writes lost  *0 (none)" "$DIR/demo.out" ||
	fail "demo summary lacks 'lost 0'"
grep -q "replicas identical after restart  *yes" "$DIR/demo.out" ||
	fail "replicas differ"
echo "PASS"
