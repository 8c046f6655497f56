/* node_client.c — the RESP backend: classify commands, batch proposals,
 * redirect on followers, INFO. */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "heap.h"
#include "node_int.h"
#include "node_status.h"

/* Most records waiting at once; beyond it clients get -BUSY. */
#define PENDING_MAX (1u << 20)

struct node_pending *node__pending_push(struct node *n)
{
	int rv;
	struct node_pending *p =
	    node__fifo_reserve(n->pend, sizeof(*p), &n->pend_head, &n->pend_n,
			       &n->pend_cap, 256, PENDING_MAX, &rv);

	if (p == NULL) {
		return NULL; /* over PENDING_MAX or out of memory */
	}
	n->pend = p;
	p = &n->pend[n->pend_n++];
	memset(p, 0, sizeof(*p));
	p->parsed_ns = node__mono_ns();
	return p;
}

/* A new slot in this iteration's batch, its buffer emptied. */
static int batch_slot(struct node *n, uint32_t *slot)
{
	if (n->batch_n == RAFT_MAX_BATCH_ENTRIES) {
		node__propose_flush(n);
	}
	if (n->batch_n == n->batch_cap) {
		uint32_t cap = n->batch_cap ? n->batch_cap * 2 : 64;
		struct kvc_reply *d = fr_realloc(n->data, cap * sizeof(*d));
		struct raft_buf *b;

		if (d == NULL) {
			return FR_NOMEM;
		}
		n->data = d;
		memset(&d[n->batch_cap], 0, (cap - n->batch_cap) * sizeof(*d));
		b = fr_realloc(n->bufs, cap * sizeof(*b));
		if (b == NULL) {
			return FR_NOMEM;
		}
		n->bufs = b;
		n->batch_cap = cap;
	}
	*slot = n->batch_n++;
	n->data[*slot].len = 0;
	return 0;
}

void node__redirect(struct node *n, struct resp_buf *b)
{
	const char *addr;

	n->c.redirects++;
	if (n->leader == 0 && n->term_exhausted) {
		resp_buf_error(b, "CLUSTERDOWN term space exhausted: no "
				  "election can start; copy the data into a "
				  "new cluster");
		return;
	}
	if (n->leader == 0 || n->leader == n->o.id) {
		resp_buf_error(b, "TRYAGAIN no leader elected yet; retry");
		return;
	}
	addr = n->o.client_addrs[n->leader];
	if (addr[0] == '\0') {
		resp_buf_error(b,
			       "TRYAGAIN leader %u has no known client "
			       "address",
			       n->leader);
		return;
	}
	resp_buf_error(b, "MOVED 0 %s", addr);
}

int node__reply_now(struct node *n, const struct resp_req *req,
		    struct resp_buf *b)
{
	int rv = resp_buf_err(b);

	if (rv == 0) {
		(void)n->io->reply(n->io_ctx, req, b->data, b->len);
	}
	resp_buf_close(b);
	return rv;
}

int node__copy_args(uint32_t argc, const struct resp_arg *argv,
		    struct kvc_arg **out)
{
	size_t bytes = argc * sizeof(struct kvc_arg);
	char *mem;

	for (uint32_t i = 0; i < argc; i++) {
		bytes += argv[i].len;
	}
	mem = fr_malloc(bytes ? bytes : 1);
	if (mem == NULL) {
		return FR_NOMEM;
	}
	*out = (struct kvc_arg *)(void *)mem;
	mem += argc * sizeof(struct kvc_arg);
	for (uint32_t i = 0; i < argc; i++) {
		memcpy(mem, argv[i].ptr, argv[i].len);
		(*out)[i].base = mem;
		(*out)[i].len = argv[i].len;
		mem += argv[i].len;
	}
	return 0;
}

/* A linearizable read: rides on this batch's marker entry. */
static int queue_read(struct node *n, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv)
{
	struct node_pending *p;
	uint32_t slot;
	int rv;

	if (n->marker_slot < 0) {
		rv = batch_slot(n, &slot);
		if (rv != 0) {
			return rv;
		}
		n->marker_slot = (int32_t)slot;
		n->c.read_markers++;
	}
	p = node__pending_push(n);
	if (p == NULL) {
		return FR_BUSY;
	}
	p->req = *req;
	p->is_read = true;
	p->slot = (uint32_t)n->marker_slot;
	p->deadline_ms = node__now_ms() + n->o.request_timeout_ms;
	rv = node__copy_args(argc, argv, &p->argv);
	if (rv != 0) {
		n->pend_n--;
	} else {
		p->argc = argc;
	}
	return rv;
}

