#!/bin/bash
# e2e_diskfull: a follower's log disk fills up: that node stops with a clear
# "no space" reason (exit 1), the other two keep serving, and no
# acknowledged write is lost.
. "$(dirname "$0")/lib.sh"
NODES=3
MNT=""
umount_tmpfs() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; }
trap 'umount_tmpfs; cleanup' EXIT
mkdir -p "$DIR/small"
mount -t tmpfs -o size=5m tmpfs "$DIR/small" 2>/dev/null ||
	skip "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)"
MNT="$DIR/small"
# A fresh cluster whose node 3 keeps its log on the small tmpfs.
start_cluster 3
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "stop"
rm -rf "$DIR"/data?
F=3
G=1
sed -i "s|^data-dir = .*|data-dir = $MNT|" "$DIR/node$F.conf"
echo "wal-segment-bytes = 1048576" >>"$DIR/node$F.conf"
start_cluster 3
wait_leader 5000 >/dev/null || fail "no leader"
echo "node $F logs to a 5 MiB tmpfs; writing through node $G"
head -c 200000 /dev/urandom | base64 -w0 >"$DIR/value"
: >"$DIR/acked"
# A client retries on -TRYAGAIN: while the full node's leadership fails over,
# writes are refused for an election's time (~0.3 s), not lost.
for n in $(seq 0 59); do
	for attempt in $(seq 1 30); do
		out=$(timeout 10 redis-cli -p "$(cport $G)" -x set "big$n" \
			<"$DIR/value")
		if [ "$out" = OK ]; then
			echo "big$n" >>"$DIR/acked"
			break
		fi
		sleep 0.1
	done
done
n=$(wc -l <"$DIR/acked")
echo "$n of 60 writes of 267 KB acknowledged"
[ "$n" -ge 40 ] || fail "the cluster stopped serving"
for k in $(seq 30); do alive "$(pid_of $F)" || break; sleep 0.1; done
alive "$(pid_of $F)" && fail "node $F still runs with a full disk"
grep -E "no space|No space" "$DIR/node$F.log" | tail -2
grep -qE "stopped: .*(no space|No space)" "$DIR/node$F.log" ||
	fail "node $F gave no clear reason"
want=$(cat "$DIR/value")
for k in $(cat "$DIR/acked"); do
	[ "$(rcli "$(cport $G)" get "$k")" = "$want" ] || fail "$k lost"
done
echo "all $n acknowledged writes read back"
[ "$(rcli "$(cport $G)" set after-full 1)" = OK ] || fail "no write after"
echo "PASS"
