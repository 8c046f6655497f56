#!/bin/bash
# e2e_single: fabraftd's flags, config file, exit codes and metrics on a
# one-node cluster.
. "$(dirname "$0")/lib.sh"
D="$BIN/fabraftd"
pick_ports
C=$CPORT
R=$RPORT
M=$((CPORT + 1))

"$D" --help | grep -q -- "--peers" || fail "--help"
P="1=127.0.0.1:$R"
expect_rc 2 --id 0 --peers "$P"
expect_rc 2 --id 256 --peers "$P"
expect_rc 2 --id 1
expect_rc 2 --id 1 --peers "1=127.0.0.1:0"
expect_rc 2 --id 1 --peers "1=127.0.0.1:7001,1=127.0.0.1:7002"
expect_rc 2 --id 1 --peers "$P" --fsync maybe
expect_rc 2 --id 1 --peers "$P" --provider carrier-pigeon
expect_rc 2 --id 1 --peers "$P" --client nowhere
expect_rc 2 --id 1 --peers "$P" --bogus 1
expect_rc 2 --id 1 --peers "$P" --secret-file /nonexistent
expect_rc 2 --id 1 --peers "2=127.0.0.1:$R"
expect_rc 2 --id 1 --peers "$P" --config /nonexistent
printf 'id 1\n' >"$DIR/bad.conf"
expect_rc 2 --config "$DIR/bad.conf"

cat >"$DIR/n1.conf" <<CONF
# one-node cluster
id = 1
peers = $P
client = 127.0.0.1:$C
data-dir = $DIR/data
metrics = 127.0.0.1:$M
CONF
"$D" --config "$DIR/n1.conf" >"$DIR/node1.log" 2>&1 &
PID=$!
EXTRA_PIDS="$PID"
for k in $(seq 50); do
	[ "$(rcli $C ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
for k in $(seq 50); do
	[ "$(rcli $C info 2>/dev/null | tr -d '\r' | grep '^role:')" = role:leader ] && break
	sleep 0.1
done
[ "$(rcli $C set k v)" = OK ] || fail "SET on a one-node cluster"
[ "$(rcli $C get k)" = v ] || fail "GET on a one-node cluster"
[ "$(rcli $C incr n)" = 1 ] || fail "INCR"
if command -v curl >/dev/null; then
	curl -s "http://127.0.0.1:$M/metrics" >"$DIR/metrics" || fail "metrics"
	for m in fabraft_term fabraft_is_leader fabraft_leader_changes_total \
		fabraft_apply_lag fabraft_commit_latency_seconds_bucket \
		fabraft_wal_fsyncs_total fabraft_replicated_bytes_total \
		fabraft_wal_persist_seconds_count fabraft_reads_total \
		fabraft_snapshot_index fabraft_voters; do
		grep -q "^$m" "$DIR/metrics" || fail "metrics lack $m"
	done
	grep -q '^fabraft_commit_latency_seconds_count [1-9]' "$DIR/metrics" ||
		fail "commit latency not observed"
	grep -q '^fabraft_wal_persist_seconds_count [1-9]' "$DIR/metrics" ||
		fail "persist latency not observed"
	echo "metrics: $(grep -c '^fabraft_' "$DIR/metrics") samples"
fi
# A data dir in use by a running node is refused (exit 3).
expect_rc 3 --id 1 --peers "1=127.0.0.1:$((R + 1))" --data-dir "$DIR/data" \
	--cluster-id 9 --client "127.0.0.1:$((C + 2))"
kill -TERM "$PID"
wait "$PID"
rc=$?
EXTRA_PIDS=""
[ "$rc" = 0 ] || fail "SIGTERM: exit $rc"
grep -q "clean shutdown" "$DIR/node1.log" || fail "no clean shutdown line"
# The same data dir under another cluster id or node id is refused.
expect_rc 3 --id 1 --peers "$P" --data-dir "$DIR/data" --cluster-id 9 \
	--client "127.0.0.1:$C"
grep -q "cluster" "$DIR/out" || fail "no cluster mismatch message"
expect_rc 3 --id 2 --peers "2=127.0.0.1:$R" --data-dir "$DIR/data" \
	--client "127.0.0.1:$C"
# Restart: the state is back.
"$D" --config "$DIR/n1.conf" >>"$DIR/node1.log" 2>&1 &
PID=$!
EXTRA_PIDS="$PID"
for k in $(seq 50); do
	[ "$(rcli $C get k 2>/dev/null)" = v ] && break
	sleep 0.1
done
[ "$(rcli $C get k)" = v ] || fail "state lost over a restart"
kill -INT "$PID"
wait "$PID" || fail "SIGINT: exit $?"
EXTRA_PIDS=""
# With --requirepass clients must AUTH.
"$D" --config "$DIR/n1.conf" --requirepass s3cret >>"$DIR/node1.log" 2>&1 &
PID=$!
EXTRA_PIDS="$PID"
for k in $(seq 50); do
	rcli $C ping 2>/dev/null | grep -q NOAUTH && break
	sleep 0.1
done
case "$(rcli $C get k 2>&1)" in *NOAUTH*) ;; *) fail "no NOAUTH without AUTH" ;; esac
for k in $(seq 50); do
	[ "$(rcli $C --no-auth-warning -a s3cret get k)" = v ] && break
	sleep 0.1
