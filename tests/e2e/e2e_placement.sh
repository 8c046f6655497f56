#!/bin/bash
# e2e_placement: --nic and hwloc placement (issue 18 item 3).
# On this machine: the default (--nic auto on 127.0.0.1) places nothing and
# says why; --nic with a real PCI NIC binds the loop and wal-writer threads
# (seen in /proc even for a daemon started under taskset -c 0) and the
# fabric's rings (bind:K in numa_maps); --cpu-pin off and LIST override the
# threads.  On hand-written hwloc XML topologies (tests/data/topo): INFO and
# `fabraft topo` report the NIC's node, never a CPU-less one, and bind
# nothing.  A --nic or --topology-xml that names nothing stops the daemon.
. "$(dirname "$0")/lib.sh"
TOPO=$(cd "$(dirname "$0")/../data/topo" && pwd)
PIN=""

# start_nodes N ARGS...: an N-node cluster (1 or 2) on fresh ports, every
# node with ARGS; returns once every node answers INFO with its wal thread
# placed.
start_nodes() {
	local n=$1 i k peers
	shift
	stop_nodes
	pick_ports
	peers="1=127.0.0.1:$RPORT"
	[ "$n" = 2 ] && peers="$peers,2=127.0.0.1:$((RPORT + 1))"
	for i in $(seq "$n"); do
		$PIN "$BIN/fabraftd" --id "$i" --peers "$peers" \
			--client "127.0.0.1:$(cport "$i")" --data-dir "$DIR/d$i" \
			--provider "$PROVIDER" "$@" >"$DIR/node$i.log" 2>&1 &
		EXTRA_PIDS="$EXTRA_PIDS $!"
		eval "PID$i=$!"
	done
	for i in $(seq "$n"); do
		for k in $(seq 100); do
			v=$(info_field "$i" wal_thread)
			[ -n "$v" ] && [ "$v" != starting ] && break
			sleep 0.1
		done
		[ -n "$v" ] && [ "$v" != starting ] ||
			fail "node $i did not come up with: $*"
	done
}
stop_nodes() {
	local p
	for p in $EXTRA_PIDS; do kill "$p" 2>/dev/null; done
	for p in $EXTRA_PIDS; do wait "$p" 2>/dev/null; done
	EXTRA_PIDS=""
	rm -rf "$DIR"/d1 "$DIR"/d2
}
# expect NODE KEY VALUE: INFO's KEY is exactly VALUE.
expect() {
	local v
	v=$(info_field "$1" "$2")
	[ "$v" = "$3" ] || fail "node $1 $2: '$v', want '$3'"
}
# expect_has NODE KEY TEXT: INFO's KEY contains TEXT.
expect_has() {
	local v
	v=$(info_field "$1" "$2")
	case "$v" in *"$3"*) ;; *) fail "node $1 $2: '$v', want '$3' in it" ;; esac
}
# cpus PID [THREAD-NAME]: Cpus_allowed_list of the main thread or of the
# thread of that name.
cpus() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ -z "${2:-}" ]; then
			[ "${t##*/}" = "$1" ] || continue
		else
			[ "$(cat "$t/comm")" = "$2" ] || continue
		fi
		sed -n 's/^Cpus_allowed_list:\s*//p' "$t/status"
		return
	done
}

echo "== default: --nic auto on 127.0.0.1 is the loopback: nothing placed"
start_nodes 2
for i in 1 2; do
	expect $i nic lo
	expect_has $i nic_how "interface lo (loopback)"
	expect $i numa_node -1
	expect $i placement_note "lo: no NUMA locality (loopback), not placed"
	expect $i loop_thread "not bound: nothing placed"
	expect $i wal_thread "not bound: nothing placed"
	expect $i rings "not bound: nothing placed"
done
"$BIN/fabraft" -a "127.0.0.1:$(cport 1)" status >"$DIR/status" 2>&1 ||
	fail "fabraft status: $(cat "$DIR/status")"
grep -q "^node 1 placement: nic lo, NUMA node -1, CPUs none: lo: no NUMA locality (loopback), not placed$" "$DIR/status" ||
	fail "fabraft status placement: $(cat "$DIR/status")"
grep -q "^node 1 loop thread: not bound: nothing placed; wal thread: not bound: nothing placed; rings: not bound: nothing placed$" "$DIR/status" ||
	fail "fabraft status threads: $(cat "$DIR/status")"

echo "== this machine's NIC: threads and rings bound to its NUMA node"
NIC=""
for d in /sys/class/net/*; do
	[ -e "$d/device" ] || continue
	n=${d##*/}
	k=$("$BIN/fabraft" topo --nic "$n" | sed -n 's/^  numa_node: //p')
	[ -n "$k" ] && [ "$k" -ge 0 ] && { NIC=$n; K=$k; break; }
done
if [ -z "$NIC" ]; then
	echo "SKIP this part: no network device with PCI locality here"
