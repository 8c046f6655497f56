#!/bin/bash
# e2e_snaplimit: an incoming snapshot over --snapshot-bytes-max, or over
# the free disk less --disk-reserve-bytes, is refused before a byte of it
# is written (issue 15, item 8).  The follower stays up and follows, counts
# and logs the refusal, the leader counts it too and keeps offering the
# snapshot (after a pause); with the limits lifted the follower installs it
# and catches up.
. "$(dirname "$0")/lib.sh"
lagging_follower
first=$(info_field "$L" first_index)
[ "$first" -gt 1000 ] || fail "leader's log starts at $first: not compacted"
before=$(ls "$DIR/data$F" | grep -c '^snap-')
cp "$DIR/node$F.conf" "$DIR/node$F.conf.orig"

# refused_run WHAT: restart the follower and check that it refuses the
# snapshot (its log names WHAT) and stays a follower without writing one.
refused_run() {
	local what=$1 ref inst fl files told=0 i
	start_cluster 3
	sleep 3.5
	alive "$(pid_of "$F")" || fail "follower $F died"
	ref=$(info_field "$F" snapshots_refused)
	inst=$(info_field "$F" snapshots_installed)
	fl=$(info_field "$F" leader_id)
	files=$(ls "$DIR/data$F" | grep -c '^snap-')
	# Leaders that were told (leadership may move on a loaded machine).
	for i in 1 2 3; do
		[ "$i" = "$F" ] && continue
		told=$((told + $(info_field "$i" snapshots_refused_by_peers)))
	done
	echo "follower $F: refused $ref times, installed $inst, role $(info_field "$F" role), leader $fl, snapshot files $files; refusals the leaders were told of: $told"
	[ "${ref:-0}" -ge 2 ] || fail "follower $F refused $ref times: not offered again"
	[ "$inst" = 0 ] || fail "follower $F installed a refused snapshot"
	[ "$files" = "$before" ] || fail "a refused snapshot left files: $(ls "$DIR/data$F")"
	[ "$(info_field "$F" role)" = follower ] && [ -n "$fl" ] &&
		[ "$fl" != 0 ] && [ "$fl" != "$F" ] ||
		fail "follower $F does not follow a leader (leader_id '$fl')"
	[ "$told" -ge 1 ] || fail "the leader was not told"
	grep -q "refusing snapshot .*$what" "$DIR/node$F.log" ||
		fail "no refusal ($what) in the follower's log"
	echo "logged: $(grep -h 'refusing snapshot' "$DIR/node$F.log" | tail -1 | cut -d' ' -f4-)"
	kill -9 "$(pid_of "$F")"
	sleep 0.2
}

# Over the size limit.
echo "snapshot-bytes-max = 1024" >>"$DIR/node$F.conf"
refused_run "over the limit of 1024 bytes"
# Over the free disk (a reserve larger than any disk here).
cp "$DIR/node$F.conf.orig" "$DIR/node$F.conf"
echo "disk-reserve-bytes = 1125899906842624" >>"$DIR/node$F.conf"
refused_run "does not fit"

# Limits lifted: the leader's next offer is installed.
cp "$DIR/node$F.conf.orig" "$DIR/node$F.conf"
start_cluster 3
wait_converged 20 >/dev/null || fail "follower $F did not catch up"
[ "$(info_field "$F" snapshots_installed)" -ge 1 ] ||
	fail "follower $F caught up without a snapshot"
check_acked "$DIR/acked" "$F"
echo "limits lifted: follower $F installed the snapshot and caught up"
echo "PASS"