done
[ "$(rcli $C --no-auth-warning -a s3cret get k)" = v ] || fail "AUTH"
kill -TERM "$PID"
wait "$PID" || fail "SIGTERM: exit $?"
EXTRA_PIDS=""

# ---- Cluster secret (issue 15, item 7) ----
# Its length is checked with the flags (exit 2, the limits in the
# message); without --secret-file the built-in, public secret is used only
# when every peer is loopback (refused before the data dir or the fabric
# is opened); `fabraft cluster start` writes a random one per cluster.
printf 'abcde\n' >"$DIR/s5"
expect_rc 2 --id 1 --peers "$P" --secret-file "$DIR/s5"
grep -q "16\.\.256" "$DIR/out" || fail "5-byte secret: no limits in the message"
head -c 300 /dev/zero | tr '\0' x >"$DIR/s300"
expect_rc 2 --id 1 --peers "$P" --secret-file "$DIR/s300"
grep -q "16\.\.256" "$DIR/out" || fail "300-byte secret: no limits in the message"
"$D" --help | grep -q "16\.\.256" || fail "--help does not give the secret's limits"
expect_rc 2 --id 1 --peers "$P,2=10.1.2.3:$((R + 2))" --data-dir "$DIR/nosecret" \
	--client "127.0.0.1:$((C + 3))"
grep -q "10.1.2.3 is not loopback" "$DIR/out" || fail "non-loopback peer: no clear message"
[ ! -e "$DIR/nosecret" ] || fail "non-loopback peer: data dir opened before the refusal"
"$D" --id 1 --peers "$P,2=127.0.0.1:$((R + 2))" --data-dir "$DIR/lo" \
	--client "127.0.0.1:$((C + 3))" >"$DIR/lo.log" 2>&1 &
LP=$!
EXTRA_PIDS="$LP"
for k in $(seq 50); do
	[ "$(rcli $((C + 3)) ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
[ "$(rcli $((C + 3)) ping 2>/dev/null)" = PONG ] || { cat "$DIR/lo.log"; fail "loopback peers without a secret: no start"; }
grep -q "built-in secret because every peer address is loopback" "$DIR/lo.log" ||
	fail "loopback peers: the built-in secret's use is not logged"
kill -TERM "$LP"
wait "$LP"
EXTRA_PIDS=""
echo "secret: 5 and 300 bytes refused with the limits; no secret: non-loopback peer refused, loopback peers start"
for c in a b; do
	off=$([ $c = a ] && echo 4 || echo 5)
	"$BIN/fabraft" cluster start --nodes 1 --dir "$DIR/cl$c" \
		--client-port $((C + off)) --raft-port $((R + off)) \
		>"$DIR/cl$c.out" 2>&1 || { cat "$DIR/cl$c.out"; fail "cluster start $c"; }
	"$BIN/fabraft" cluster stop --dir "$DIR/cl$c" >/dev/null 2>&1
	grep -qxE '[0-9a-f]{64}' "$DIR/cl$c/secret" || fail "cluster $c: secret is not 64 hex digits"
	[ "$(stat -c %a "$DIR/cl$c/secret")" = 600 ] || fail "cluster $c: secret readable by others"
done
cmp -s "$DIR/cla/secret" "$DIR/clb/secret" && fail "two clusters got the same secret"
echo "cluster start: a fresh 256-bit secret per cluster, mode 0600"
echo "PASS"
