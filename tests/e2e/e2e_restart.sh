#!/bin/bash
# e2e_restart: stop every node (SIGTERM), start them again: the state is
# recovered from the logs (same digest, every key back).
. "$(dirname "$0")/lib.sh"
NODES=3
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
: >"$DIR/acked"
set_batch "$L" r 300
rcli "$(cport $L)" del r0 r1 >/dev/null
sed -i '1,2d' "$DIR/acked"
rcli "$(cport $L)" kvc.node.add 7 10.0.0.7:7000 0 dram 1000000 >/dev/null
before=$(wait_converged 10) || fail "not converged before the restart"
echo "before: digest/applied $before"
"$BIN/fabraft" cluster stop --dir "$DIR" || fail "cluster stop"
for i in 1 2 3; do
	grep -q "clean shutdown" "$DIR/node$i.log" || fail "node $i: unclean stop"
done
start_cluster 3
L=$(wait_leader 5000) || fail "no leader after the restart"
after=$(wait_converged 15) || fail "not converged after the restart"
echo "after: digest/applied $after"
[ "${before%/*}" = "${after%/*}" ] || fail "state digest changed: $before -> $after"
check_acked "$DIR/acked" "$L"
[ "$(rcli "$(cport $L)" exists r0)" = 0 ] || fail "deleted key came back"
grep -q "recovered term [1-9].* [1-9][0-9]* entries" "$DIR/node1.log" ||
	fail "node 1 did not report recovered entries"
# Once more with a password: followers forward with AUTH.
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null || fail "stop"
for i in 1 2 3; do echo "requirepass = pw-$$" >>"$DIR/node$i.conf"; done
"$BIN/fabraft" cluster start --nodes 3 --dir "$DIR" >"$DIR/start.out" 2>&1 ||
	{ cat "$DIR/start.out"; fail "cluster start with requirepass"; }
"$BIN/fabraft" status --dir "$DIR" | grep -q " leader " ||
	fail "fabraft status does not AUTH"
for k in $(seq 100); do
	L=""
	for i in 1 2 3; do
		r=$(rcli "$(cport $i)" --no-auth-warning -a "pw-$$" info 2>/dev/null | tr -d '\r' | sed -n 's/^role://p')
		[ "$r" = leader ] && L=$i
	done
	[ -n "$L" ] && break
	sleep 0.05
done
[ -n "$L" ] || fail "no leader with requirepass"
F=$((L % 3 + 1))
for k in $(seq 50); do
	out=$(rcli "$(cport $F)" --no-auth-warning -a "pw-$$" set pw 1)
	[ "$out" = OK ] && break
	sleep 0.1
done
[ "$out" = OK ] || fail "forwarded SET with AUTH: $out"
[ "$(rcli "$(cport $F)" --no-auth-warning -a "pw-$$" get r5)" = v5 ] || fail "forwarded GET with AUTH"
case "$(rcli "$(cport $F)" get r5 2>&1)" in *NOAUTH*) ;; *) fail "no NOAUTH" ;; esac
echo "with requirepass: follower $F forwards after AUTH"
echo "PASS"
