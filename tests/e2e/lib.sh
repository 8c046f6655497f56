# tests/e2e/lib.sh — helpers for the end-to-end tests (sourced, bash).
# Each test starts its own local cluster on free loopback ports in a fresh
# directory and removes both when it exits, whatever happens.
set -u
BIN=${FABRAFT_BIN:?set FABRAFT_BIN to build/bin}
PROVIDER=${FABRAFT_E2E_PROVIDER:-tcp}
DIR=$(mktemp -d /tmp/fabraft-e2e.XXXXXX)
CPORT=0
RPORT=0
EXTRA_PIDS=""

cleanup() {
	local p san=0
	# A sanitizer build's report in any node log fails the test.
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" \
		"$DIR"/node*.log 2>/dev/null; then
		echo "FAIL: sanitizer report in a node log:"
		grep -hE -A8 "AddressSanitizer|LeakSanitizer|runtime error:" \
			"$DIR"/node*.log | head -40
		san=1
	fi
	for p in $EXTRA_PIDS; do kill -9 "$p" 2>/dev/null; done
	# Daemons started under `timeout` or restarted by hand are not in the
	# pid files (killing `timeout` leaves its child running): any daemon
	# still using this test's directory goes too.
	pkill -9 -f -- "--config $DIR/" 2>/dev/null
	if [ -f "$DIR/cluster.conf" ]; then
		for f in "$DIR"/node*.pid; do
			[ -f "$f" ] || continue
			p=$(cat "$f")
			kill -CONT "$p" 2>/dev/null
			kill -9 "$p" 2>/dev/null
		done
	fi
	# shm regions of nodes killed with SIGKILL outlive them (16 MiB each):
	# remove this test's, named after its raft ports.
	if [ "$RPORT" != 0 ]; then
		for p in $(seq "$RPORT" $((RPORT + 7))); do
			rm -f /dev/shm/fabraft.127.0.0.1."$p".* \
				/dev/shm/fabraft.127.0.0.1."$p":* 2>/dev/null
		done
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
	[ $san = 0 ] || exit 1
}
trap cleanup EXIT

