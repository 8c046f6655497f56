/* node_metrics.c — the metrics page in Prometheus text format, rendered
 * from one status snapshot (node_http.c serves it). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "node_int.h"
#include "node_status.h"

/* Upper bounds of the latency buckets, in seconds. */
static const double bounds[NODE_HIST_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001,
						 0.0025, 0.005,	  0.01,	  0.025,
						 0.05,	 0.1,	  0.5,	  1.0};

void node__hist_add(struct node_hist *h, double seconds)
{
	uint32_t i = 0;

	while (i < NODE_HIST_BUCKETS && seconds > bounds[i]) {
		i++;
	}
	h->counts[i]++;
	h->n++;
	h->sum_s += seconds;
}

struct out {
	char *buf;  /* malloc'd text */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->cap - o->len < 512) {
		size_t cap = o->cap ? o->cap * 2 : 8192;
		char *b = fr_realloc(o->buf, cap);

		if (b == NULL) {
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (k > 0 && (size_t)k < o->cap - o->len) {
		o->len += (size_t)k;
	}
}

static void hist(struct out *o, const char *name, const char *help,
		 const struct node_hist *h)
{
	uint64_t cum = 0;

	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (uint32_t i = 0; i < NODE_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		put(o, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds[i],
		    cum);
	}
	put(o, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->n);
	put(o, "%s_sum %.9f\n%s_count %" PRIu64 "\n", name, h->sum_s, name,
	    h->n);
}

static void metric(struct out *o, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name,
	    type, name, v);
}

static void render_raft(struct out *o, const struct node_status *s)
{
	const struct raft_status *st = &s->raft;
	const struct node_counters *c = &s->c;

	metric(o, "fabraft_term", "gauge", "Current Raft term.", st->term);
	metric(o, "fabraft_term_exhausted", "gauge",
	       "1 when the term is RAFT_TERM_MAX: no election can start.",
	       st->term_exhausted);
	metric(o, "fabraft_recovering", "gauge",
	       "1 while a damaged log awaits repair (no counted ack).",
	       st->recovering);
	metric(o, "fabraft_msgs_dropped_term_jump_total", "counter",
	       "Messages dropped for a term too far above ours.",
	       s->raft_stats.msgs_dropped_term_jump);
	metric(o, "fabraft_is_leader", "gauge", "1 on the leader.",
	       st->role == RAFT_LEADER);
	metric(o, "fabraft_leader_id", "gauge", "Known leader, 0 = none.",
	       st->leader);
	metric(o, "fabraft_leader_changes_total", "counter",
	       "Times the known leader changed.", c->leader_changes);
	metric(o, "fabraft_commit_index", "gauge", "Commit index.", st->commit);
	metric(o, "fabraft_last_applied", "gauge", "Last applied index.",
	       st->applied);
	metric(o, "fabraft_apply_lag", "gauge",
	       "Committed entries not yet applied.", st->commit - st->applied);
	metric(o, "fabraft_reads_total", "counter",
	       "Linearizable reads served by ReadIndex or the lease.",
	       c->reads_index);
	metric(o, "fabraft_snapshot_index", "gauge",
	       "Index of the latest snapshot, 0 = none.", st->snapshot_index);
	metric(o, "fabraft_snapshots_total", "counter", "Snapshots taken.",
	       c->snapshots);
	metric(o, "fabraft_snapshots_installed_total", "counter",
	       "Snapshots received from a leader and installed.",
	       c->snapshots_installed);
	metric(o, "fabraft_snapshots_refused_total", "counter",
	       "Snapshots from a leader refused: over --snapshot-bytes-max "
	       "or the free disk.",
	       c->snapshots_refused);
	metric(o, "fabraft_voters", "gauge", "Voters in the configuration.",
	       st->n_voters);
	metric(o, "fabraft_proposals_total", "counter", "Entries proposed.",
	       c->proposals);
	metric(o, "fabraft_propose_batches_total", "counter",
	       "Proposal batches.", c->propose_batches);
	metric(o, "fabraft_intake_holds_total", "counter",
	       "Client bytes left unread until this node's round ended "
	       "(--intake-hold-us).",
	       c->intake_holds);
	metric(o, "fabraft_intake_held_microseconds_total", "counter",
	       "Time the client front was held, in microseconds.",
	       c->intake_held_us);
	hist(o, "fabraft_commit_latency_seconds",
	     "Write proposal to apply on the leader.", &c->commit);
	hist(o, "fabraft_wal_persist_seconds",
	     "Log batch submitted -> durable (queueing + write + fdatasync).",
	     &c->persist);
	hist(o, "fabraft_hardstate_fsync_seconds",
	     "Synchronous term/vote save (includes fsync).", &c->hs_fsync);
}

