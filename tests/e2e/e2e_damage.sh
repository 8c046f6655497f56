#!/bin/bash
# e2e_damage: a byte flipped in a follower's last flushed log record
# (docs/storage.md "Damaged storage").  The follower restarts recovering:
# it cuts its log before the damage, says so (log line, INFO recovering:1),
# and neither votes nor counts toward commits, so with the leader down the
# two others elect nobody (unavailable, not wrong).  Once the leader is
# back it repairs the follower (recovering:0) and every acknowledged write
# reads back from every node.
. "$(dirname "$0")/lib.sh"
need python3
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
follower_roles "$L"
: >"$DIR/acked"
for n in $(seq 0 199); do
	echo "SET d$n v$n"
	echo "d$n" >>"$DIR/acked"
done >"$DIR/sets"
rcli "$(cport $L)" <"$DIR/sets" >"$DIR/set.out" || fail "SET batch"
[ "$(grep -c '^OK$' "$DIR/set.out")" = 200 ] || fail "not every SET acknowledged"
wait_converged 10 >/dev/null || fail "not converged"
last_f=$(info_field "$F" last_index)
echo "leader $L, follower $F holds $last_f entries"

# Kill F (no clean close: no CLOSE marker proves its last batch complete)
# and flip one byte in the payload of its last record.
kill -9 "$(pid_of "$F")"
seg=$(ls "$DIR/data$F"/wal-*.seg | sort | tail -1)
python3 - "$seg" <<'PY' || fail "could not damage the segment"
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
# The leader goes down too: only F (damaged) and S remain.
kill -9 "$(pid_of "$L")"
"$BIN/fabraftd" --config "$DIR/node$F.conf" >>"$DIR/node$F.log" 2>&1 &
echo $! >"$DIR/node$F.pid"
for k in $(seq 100); do
	[ "$(info_field "$F" recovering)" = 1 ] && break
	sleep 0.05
done
[ "$(info_field "$F" recovering)" = 1 ] || fail "node $F is not recovering"
grep -q "CORRUPTION, not a torn write" "$DIR/node$F.log" ||
	fail "node $F did not report the damage as corruption"
grep -m1 "CORRUPTION" "$DIR/node$F.log"
echo "node $F: recovering:1 recover_index:$(info_field "$F" recover_index)"
# S alone cannot win without F's vote, and F never campaigns.
sleep 3
for i in "$F" "$S"; do
	[ "$(info_field "$i" role)" = leader ] && fail "node $i leads with a damaged voter's help"
done
[ "$(info_field "$F" recovering)" = 1 ] || fail "node $F left recovering without a leader"
echo "with the leader down: no leader among $F (recovering) and $S (unavailable, not wrong)"
# The leader returns: a leader is elected without F's vote, F is repaired.
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
echo "PASS"