static int queue_write(struct node *n, const struct resp_req *req,
		       uint32_t argc, const struct kvc_arg *kargs)
{
	struct node_pending *p;
	uint32_t slot;
	int rv = batch_slot(n, &slot);

	if (rv != 0) {
		return rv;
	}
	rv = kvc_command_encode(node__stamp_ms(n), argc, kargs, &n->data[slot]);
	if (rv == 0 && (p = node__pending_push(n)) == NULL) {
		rv = FR_BUSY;
	}
	if (rv != 0) {
		n->batch_n--; /* the slot is the last one */
		return rv;
	}
	p->req = *req;
	p->slot = slot;
	p->deadline_ms = node__now_ms() + n->o.request_timeout_ms;
	/* A read that arrives after this write must see it: it needs a marker
	 * behind the write, not the one before it. */
	n->marker_slot = -1;
	return 0;
}

static int local_read(struct node *n, const struct resp_req *req, uint32_t argc,
		      const struct kvc_arg *kargs)
{
	int rv = node__read_exec(n, argc, kargs);

	if (rv == FR_NOMEM) {
		return rv;
	}
	(void)n->io->reply(n->io_ctx, req, n->reply.buf, n->reply.len);
	return 0;
}

/* A checked command at the leader: queue it. */
static int as_leader(struct node *n, const struct resp_req *req, uint32_t argc,
		     const struct resp_arg *argv, const struct kvc_arg *ka,
		     enum kvc_kind kind)
{
	if (kind != KVC_READ && !node__stamp_known(n)) {
		/* A restarted leader must not stamp from its wall clock before
		 * it has applied the log's time (node_clock.c note 2). */
		struct resp_buf b;

		resp_buf_init(&b, 0);
		resp_buf_error(&b,
			       "TRYAGAIN leader %u starting: not executed; "
			       "retry",
			       n->o.id);
		return node__reply_now(n, req, &b);
	}
	if (kind == KVC_READ && n->o.read_mode == NODE_READ_LOG) {
		return queue_read(n, req, argc, argv);
	}
	if (kind == KVC_READ) {
		return node__read_queue(n, req, argc, argv);
	}
	return queue_write(n, req, argc, ka);
}

static int dispatch(struct node *n, const struct resp_req *req, uint32_t argc,
		    const struct resp_arg *argv, const struct kvc_arg *ka)
{
	struct resp_buf b;
	enum kvc_kind kind;
	int rv;

	resp_buf_init(&b, 0);
	n->reply.len = 0;
	rv = kvc_command_check(argc, ka, &kind, &n->reply);
	if (rv == FR_NOTFOUND) {
		rv = node__admin(n, req, argc, argv);
		if (rv == FR_NOTFOUND) {
			resp_buf_unknown_command(&b, argc, argv);
			return node__reply_now(n, req, &b);
		}
		if (rv != FR_NOTLEADER) {
			resp_buf_close(&b);
			return rv;
		}
		kind = KVC_WRITE; /* leader only: forward it below */
		rv = 0;
	}
	if (rv == FR_INVALID) {
		resp_buf_raw(&b, n->reply.buf, n->reply.len);
		return node__reply_now(n, req, &b);
	}
	if (rv != 0) {
		resp_buf_close(&b);
		return rv;
	}
	if (kind == KVC_READ && n->o.read_mode == NODE_READ_STALE) {
		resp_buf_close(&b);
		return local_read(n, req, argc, ka);
	}
	if (n->stopping) {
		resp_buf_error(&b, "TRYAGAIN shutting down");
		return node__reply_now(n, req, &b);
	}
	if (n->role != RAFT_LEADER) {
		if (n->o.forward && n->leader != 0 && n->leader != n->o.id &&
		    n->o.client_addrs[n->leader][0] != '\0') {
			rv = node__fwd_command(n, req, argc, argv);
			if (rv == 0) {
				resp_buf_close(&b);
				return 0;
			}
			if (rv == FR_NOCONN) {
				n->c.redirects++;
				resp_buf_error(
				    &b,
				    "TRYAGAIN leader %u unreachable; "
				    "retry",
				    n->leader);
				return node__reply_now(n, req, &b);
			}
		}
		node__redirect(n, &b);
		return node__reply_now(n, req, &b);
	}
	resp_buf_close(&b);
	return as_leader(n, req, argc, argv, ka, kind);
}