else
	C=$("$BIN/fabraft" topo --nic "$NIC" | sed -n 's/^  cpuset: //p')
	# Started on CPU 0 only, so that binding to the node is visible.
	command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ] && PIN="taskset -c 0"
	echo "NIC $NIC, NUMA node $K, CPUs $C; started with '${PIN:-no pin}'"
	start_nodes 2 --nic "$NIC"
	for i in 1 2; do
		expect $i nic "$NIC"
		expect $i numa_node "$K"
		expect $i cpuset "$C"
		expect $i loop_thread "bound to CPUs $C (NUMA node $K)"
		expect $i wal_thread "bound to CPUs $C (NUMA node $K)"
		expect $i rings "bound to NUMA node $K"
	done
	[ "$(cpus "$PID1")" = "$C" ] || fail "loop thread on $(cpus "$PID1"), want $C"
	[ "$(cpus "$PID1" wal-writer)" = "$C" ] ||
		fail "wal-writer on '$(cpus "$PID1" wal-writer)', want $C"
	grep -q "bind:$K" "/proc/$PID1/numa_maps" ||
		fail "no mapping bound to node $K in numa_maps"
	echo "numa_maps: $(grep -c "bind:$K" "/proc/$PID1/numa_maps") mappings bound to node $K"

	if [ -n "$PIN" ]; then
		start_nodes 1 --nic "$NIC" --cpu-pin off
		expect 1 loop_thread "not bound: --cpu-pin off"
		expect 1 wal_thread "not bound: --cpu-pin off"
		[ "$(cpus "$PID1")" = 0 ] || fail "--cpu-pin off moved the loop thread"
		start_nodes 1 --nic "$NIC" --cpu-pin 1
		expect 1 loop_thread "bound to CPUs 1 (--cpu-pin)"
		expect 1 wal_thread "bound to CPUs 1 (--cpu-pin)"
		[ "$(cpus "$PID1")" = 1 ] || fail "--cpu-pin 1: $(cpus "$PID1")"
		[ "$(cpus "$PID1" wal-writer)" = 1 ] || fail "--cpu-pin 1: wal-writer"
	fi
	PIN=""
fi

echo "== two NUMA nodes, NIC eth1 and mlx5_0 on the second (XML)"
start_nodes 2 --topology-xml "$TOPO/two-numa-nic.xml" --nic eth1
for i in 1 2; do
	expect $i numa_node 1
	expect $i cpuset 2-3
	expect $i placement_note "eth1 is local to NUMA node 1"
	expect $i loop_thread "not bound: the topology is not this machine's"
	expect $i wal_thread "not bound: the topology is not this machine's"
	expect $i rings "not bound: the topology is not this machine's"
	expect $i topology "$TOPO/two-numa-nic.xml"
done
start_nodes 1 --topology-xml "$TOPO/two-numa-nic.xml" --nic mlx5_0
expect 1 numa_node 1
start_nodes 1 --topology-xml "$TOPO/two-numa-nic.xml" --nic 0000:01:00.0
expect 1 numa_node 0
expect 1 cpuset 0-1

echo "== CPU-less CXL node (os index 0) beside the DRAM node: never chosen"
start_nodes 1 --topology-xml "$TOPO/cxl-tier.xml" --nic eth0
expect 1 numa_node 1
expect 1 cpuset 0-3
expect 1 memory_tiers "node 0 CXL 65536 MiB"

echo "== single NUMA node"
start_nodes 1 --topology-xml "$TOPO/single-node.xml" --nic eth0
expect 1 numa_node 0
expect_has 1 placement_note "the only one: binding has no locality effect"

echo "== --nic none"
start_nodes 1 --topology-xml "$TOPO/two-numa-nic.xml" --nic none
expect 1 numa_node -1
expect 1 placement_note "--nic none: not placed"
stop_nodes

echo "== names that name nothing stop the daemon with a reason"
pick_ports
if "$BIN/fabraftd" --id 1 --peers "1=127.0.0.1:$RPORT" \
	--client "127.0.0.1:$CPORT" --data-dir "$DIR/bad" --nic nosuch0 \
	>"$DIR/bad.log" 2>&1; then fail "--nic nosuch0 started"; fi
grep -q -- "--nic nosuch0: no such device" "$DIR/bad.log" || fail "$(cat "$DIR/bad.log")"
if "$BIN/fabraftd" --id 1 --peers "1=127.0.0.1:$RPORT" \
	--client "127.0.0.1:$CPORT" --data-dir "$DIR/bad" \
	--topology-xml "$DIR/none.xml" >"$DIR/bad.log" 2>&1; then
	fail "--topology-xml of a missing file started"
fi
grep -q "hwloc cannot load it" "$DIR/bad.log" || fail "$(cat "$DIR/bad.log")"

echo "== fabraft topo on the same files"
T() { "$BIN/fabraft" topo "$@" >"$DIR/topo" 2>&1 || fail "fabraft topo $*: $(cat "$DIR/topo")"; }
T --topology-xml "$TOPO/two-numa-nic.xml" --nic eth1
grep -q "^  numa_node: 1$" "$DIR/topo" || fail "topo eth1: $(cat "$DIR/topo")"
grep -q "^  cpuset: 2-3$" "$DIR/topo" || fail "topo eth1 cpuset"
grep -q "^  mlx5_0 (PCI 0000:81:00.0): NUMA node 1$" "$DIR/topo" || fail "topo devices"
grep -q "^  loop_thread: would bind to CPUs 2-3 (NUMA node 1)" "$DIR/topo" || fail "topo would bind"
T --topology-xml "$TOPO/cxl-tier.xml" --nic eth0
grep -q "^memory tier: NUMA node 0, 65536 MiB, CXL$" "$DIR/topo" || fail "topo tier"
grep -q "^  numa_node: 1$" "$DIR/topo" || fail "topo cxl: $(cat "$DIR/topo")"
T --topology-xml "$TOPO/single-node.xml" --nic eth0
grep -q "^  numa_node: 0$" "$DIR/topo" || fail "topo single"
T --address 127.0.0.1 --provider tcp
grep -q "^  placement_note: lo: no NUMA locality (loopback), not placed$" "$DIR/topo" ||
	fail "topo loopback: $(cat "$DIR/topo")"
if "$BIN/fabraft" topo --topology-xml "$DIR/none.xml" >/dev/null 2>&1; then
	fail "fabraft topo of a missing file succeeded"
fi
echo "PASS"
