#!/bin/bash
# e2e_status: INFO and /metrics render one status snapshot, so every figure
# the two pages share agrees on an idle one-node cluster (after a few
# writes and reads, so the figures are not all zero or one).
. "$(dirname "$0")/lib.sh"
need redis-cli
need curl
start_one_metrics
for k in 1 2 3 4 5; do
	[ "$(rcli $C set "k$k" "v$k")" = OK ] || fail "SET k$k"
	[ "$(rcli $C get "k$k")" = "v$k" ] || fail "GET k$k"
done

# INFO key and the metric sample that shows the same figure.
PAIRS="term=fabraft_term
leader_id=fabraft_leader_id
commit_index=fabraft_commit_index
last_applied=fabraft_last_applied
voters=fabraft_voters
leader_changes=fabraft_leader_changes_total
reads_index=fabraft_reads_total
snapshot_index=fabraft_snapshot_index
snapshots_taken=fabraft_snapshots_total
snapshots_installed=fabraft_snapshots_installed_total
snapshots_refused=fabraft_snapshots_refused_total
proposals=fabraft_proposals_total
propose_batches=fabraft_propose_batches_total
wal_batches=fabraft_wal_batches_total
wal_fsyncs=fabraft_wal_fsyncs_total
peers_up=fabraft_peers_up
fab_rejects_auth=fabraft_fabric_auth_rejects_total
fab_rejects_mac=fabraft_fabric_mac_rejects_total
fab_rejects_replay=fabraft_fabric_replay_rejects_total
fab_rejects_from=fabraft_fabric_from_rejects_total
msgs_dropped_term_jump=fabraft_msgs_dropped_term_jump_total
fab_msg_sent=fabraft_replicated_batches_total{path=msg}
fab_rma_sent=fabraft_replicated_batches_total{path=rma}
redirects=fabraft_client_redirects_total
forwarded=fabraft_client_forwarded_total"

# ival FILE KEY: a value of an INFO dump.
ival() { sed -n "s/^$2://p" "$1"; }
# mval NAME[{path=P}]: a sample's value in $DIR/metrics (any provider).
mval() {
	case "$1" in
	*"{path="*)
		local name=${1%%\{*} path=${1#*path=}
		path=${path%\}}
		sed -n "s/^$name{provider=\"[^\"]*\",path=\"$path\"} //p" \
			"$DIR/metrics"
		;;
	*) awk -v m="$1" '$1 == m { print $2 }' "$DIR/metrics" ;;
	esac
}
# mlabel: the provider label of the replication samples.
mlabel() {
	sed -n 's/^fabraft_replicated_batches_total{provider="\([^"]*\)",.*/\1/p' \
		"$DIR/metrics" | sort -u
}

# snap: INFO, /metrics, INFO again.  Returns 1 if the two INFOs differ in a
# figure compared here (the node was not idle: try again).
snap() {
	local p k
	rcli $C info | tr -d '\r' >"$DIR/info1" || fail "INFO"
	curl -s "http://127.0.0.1:$M/metrics" >"$DIR/metrics" || fail "metrics"
	rcli $C info | tr -d '\r' >"$DIR/info2" || fail "INFO"
	for p in $PAIRS role provider wal_io_us; do
		k=${p%%=*}
		[ "$(ival "$DIR/info1" "$k")" = "$(ival "$DIR/info2" "$k")" ] ||
			return 1
	done
}

stable=0
for try in $(seq 20); do
	if snap; then
		stable=1
		break
	fi
	sleep 0.2
done
[ $stable = 1 ] || fail "INFO kept changing on an idle node"

n=0
for p in $PAIRS; do
	k=${p%%=*}
	m=${p#*=}
	iv=$(ival "$DIR/info1" "$k")
	mv=$(mval "$m")
	[ -n "$iv" ] || fail "INFO lacks $k"
	[ -n "$mv" ] || fail "metrics lack $m"
	[ "$iv" = "$mv" ] || fail "INFO $k:$iv but metric $m $mv"
	n=$((n + 1))
done
# Figures the two pages write differently.
role=$(ival "$DIR/info1" role)
lead=$(mval fabraft_is_leader)
[ "$role" = leader ] || fail "the one node is $role, not leader"
[ "$lead" = 1 ] || fail "INFO role:$role but fabraft_is_leader $lead"
lag=$(($(ival "$DIR/info1" commit_index) - $(ival "$DIR/info1" last_applied)))
[ "$lag" = "$(mval fabraft_apply_lag)" ] ||
	fail "INFO commit-applied $lag but fabraft_apply_lag $(mval fabraft_apply_lag)"
# wal_io_us truncates, the metric rounds to the microsecond.
us=$(ival "$DIR/info1" wal_io_us)
mus=$(awk '$1 == "fabraft_wal_io_seconds_total" { printf "%d", $2 * 1e6 + 0.5 }' \
	"$DIR/metrics")
[ -n "$mus" ] && [ "$mus" -ge "$us" ] && [ "$mus" -le $((us + 1)) ] ||
	fail "INFO wal_io_us:$us but fabraft_wal_io_seconds_total ${mus}e-6"
# A one-node cluster has no transport: INFO says none, the label is empty.
prov=$(ival "$DIR/info1" provider)
[ "$prov" = none ] && prov=""
[ "$(mlabel)" = "$prov" ] ||
	fail "INFO provider:$(ival "$DIR/info1" provider) but label '$(mlabel)'"
# The writes above moved the figures: a check of zeros proves little.
[ "$(ival "$DIR/info1" proposals)" -ge 5 ] || fail "writes not counted"
echo "INFO and /metrics agree on $((n + 4)) figures" \
	"(commit $(ival "$DIR/info1" commit_index)," \
	"proposals $(ival "$DIR/info1" proposals)," \
	"wal_fsyncs $(ival "$DIR/info1" wal_fsyncs))"

kill -TERM "$PID"
wait "$PID" || fail "SIGTERM: exit $?"
EXTRA_PIDS=""
echo "PASS"