static int on_command(void *ctx, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv)
{
	struct node *n = ctx;
	struct kvc_arg kargs[16];
	struct kvc_arg *ka = kargs;
	int rv;

	if (argc > 16) {
		ka = fr_malloc(argc * sizeof(*ka));
		if (ka == NULL) {
			return FR_NOMEM;
		}
	}
	for (uint32_t i = 0; i < argc; i++) {
		ka[i].base = argv[i].ptr;
		ka[i].len = argv[i].len;
	}
	rv = dispatch(n, req, argc, argv, ka);
	if (ka != kargs) {
		fr_free(ka);
	}
	return rv;
}

/* MULTI: may this command be queued?  Only what the state machine runs
 * (generic KV and KVC.*), so that EXEC is one TXN entry; RAFT.* and
 * other runtime commands cannot (docs/resp.md "Transactions"). */
static int on_queue_check(void *ctx, const struct resp_req *req, uint32_t argc,
			  const struct resp_arg *argv, struct resp_buf *err)
{
	struct node *n = ctx;
	struct kvc_arg kargs[16];
	struct kvc_arg *ka = kargs;
	enum kvc_kind kind;
	int rv;

	if (resp_arg_is(&argv[0], "txn")) {
		resp_buf_error(err, "ERR TXN cannot be queued inside MULTI");
		return FR_INVALID;
	}
	if (argc > 16 && (ka = fr_malloc(argc * sizeof(*ka))) == NULL) {
		return FR_NOMEM;
	}
	for (uint32_t i = 0; i < argc; i++) {
		ka[i].base = argv[i].ptr;
		ka[i].len = argv[i].len;
	}
	n->reply.len = 0;
	rv = kvc_command_check(argc, ka, &kind, &n->reply);
	if (ka != kargs) {
		fr_free(ka);
	}
	if (rv == FR_NOTFOUND && argv[0].len > 5 &&
	    strncasecmp(argv[0].ptr, "RAFT.", 5) == 0) {
		resp_buf_error(err,
			       "ERR '%.*s' cannot be queued: a transaction "
			       "holds only the generic KV and KVC.* commands",
			       (int)(argv[0].len < 64 ? argv[0].len : 64),
			       argv[0].ptr);
		return FR_INVALID;
	}
	if (rv == FR_NOTFOUND) {
		resp_buf_unknown_command(err, argc, argv);
		return FR_INVALID;
	}
	if (rv == FR_INVALID) {
		resp_buf_raw(err, n->reply.buf, n->reply.len);
	}
	return rv;
}

static const char *on_off(bool on)
{
	return on ? "on" : "off";
}

static void info_replication(struct resp_info_writer *w,
			     const struct node_status *s)
{
	const struct raft_status *st = &s->raft;

	resp_info_section(w, "Replication");
	resp_info_add(w, "role", "%s",
		      st->role == RAFT_LEADER	   ? "leader"
		      : st->role == RAFT_CANDIDATE ? "candidate"
						   : "follower");
	resp_info_add(w, "node_id", "%u", s->id);
	resp_info_add(w, "term", "%" PRIu64, st->term);
	resp_info_add(w, "term_exhausted", "%s",
		      st->term_exhausted ? "yes" : "no");
	resp_info_add(w, "leader_id", "%u", st->leader);
	/* docs/operations.md: 1 while a damaged log awaits repair. */
	resp_info_add(w, "recovering", "%d", st->recovering ? 1 : 0);
	resp_info_add(w, "recover_index", "%" PRIu64, st->recover_index);
	resp_info_add(w, "leader_client", "%s", s->leader_client);
	resp_info_add(w, "commit_index", "%" PRIu64, st->commit);
	resp_info_add(w, "last_applied", "%" PRIu64, st->applied);
	resp_info_add(w, "persisted_index", "%" PRIu64, st->persisted);
	resp_info_add(w, "last_index", "%" PRIu64, st->last_index);
	resp_info_add(w, "voters", "%u", st->n_voters);
	/* "none" without a transport: the one-node cluster opens none. */
	resp_info_add(w, "provider", "%s",
		      s->have_fab ? s->fab.provider : "none");
	resp_info_add(w, "rma", "%s", on_off(s->fab.rma));
	resp_info_add(w, "peers_up", "%u", s->fab.peers_up);
	resp_info_add(w, "forward", "%s", on_off(s->forward));
	resp_info_add(w, "read_mode", "%s", node_read_mode_name(s->read_mode));
	resp_info_add(w, "fsync", "%s", on_off(s->fsync));
	resp_info_add(w, "cluster_id", "%" PRIu64, s->cluster_id);
}

