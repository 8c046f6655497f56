#!/bin/bash
# e2e_badinput: malformed RESP, a 2^62 bulk length, a binary flood on the
# raft port and a peer with the wrong secret: clear errors, the bad
# connection closed, no crash, nothing acknowledged lost.
. "$(dirname "$0")/lib.sh"
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
[ "$(rcli "$(cport $L)" set before 1)" = OK ] || fail "SET"

# send_raw PORT BYTES: the server's answer until it closes (2 s at most).
send_raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$1" || fail "connect $1"
	printf "$2" >&3
	timeout 2 cat <&3
	exec 3<&-
}
out=$(send_raw "$(cport $L)" '*1\r\n$abc\r\n')
echo "malformed bulk length -> $out"
case "$out" in *"Protocol error"*) ;; *) fail "no protocol error" ;; esac
out=$(send_raw "$(cport $L)" '*1\r\n$4611686018427387904\r\n')
echo "2^62 bulk length -> $out"
case "$out" in *"Protocol error"*) ;; *) fail "2^62 accepted" ;; esac
out=$(send_raw "$(cport $L)" '*-5\r\n\x00\x01garbage\r\n')
echo "negative array + garbage -> $out"
[ "$(rcli "$(cport $L)" ping)" = PONG ] || fail "server dead after bad RESP"

# Random bytes at every raft port, several connections each.
for i in 1 2 3; do
	for k in 1 2 3; do
		head -c 262144 /dev/urandom 2>/dev/null \
			>"/dev/tcp/127.0.0.1/$((RPORT + i - 1))" || true
	done
done
echo "flooded the raft ports with random bytes"
sleep 0.5
for i in 1 2 3; do
	alive "$(pid_of $i)" || fail "node $i died of the flood"
done
L=$(wait_leader 5000) || fail "no leader after the flood"
[ "$(rcli "$(cport $L)" -c set after-flood 1)" = OK ] || fail "SET after flood"
wait_converged 10 >/dev/null || fail "replicas differ after the flood"
echo "cluster still serves and agrees"

# Node 3 comes back with another secret: the others refuse it.
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "stop"
echo "not-the-cluster-secret" >"$DIR/wrong"
sed -i "s|^secret-file = .*|secret-file = $DIR/wrong|" "$DIR/node3.conf"
start_cluster 3
L=$(wait_leader 5000 3) || fail "no leader among nodes 1-2"
[ "$(rcli "$(cport $L)" set with-two 1)" = OK ] || fail "SET with nodes 1-2"
sleep 1
rej=0
for i in 1 2; do
	r=$(info_field $i fab_rejects_auth)
	rej=$((rej + ${r:-0}))
done
[ "$rej" -gt 0 ] || fail "no handshake refused"
[ "$(info_field 3 peers_up)" = 0 ] || fail "node 3 joined with a wrong secret"
[ "$(info_field 3 role)" != leader ] || fail "node 3 leads"
echo "wrong-secret peer refused ($rej handshakes), nodes 1-2 serve"
for k in before after-flood with-two; do
	[ "$(rcli "$(cport $L)" get $k)" = 1 ] || fail "$k lost"
done
for i in 1 2 3; do
	alive "$(pid_of $i)" || fail "node $i died"
done
echo "PASS"
