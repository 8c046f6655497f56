#!/bin/bash
# e2e_damage: a byte flipped in a follower's last flushed log record
# (docs/storage.md "Damaged storage"), an entry that the leader and that
# follower committed alone (the third node was down).  The follower
# restarts recovering: it cuts its log before the damage, says so (log
# line, INFO recovering:1), counts toward no commit, and votes plainly only
# for a log that reaches its claim, so with the leader down the two others
# elect nobody (unavailable, not wrong).  Once the leader is
# back it repairs the follower (recovering:0) and every acknowledged write
# reads back from every node.  Then a one-node cluster (no peer to repair
# it) stays recovering, and --accept-data-loss lets it lead again.
. "$(dirname "$0")/lib.sh"
need python3
# flip_last SEGMENT: flip one byte in the payload of its last entry record.
flip_last() {
	python3 - "$1" <<'PY' || fail "could not damage $1"
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
o, last = 4096, None
while o + 56 <= len(b) and b[o + 4:o + 8] == b"FRRC":
    ln = struct.unpack_from("<I", b, o + 40)[0]
    if b[o + 48] == 1 and ln > 0:   # an entry record with a payload
        last = (o, ln)
    o += 56 + ((ln + 7) & ~7)
assert last is not None
off = last[0] + 56 + last[1] // 2
b[off] ^= 0x40
open(p, "r+b").write(b)
idx = struct.unpack_from("<Q", b, last[0] + 8)[0]
print("flipped a byte at offset %d of %s (entry %d)" % (off, p.rsplit("/", 1)[1], idx))
PY
}

NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
follower_roles "$L"
: >"$DIR/acked"
set_batch "$L" d 200
wait_converged 10 >/dev/null || fail "not converged"
last_f=$(info_field "$F" last_index)
echo "leader $L, follower $F holds $last_f entries"
# S goes down (killed: a stopped process would still find the leader's
# messages in its socket buffers): the next writes are committed by L and
# F alone, so S lacks them.
kill -9 "$(pid_of "$S")"
set_batch "$L" e 20
echo "node $S down; 20 more writes committed by $L and $F alone"

# Kill F (no clean close: no CLOSE marker proves its last batch complete)
# and flip one byte in the payload of its last record.
kill -9 "$(pid_of "$F")"
seg=$(ls "$DIR/data$F"/wal-*.seg | sort | tail -1)
flip_last "$seg"
# The leader goes down too: only F (damaged) and S (behind) come back.
kill -9 "$(pid_of "$L")"
for i in "$F" "$S"; do
	"$BIN/fabraftd" --config "$DIR/node$i.conf" >>"$DIR/node$i.log" 2>&1 &
	echo $! >"$DIR/node$i.pid"
done
for k in $(seq 100); do
	[ "$(info_field "$F" recovering)" = 1 ] && break
	sleep 0.05
done
[ "$(info_field "$F" recovering)" = 1 ] || fail "node $F is not recovering"
grep -q "CORRUPTION, not a torn write" "$DIR/node$F.log" ||
	fail "node $F did not report the damage as corruption"
grep -m1 "CORRUPTION" "$DIR/node$F.log"
echo "node $F: recovering:1 recover_index:$(info_field "$F" recover_index)"
# S cannot win: F refuses its log, shorter than F's own.  F cannot either:
# its log lacks its claim, so its own vote is conditional, and conditional
# votes count only with every voter's (L is down); S's is one of two.
sleep 3
for i in "$F" "$S"; do
	[ "$(info_field "$i" role)" = leader ] && fail "node $i leads with a damaged voter's help"
done
[ "$(info_field "$F" recovering)" = 1 ] || fail "node $F left recovering without a leader"
echo "with the leader down: no leader among $F (recovering) and $S (unavailable, not wrong)"
# The leader returns: it is elected (it holds F's claim), F is repaired.
start_cluster 3
L2=$(wait_leader 5000) || fail "no leader once node $L is back"
for k in $(seq 100); do
	[ "$(info_field "$F" recovering)" = 0 ] && break
	sleep 0.1
done
[ "$(info_field "$F" recovering)" = 0 ] || fail "node $F was not repaired"
grep -q "recovered: the log was repaired" "$DIR/node$F.log" || fail "no repair log line"
echo "node $F repaired by leader $L2: recovering:0"
[ "$(rcli "$(cport $L2)" set d200 v200)" = OK ] || fail "SET after the repair"
echo d200 >>"$DIR/acked"
wait_converged 15 >/dev/null || fail "not converged after the repair"
for i in 1 2 3; do check_acked "$DIR/acked" "$i"; done
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "cluster stop"

# A one-node cluster has no peer to repair it: damaged, it stays
# recovering (no leader); --accept-data-loss lets it lead again, without
# the damaged entry.
C=$CPORT
one() {
	"$BIN/fabraftd" --id 1 --peers "1=127.0.0.1:$RPORT" \
		--client "127.0.0.1:$C" --data-dir "$DIR/one" "$@" \
		>>"$DIR/one.log" 2>&1 &
	PID=$!
	EXTRA_PIDS="$PID"
}
one
for k in $(seq 100); do
	[ "$(rcli "$C" info 2>/dev/null | tr -d '\r' | sed -n 's/^role://p')" = leader ] && break
	sleep 0.05
done
for n in $(seq 0 19); do rcli "$C" set "o$n" "v$n" >/dev/null; done
[ "$(rcli "$C" get o19)" = v19 ] || fail "one-node cluster does not serve"
kill -9 "$PID"
wait "$PID" 2>/dev/null
flip_last "$(ls "$DIR/one"/wal-*.seg | sort | tail -1)"
one
sleep 2
inf=$(rcli "$C" info | tr -d '\r')
echo "$inf" | grep -q '^recovering:1$' || fail "one-node cluster not recovering"
echo "$inf" | grep -q '^role:leader$' && fail "a damaged single node leads"
echo "one-node cluster with a damaged log: recovering:1, no leader"
kill -9 "$PID"
wait "$PID" 2>/dev/null
one --accept-data-loss
for k in $(seq 100); do
	[ "$(rcli "$C" info 2>/dev/null | tr -d '\r' | sed -n 's/^role://p')" = leader ] && break
	sleep 0.05
done
inf=$(rcli "$C" info | tr -d '\r')
echo "$inf" | grep -q '^role:leader$' || fail "no leader with --accept-data-loss"
echo "$inf" | grep -q '^recovering:0$' || fail "still recovering"
grep -q "accept-data-loss: not recovering" "$DIR/one.log" || fail "no log line"
[ "$(rcli "$C" get o18)" = v18 ] || fail "an undamaged entry is gone"
echo "--accept-data-loss: leads again, o18 = $(rcli "$C" get o18), o19 = '$(rcli "$C" get o19)' (its entry was cut)"
kill -9 "$PID"
EXTRA_PIDS=""
echo "PASS"