static void info_fabric(struct resp_info_writer *w, const struct fab_info *fi)
{
	resp_info_section(w, "Fabric");
	resp_info_add(w, "fab_msg_sent", "%" PRIu64, fi->msg_sent);
	resp_info_add(w, "fab_msg_recv", "%" PRIu64, fi->msg_recv);
	resp_info_add(w, "fab_rma_sent", "%" PRIu64, fi->rma_sent);
	resp_info_add(w, "fab_rma_recv", "%" PRIu64, fi->rma_recv);
	resp_info_add(w, "fab_credits_sent", "%" PRIu64, fi->credits_sent);
	resp_info_add(w, "fab_send_again", "%" PRIu64, fi->send_again);
	resp_info_add(w, "fab_send_noconn", "%" PRIu64, fi->send_noconn);
	resp_info_add(w, "fab_send_errors", "%" PRIu64, fi->send_errors);
	resp_info_add(w, "fab_rejects_auth", "%" PRIu64, fi->rejects_auth);
	resp_info_add(w, "fab_rejects_frame", "%" PRIu64, fi->rejects_frame);
	resp_info_add(w, "fab_rejects_mac", "%" PRIu64, fi->rejects_mac);
	resp_info_add(w, "fab_rejects_replay", "%" PRIu64, fi->rejects_replay);
	resp_info_add(w, "fab_rejects_from", "%" PRIu64, fi->rejects_from);
	resp_info_add(w, "fab_rejects_ring", "%" PRIu64, fi->rejects_ring);
	resp_info_add(w, "fab_rejects_stale", "%" PRIu64, fi->rejects_stale);
	resp_info_add(w, "fab_ring_early", "%" PRIu64, fi->ring_early);
	resp_info_add(w, "fab_ring_revokes", "%" PRIu64, fi->ring_revokes);
	resp_info_add(w, "fab_reconnects", "%" PRIu64, fi->reconnects);
	resp_info_add(w, "fab_ops_abandoned", "%" PRIu64, fi->ops_abandoned);
	resp_info_add(w, "fab_queue_stalls", "%" PRIu64, fi->queue_stalls);
	resp_info_add(w, "fab_ops_in_flight", "%" PRIu64, fi->ops_in_flight);
	resp_info_add(w, "fab_ops_queued", "%" PRIu64, fi->ops_queued);
}

static void info_raftstats(struct resp_info_writer *w,
			   const struct node_status *s)
{
	const struct node_counters *c = &s->c;
	const struct wal_stats *ws = &s->wal;

	resp_info_section(w, "Raftstats");
	resp_info_add(w, "proposals", "%" PRIu64, c->proposals);
	resp_info_add(w, "propose_batches", "%" PRIu64, c->propose_batches);
	resp_info_add(w, "intake_holds", "%" PRIu64, c->intake_holds);
	resp_info_add(w, "intake_held_us", "%" PRIu64, c->intake_held_us);
	resp_info_add(w, "read_markers", "%" PRIu64, c->read_markers);
	resp_info_add(w, "reads_index", "%" PRIu64, c->reads_index);
	resp_info_add(w, "snapshot_index", "%" PRIu64, s->raft.snapshot_index);
	resp_info_add(w, "first_index", "%" PRIu64, s->raft.first_index);
	resp_info_add(w, "snapshots_taken", "%" PRIu64, c->snapshots);
	resp_info_add(w, "snapshots_installed", "%" PRIu64,
		      c->snapshots_installed);
	resp_info_add(w, "snapshots_refused", "%" PRIu64, c->snapshots_refused);
	resp_info_add(w, "snapshots_refused_by_peers", "%" PRIu64,
		      s->raft_stats.snapshots_refused_by_peers);
	resp_info_add(w, "lease_valid", "%s",
		      s->raft.lease_valid ? "yes" : "no");
	resp_info_add(w, "reads_lease", "%" PRIu64, s->raft_stats.reads_lease);
	resp_info_add(w, "lease_stalls", "%" PRIu64,
		      s->raft_stats.lease_stalls);
	resp_info_add(w, "applied_entries", "%" PRIu64, c->applied);
	resp_info_add(w, "leader_changes", "%" PRIu64, c->leader_changes);
	resp_info_add(w, "msgs_dropped_term_jump", "%" PRIu64,
		      s->raft_stats.msgs_dropped_term_jump);
	resp_info_add(w, "not_committed", "%" PRIu64, c->not_committed);
	resp_info_add(w, "timeouts", "%" PRIu64, c->timeouts);
	resp_info_add(w, "redirects", "%" PRIu64, c->redirects);
	resp_info_add(w, "forwarded", "%" PRIu64, c->forwarded);
	resp_info_add(w, "send_dropped", "%" PRIu64, c->send_dropped);
	resp_info_add(w, "metrics_evicted", "%" PRIu64, c->http_evicted);
	resp_info_add(w, "metrics_timeouts", "%" PRIu64, c->http_timeouts);
	resp_info_add(w, "metrics_refused", "%" PRIu64, c->http_refused);
	resp_info_add(w, "wal_batches", "%" PRIu64, ws->batches);
	resp_info_add(w, "wal_batches_inline", "%" PRIu64, ws->batches_inline);
	resp_info_add(w, "wal_leader_writes", "%s",
		      s->leader_writes == NODE_LEADER_WRITES_THREAD ? "thread"
								    : "inline");
	resp_info_add(w, "wal_fsyncs", "%" PRIu64, ws->fsyncs);
	resp_info_add(w, "wal_segs_prepared", "%" PRIu64, ws->segs_prepared);
	resp_info_add(w, "wal_segs_unprepared", "%" PRIu64,
		      ws->segs_unprepared);
	resp_info_add(w, "wal_spare_failures", "%" PRIu64, ws->spare_failures);
	resp_info_add(w, "wal_io_us", "%" PRIu64, ws->io_ns / 1000);
	resp_info_add(w, "wal_writer_idle_us", "%" PRIu64, ws->idle_ns / 1000);
	resp_info_add(w, "kvc_digest", "%016" PRIx64, s->kvc_digest);
}