static void render_wal(struct out *o, const struct wal_stats *ws)
{
	metric(o, "fabraft_wal_batches_total", "counter",
	       "Log batches written (one fdatasync each).", ws->batches);
	metric(o, "fabraft_wal_fsyncs_total", "counter", "Log fsyncs.",
	       ws->fsyncs);
	metric(o, "fabraft_wal_bytes_total", "counter", "Log record bytes.",
	       ws->bytes);
	put(o,
	    "# HELP fabraft_wal_io_seconds_total Time the log spent in the "
	    "pwrite and fdatasync calls of its batches.\n"
	    "# TYPE fabraft_wal_io_seconds_total counter\n"
	    "fabraft_wal_io_seconds_total %.6f\n",
	    (double)ws->io_ns / 1e9);
}

/* The provider label is the fabric's name for it: "" in a one-node
 * cluster, which has no transport (INFO says "none" there). */
/* One counter family with a sample per replication path. */
static void per_path(struct out *o, const char *name, const char *help,
		     const char *provider, uint64_t msg, uint64_t rma)
{
	put(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	put(o, "%s{provider=\"%s\",path=\"msg\"} %" PRIu64 "\n", name, provider,
	    msg);
	put(o, "%s{provider=\"%s\",path=\"rma\"} %" PRIu64 "\n", name, provider,
	    rma);
}

static void render_fabric(struct out *o, const struct fab_info *fi)
{
	per_path(o, "fabraft_replicated_bytes_total", "Bytes sent to peers.",
		 fi->provider, fi->msg_sent_bytes, fi->rma_sent_bytes);
	per_path(o, "fabraft_replicated_batches_total",
		 "Frames or ring batches sent to peers.", fi->provider,
		 fi->msg_sent, fi->rma_sent);
	metric(o, "fabraft_peers_up", "gauge", "Peers handshaken.",
	       fi->peers_up);
	metric(o, "fabraft_fabric_auth_rejects_total", "counter",
	       "Peer handshakes refused.", fi->rejects_auth);
	metric(o, "fabraft_fabric_mac_rejects_total", "counter",
	       "Peer frames and ring records refused: MAC not valid.",
	       fi->rejects_mac);
	metric(o, "fabraft_fabric_replay_rejects_total", "counter",
	       "Authenticated peer frames refused as replays.",
	       fi->rejects_replay);
	metric(o, "fabraft_fabric_from_rejects_total", "counter",
	       "Authenticated peer frames naming another sender.",
	       fi->rejects_from);
}

/* One series of fabraft_stage_seconds; @peer 0 = no peer label. */
static void stage_series(struct out *o, const char *stage, raft_id peer,
			 const struct fr_lhist *h)
{
	char lab[48];
	uint64_t cum = 0;

	if (peer != 0) {
		snprintf(lab, sizeof(lab), "stage=\"%s\",peer=\"%u\"", stage,
			 peer);
	} else {
		snprintf(lab, sizeof(lab), "stage=\"%s\"", stage);
	}
	for (uint32_t i = 0; i < FR_LHIST_BOUNDS; i++) {
		cum += h->counts[i];
		put(o,
		    "fabraft_stage_seconds_bucket{%s,le=\"%g\"} %" PRIu64 "\n",
		    lab, (double)fr_lhist_bound_ns(i) / 1e9, cum);
	}
	put(o, "fabraft_stage_seconds_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n",
	    lab, h->n);
	put(o, "fabraft_stage_seconds_sum{%s} %.9f\n", lab,
	    (double)h->sum_ns / 1e9);
	put(o, "fabraft_stage_seconds_count{%s} %" PRIu64 "\n", lab, h->n);
}

/* Where a commit's time goes (node_stage.h note 1). */
static void render_stages(struct out *o, const struct node_stage_hists *st)
{
	put(o, "# HELP fabraft_stage_seconds Time spent in each stage of a "
	       "request (propose wal repl commit apply reply read_index).\n"
	       "# TYPE fabraft_stage_seconds histogram\n");
	for (int s = 0; s < NODE_STAGES; s++) {
		stage_series(o, node__stage_name((enum node_stage)s), 0,
			     &st->h[s]);
	}
	for (uint32_t i = 0; i < NODE_STAGE_PEERS && st->peer[i] != 0; i++) {
		stage_series(o, "repl", st->peer[i], &st->repl[i]);
	}
}

/* The page, rendered from one status snapshot (node_status.h).  Scrapes
 * come every few seconds: the snapshot skips the state digest, which walks
 * the whole state and is not on the page. */
static void render(struct node *n, struct out *o)
{
	struct node_status s;

	node__status_get(n, false, &s);
	render_raft(o, &s);
	render_wal(o, &s.wal);
	render_fabric(o, &s.fab);
	render_stages(o, &s.c.stages);
	metric(o, "fabraft_client_redirects_total", "counter",
	       "-MOVED/-TRYAGAIN answers.", s.c.redirects);
	metric(o, "fabraft_client_forwarded_total", "counter",
	       "Requests forwarded to the leader.", s.c.forwarded);
}

void node__metrics_render(struct node *n, char **buf, size_t *len)
{
	struct out o = {0};

	render(n, &o);
	*buf = o.buf;
	*len = o.len;
}
