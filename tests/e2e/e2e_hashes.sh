#!/bin/bash
# e2e_hashes: the kvcache table-size flags (bad values refused with one
# line and exit 2, from the command line and from a config file; the
# memory each table costs logged at start and shown in INFO) and block
# hashes of 1..32 bytes on a 3-node cluster (every replica applies them to
# the same digest; the long-hash table's limit is the same everywhere).
. "$(dirname "$0")/lib.sh"
need redis-cli
D="$BIN/fabraftd"
NODES=3
pick_ports

P="1=127.0.0.1:$RPORT"
for bad in "--kvc-blocks-max 0" "--kvc-blocks-max 268435457" \
	"--kvc-blocks-max lots" "--kvc-locations-max 0" \
	"--kvc-nodes-max 65536" "--kvc-namespaces-max 1048577" \
	"--kvc-reservations-max 0" "--kv-keys-max 268435457" \
	"--kvc-long-hashes-max 0"; do
	# shellcheck disable=SC2086
	expect_rc 2 --id 1 --peers "$P" $bad
	grep -q -- "${bad%% *}: want an integer in 1\.\." "$DIR/out" ||
		fail "$bad: no range in the message"
done
printf 'id = 1\npeers = %s\nkvc-nodes-max = 70000\n' "$P" >"$DIR/bad.conf"
expect_rc 2 --config "$DIR/bad.conf"
grep -q "kvc-nodes-max" "$DIR/out" || fail "config file: flag not named"
"$D" --help | grep -q -- "--kvc-long-hashes-max" || fail "--help lacks the flag"

# A cluster with small tables: each node logs what they cost.
start_cluster 3
"$BIN/fabraft" cluster stop --dir "$DIR" >/dev/null 2>&1
for i in 1 2 3; do
	printf 'kvc-blocks-max = 5000\nkvc-long-hashes-max = 2\n' >>"$DIR/node$i.conf"
done
start_cluster 3
L=$(wait_leader 5000) || fail "no leader"
for i in 1 2 3; do
	grep -q "kvcache table blocks: 5000 entries, [0-9]* bytes" "$DIR/node$i.log" ||
		fail "node $i: no memory line for the block table"
	grep -q "kvcache table long_hashes: 2 entries, 72 bytes" "$DIR/node$i.log" ||
		fail "node $i: no memory line for the long-hash table"
	grep -q "kvcache tables: [0-9]* bytes .* in total" "$DIR/node$i.log" ||
		fail "node $i: no total"
	[ "$(info_field "$i" kvc_long_hashes_max)" = 2 ] || fail "node $i: INFO kvc_long_hashes_max"
	[ "$(info_field "$i" kvc_blocks_max)" = 5000 ] || fail "node $i: INFO kvc_blocks_max"
done
echo "memory: $(grep -h 'kvcache tables:' "$DIR/node1.log" | tail -1 | sed 's/.*info: //')"

C=$(cport "$L")
H32=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
[ "$(rcli "$C" KVC.NODE.ADD 1 a:1 0 dram 1000000)" = OK ] || fail "NODE.ADD"
[ "$(rcli "$C" KVC.PUT m a7 - 1 1 dram 0 10 i:-1 a7 2 1 dram 10 10 \
	$H32 i:-1 3 1 dram 20 10)" = 3 ] || fail "PUT of 1-, 8- and 32-byte hashes"
[ "$(rcli "$C" KVC.PUT m ee${H32:2} - 1 1 dram 30 10)" = 1 ] ||
	fail "second long hash"
out=$(rcli "$C" KVC.PUT m 99${H32:2} ffffffffffffffff 1 1 dram 40 10 2>&1)
case "$out" in *"long-hash table full"*) ;; *) fail "third long hash: '$out'" ;; esac
out=$(rcli "$C" KVC.PUT m 123 - 1 1 dram 40 10 2>&1)
case "$out" in *"2..64 hex digits"*) ;; *) fail "odd hex: '$out'" ;; esac
d=$(wait_converged 10) || fail "replicas differ"
for i in 1 2 3; do
	n=$(rcli "$(cport "$i")" KVC.LOOKUP m A7 FFFFFFFFFFFFFFFF $H32 | grep -c "^$H32\$")
	[ "$n" = 1 ] || fail "node $i: LOOKUP of the mixed chain"
done
echo "hashes: 1/8/32-byte chain on 3 replicas, digest/applied $d"
echo "PASS"