/* Memory bounds of replies (docs/resp.md "Limits"). */
static void info_memory(struct resp_info_writer *w, const struct node_status *s)
{
	resp_info_section(w, "Replies");
	resp_info_add(w, "reply_bytes_max", "%" PRIu64, s->reply_bytes_max);
	resp_info_add(w, "reply_buffer_bytes", "%" PRIu64,
		      s->reply_buffer_bytes);
	resp_info_add(w, "replies_too_big", "%" PRIu64, s->c.replies_too_big);
	resp_info_add(w, "reads_held_bytes", "%" PRIu64, s->reads_held_bytes);
	resp_info_add(w, "reads_held_full", "%" PRIu64, s->c.reads_held_full);
}

/* The state machine's tables: capacity and bytes allocated for each
 * (--kvc-* flags; docs/operations.md). */
static void info_kvcache(struct resp_info_writer *w,
			 const struct node_status *s)
{
	resp_info_section(w, "Kvcache");
	for (unsigned i = 0; i < KVC_TABLES; i++) {
		const struct kvc_table_info *t = &s->kvc_tables[i];
		char key[64];

		snprintf(key, sizeof(key), "kvc_%s_max", t->name);
		resp_info_add(w, key, "%" PRIu64, t->entries);
		snprintf(key, sizeof(key), "kvc_%s_bytes", t->name);
		resp_info_add(w, key, "%" PRIu64, t->bytes);
	}
	resp_info_add(w, "kvc_tables_bytes", "%" PRIu64, s->kvc_table_bytes);
}

static void info_stage(struct resp_info_writer *w, const char *key,
		       const struct fr_lhist *h)
{
	resp_info_add(w, key, "count=%" PRIu64 ",p50=%.1f,p99=%.1f", h->n,
		      fr_lhist_quantile_ns(h->counts, h->n, 0.5) / 1e3,
		      fr_lhist_quantile_ns(h->counts, h->n, 0.99) / 1e3);
}

/* Per-stage latency in microseconds (node_stage.h note 1). */
static void info_latency(struct resp_info_writer *w,
			 const struct node_stage_hists *st)
{
	char key[48];

	resp_info_section(w, "Latency");
	for (int s = 0; s < NODE_STAGES; s++) {
		snprintf(key, sizeof(key), "stage_%s",
			 node__stage_name((enum node_stage)s));
		info_stage(w, key, &st->h[s]);
	}
	for (uint32_t i = 0; i < NODE_STAGE_PEERS && st->peer[i] != 0; i++) {
		snprintf(key, sizeof(key), "stage_repl_peer%u", st->peer[i]);
		info_stage(w, key, &st->repl[i]);
	}
}

/* INFO's node sections, rendered from one status snapshot (node_status.h);
 * INFO is asked for rarely, so the snapshot includes the state digest. */
static void on_info(void *ctx, struct resp_info_writer *w)
{
	struct node_status s;

	node__status_get(ctx, true, &s);
	info_replication(w, &s);
	info_fabric(w, &s.fab);
	node__place_info(w, &s.place);
	info_raftstats(w, &s);
	info_memory(w, &s);
	info_kvcache(w, &s);
	info_latency(w, &s.c.stages);
}

const struct resp_backend node__backend = {
    .size = sizeof(struct resp_backend),
    .command = on_command,
    .info = on_info,
    .queue_check = on_queue_check,
};