dump_logs() {
	local f
	for f in "$DIR"/node*.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 15 lines)"
		tail -n 15 "$f"
	done
}
fail() { echo "FAIL: $*"; dump_logs; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }
# expect_rc RC ARGS...: fabraftd with ARGS exits with RC and prints at
# most one line (besides log lines), as a refused flag must.
expect_rc() {
	local want=$1 rc lines
	shift
	(cd "$DIR" && timeout 10 "$BIN/fabraftd" "$@" >"$DIR/out" 2>&1)
	rc=$?
	lines=$(grep -vc '^[0-9][0-9]:' "$DIR/out")
	[ "$rc" = "$want" ] || { cat "$DIR/out"; fail "'$*' exited $rc, want $want"; }
	[ "$lines" -le 2 ] || { cat "$DIR/out"; fail "'$*': more than a line"; }
	echo "exit $rc: $*: $(grep -v '^[0-9][0-9]:' "$DIR/out" | head -1)"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

port_free() { ! ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }

# Choose CPORT (clients) and RPORT (raft) ranges of 8 free ports each.
pick_ports() {
	local try base ok p
	for try in $(seq 1 50); do
		# below the kernel's ephemeral range (32768-60999)
		base=$((20000 + (RANDOM % 600) * 20))
		ok=1
		for p in $(seq "$base" $((base + 15))); do
			port_free "$p" || ok=0
		done
		if [ $ok = 1 ]; then
			CPORT=$base
			RPORT=$((base + 8))
			return 0
		fi
	done
	fail "no free ports"
}

# start_cluster N: start (or resume) N nodes in $DIR.
start_cluster() {
	[ "$CPORT" != 0 ] || pick_ports
	"$BIN/fabraft" cluster start --nodes "$1" --dir "$DIR" \
		--client-port "$CPORT" --raft-port "$RPORT" \
		--provider "$PROVIDER" ${FABRAFT_E2E_READ_MODE:+--read-mode "$FABRAFT_E2E_READ_MODE"} \
		>"$DIR/start.out" 2>&1 ||
		{ cat "$DIR/start.out"; fail "cluster start"; }
	wait_stable
}

# set_conf KEY VALUE [KEY VALUE ...]: restart the cluster once with each
# KEY = VALUE in every node's config (replacing an earlier value).
set_conf() {
	local f
	"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null 2>&1 ||
		fail "cluster stop"
	while [ $# -ge 2 ]; do
		for f in "$DIR"/node?.conf; do
			sed -i "/^$1 = /d" "$f"
			echo "$1 = $2" >>"$f"
		done
		shift 2
	done
	start_cluster 3
}

# wait_stable: until the running nodes agree on one leader in one term for
# three polls in a row (up to 5 s).  A node that joins late (shm admits
# peers only once every one exists) may start one more election.
wait_stable() {
	local t0 seen same=0 i v cur
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt 5000 ] && [ $same -lt 3 ]; do
		cur=""
		for i in $(seq 1 "${NODES:-3}"); do
			[ -f "$DIR/node$i.pid" ] || continue
			alive "$(cat "$DIR/node$i.pid")" || continue
			v="$(info_field "$i" leader_id)/$(info_field "$i" term)"
			[ -z "$cur" ] && cur=$v
			[ "$v" = "$cur" ] || cur="differ"
		done
		case "$cur" in
		"" | differ | 0/* | /*) same=0 ;;
		*) if [ "$cur" = "${seen:-}" ]; then same=$((same + 1)); else same=1; fi ;;
		esac
		seen=$cur
		sleep 0.1
	done
}

cport() { echo $((CPORT + $1 - 1)); }
# alive PID: running and not a zombie (daemons started by `fabraft cluster
# start` are orphans; their reaper may be slow to collect them).
alive() {
	local st
	st=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
pid_of() { cat "$DIR/node$1.pid"; }
rcli() { local p=$1; shift; timeout 10 redis-cli -p "$p" "$@"; }

# info_field NODE KEY
info_field() {
	rcli "$(cport "$1")" info 2>/dev/null | tr -d '\r' |
		sed -n "s/^$2://p"
}

# follower_roles LEADER (3 nodes): F = a follower to stand in for, S = the
# other one, and F's peers and cluster-id as its config file says.
follower_roles() {
	F=$(($1 % 3 + 1))
	S=$((F % 3 + 1))
	[ "$S" = "$1" ] && S=$((S % 3 + 1))
	peers=$(sed -n 's/^peers = //p' "$DIR/node$F.conf")
	cid=$(sed -n 's/^cluster-id = //p' "$DIR/node$F.conf")
}

# leader [SKIP_NODE]: the node number that says it leads ("" if none).
leader() {
	local i
	for i in $(seq 1 "$NODES"); do
		[ "$i" = "${1:-0}" ] && continue
		if [ "$(info_field "$i" role)" = leader ]; then
			echo "$i"
			return
		fi
	done
}

# wait_leader TIMEOUT_MS [SKIP_NODE]
wait_leader() {
	local t0 l
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt "$1" ]; do
		l=$(leader "${2:-0}")
		if [ -n "$l" ]; then echo "$l"; return 0; fi
		sleep 0.02
	done
	return 1
}

# wait_converged TIMEOUT_S: every node applied the same index with the same
# state digest (and commit = applied).
wait_converged() {
	local t0 d a first i ok
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt $(($1 * 1000)) ]; do
		ok=1
		first=""
		for i in $(seq 1 "$NODES"); do
			d="$(info_field "$i" kvc_digest)/$(info_field "$i" last_applied)"
			[ -z "$first" ] && first=$d
			[ "$d" = "$first" ] && [ "${d%/}" = "$d" ] || ok=0
		done
		if [ $ok = 1 ]; then echo "$first"; return 0; fi
		sleep 0.1
	done
	for i in $(seq 1 "$NODES"); do
		echo "node $i: digest $(info_field "$i" kvc_digest) applied" \
			"$(info_field "$i" last_applied)"
	done
	return 1
}

# writer PREFIX ACKFILE STOPFILE: SET PREFIX<n> v<n> in a loop against any
# node (following -MOVED), appending each acknowledged key to ACKFILE.
writer() {
	local n=0 i=1 out
	while [ ! -f "$3" ]; do
		out=$(timeout 5 redis-cli -c -p "$(cport "$i")" set "$1$n" "v$n" 2>&1)
		if [ "$out" = OK ]; then
			echo "$1$n" >>"$2"
			n=$((n + 1))
		else
			i=$((i % NODES + 1))
			sleep 0.01
		fi
	done
}

# set_batch NODE PREFIX COUNT: SET PREFIX<n> v<n> for n < COUNT in one
# pipelined redis-cli call to NODE; fails unless every one is acknowledged,
# and appends the keys to $DIR/acked (read back by check_acked).
set_batch() {
	local n
	for n in $(seq 0 $(($3 - 1))); do
		echo "SET $2$n v$n"
	done >"$DIR/sets.$2"
	rcli "$(cport "$1")" <"$DIR/sets.$2" >"$DIR/set.$2.out" ||
		fail "SET batch $2"
	[ "$(grep -c '^OK$' "$DIR/set.$2.out")" = "$3" ] ||
		fail "not every SET $2<n> acknowledged"
	seq 0 $(($3 - 1)) | sed "s/^/$2/" >>"$DIR/acked"
}

# check_acked ACKFILE NODE: every acknowledged key reads back.
check_acked() {
	local n bad
	n=$(wc -l <"$1")
	sed 's/^\(.*[^0-9]\)\([0-9]*\)$/GET \1\2/' "$1" >"$DIR/gets"
	rcli "$(cport "$2")" <"$DIR/gets" >"$DIR/got" || fail "GET batch"
	sed 's/^.*[^0-9]\([0-9]*\)$/v\1/' "$1" >"$DIR/want"
	bad=$(paste -d' ' "$DIR/want" "$DIR/got" | awk '$1 != $2' | wc -l)
	[ "$bad" = 0 ] || {
		paste -d' ' "$1" "$DIR/want" "$DIR/got" | awk '$2 != $3' | head
		fail "$bad of $n acknowledged writes not read back"
	}
	echo "all $n acknowledged writes read back from node $2"
}

need redis-cli
[ -x "$BIN/fabraftd" ] && [ -x "$BIN/fabraft" ] || skip "binaries not built in $BIN"

# start_one_metrics: a one-node cluster on $CPORT with metrics on
# $CPORT+1 (C and M), its pid in PID; returns once it leads.
start_one_metrics() {
	pick_ports
	C=$CPORT
	M=$((CPORT + 1))
	"$BIN/fabraftd" --id 1 --peers "1=127.0.0.1:$RPORT" \
		--client "127.0.0.1:$C" --data-dir "$DIR/data" \
		--metrics "127.0.0.1:$M" >"$DIR/node1.log" 2>&1 &
	PID=$!
	EXTRA_PIDS="$PID"
	for k in $(seq 100); do
		[ "$(rcli $C info 2>/dev/null | tr -d '\r' | grep '^role:')" = role:leader ] && break
		sleep 0.1
	done
}

# lagging_follower: 3 nodes snapshotting every 200 entries (20 kept);
# follower F is killed and 1500 writes go through leader L (their keys in
# $DIR/acked), so F can only catch up by a snapshot.
lagging_follower() {
	NODES=3
	start_cluster 3
	"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null
	for i in 1 2 3; do
		printf 'snapshot-entries = 200\nsnapshot-trailing = 20\n' >>"$DIR/node$i.conf"
	done
	start_cluster 3
	L=$(wait_leader 5000) || fail "no leader"
	F=$((L % 3 + 1))
	kill -9 "$(pid_of "$F")"
	echo "follower $F down; 1500 writes through leader $L"
	for i in $(seq 1 1500); do echo "SET s$i v$i"; done |
		rcli "$(cport "$L")" >"$DIR/sets"
	[ "$(grep -c OK "$DIR/sets")" = 1500 ] || fail "not every SET acknowledged"
	seq 1 1500 | sed 's/^/s/' >"$DIR/acked"
}

# netns_up P B: a bridge br$NS (at $NET.254) and three network namespaces
# $NS-1..3 on it, node i at $NET.i on eth0, where NS is P plus a random tag
# and NET 10.(B + tag % 50).tag; skips (77) without CAP_NET_ADMIN.  Set a
# trap that calls netns_down first.
netns_up() {
	local tag i
	# A tag no other run uses now (a namespace that outlived its run keeps
	# its veth ends until the kernel frees it).
	for _ in $(seq 1 20); do
		tag=$((RANDOM % 200 + 20))
		NS="$1$tag"
		BR="br$NS"
		ip link show "v$NS-1" >/dev/null 2>&1 ||
			ip link show "$BR" >/dev/null 2>&1 || break
	done
	NET="10.$((tag % 50 + $2)).$tag"
	ip link add "$BR" type bridge 2>/dev/null ||
		skip "cannot create a bridge here (needs CAP_NET_ADMIN)"
	ip addr add "$NET.254/24" dev "$BR"
	ip link set "$BR" up
	for i in 1 2 3; do
		ip netns add "$NS-$i" || skip "cannot create network namespaces"
		ip link add "v$NS-$i" type veth peer name eth0 netns "$NS-$i" ||
			fail "cannot create veth v$NS-$i"
		ip link set "v$NS-$i" master "$BR" up
		ip -n "$NS-$i" addr add "$NET.$i/24" dev eth0
		ip -n "$NS-$i" link set eth0 up
		ip -n "$NS-$i" link set lo up
	done
}
netns_down() {
	local i
	[ -n "${NS:-}" ] || return 0
	for i in 1 2 3; do
		ip link del "v$NS-$i" 2>/dev/null
		ip netns del "$NS-$i" 2>/dev/null
	done
	ip link del "$BR" 2>/dev/null
}

# lincheck_wait NAME: wait for the lincheck run $LP and show its output;
# when it failed, keep its history and the node logs in /tmp/NAME.PID (for
# the failure to be studied) and fail.
lincheck_wait() {
	local rc keep=/tmp/$1.$$
	wait "$LP"
	rc=$?
	EXTRA_PIDS=""
	cat "$DIR/lin.out"
	[ "$rc" = 0 ] && return 0
	mkdir -p "$keep" && cp "$DIR"/history "$DIR"/node*.log "$keep"/ 2>/dev/null
	echo "history and node logs kept in $keep"
	fail "history not linearizable (or too short)"
}
