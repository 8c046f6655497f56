/* sim_rt_io.c — struct node_io over the simulator: in-memory disk with
 * latency, snapshots, the simulated network and per-node clocks. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_rt.h"

void *srt_xrealloc(void *p, size_t bytes)
{
	void *q = realloc(p, bytes ? bytes : 1);

	if (q == NULL) {
		abort();
	}
	return q;
}

static void log_push(struct srt_log *l, const struct raft_entry *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = srt_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct srt_entry *d = &l->v[l->n++];
	d->e = *e;
	d->data = NULL;
	if (e->len > 0) {
		d->data = srt_xrealloc(NULL, e->len);
		memcpy(d->data, e->buf, e->len);
	}
	d->e.buf = d->data;
}

/* Drop entries from position @from on. */
static void log_cut(struct srt_log *l, uint32_t from)
{
	for (uint32_t i = from; i < l->n; i++) {
		free(l->v[i].data);
	}
	if (from < l->n) {
		l->n = from;
	}
}

void srt_log_free(struct srt_log *l)
{
	log_cut(l, 0);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void snap_free(struct srt_snap *sp)
{
	if (sp != NULL) {
		free(sp->data);
		free(sp);
	}
}

void srt_node_free(struct srt_node *sn)
{
	srt_log_free(&sn->log);
	for (uint32_t i = 0; i < sn->wq_n; i++) {
		srt_log_free(&sn->wq[i].entries);
	}
	free(sn->wq);
	sn->wq = NULL;
	sn->wq_n = sn->wq_cap = 0;
	snap_free(sn->snap);
	sn->snap = NULL;
}

/* ---- network, clocks, clients ---- */

static int io_send(void *ctx, const struct raft_message *m)
{
	struct srt_node *sn = ctx;

	srt_send(sn->s, m);
	return 0;
}

static void io_term_set(void *ctx, raft_term term)
{
	(void)ctx;
	(void)term;
}

static uint64_t io_mono_ns(void *ctx)
{
	struct srt_node *sn = ctx;
	uint64_t el = srt_now(sn->s) - sn->mono_at_us;

	return sn->mono_base_ns + (uint64_t)((double)el * 1000.0 * sn->rate);
}

static uint64_t io_wall_ms(void *ctx)
{
	struct srt_node *sn = ctx;
	/* Real time plus this node's error: NTP-like skew, then the steps
	 * of the faults (sim_rt.c). */
	int64_t w = (int64_t)(srt_now(sn->s) / 1000u) + INT64_C(1700000000000) +
		    sn->wall_offset_ms;

	return (uint64_t)w;
}

static int io_reply(void *ctx, const struct resp_req *req, const void *buf,
		    size_t len)
{
	struct srt_node *sn = ctx;

	srt_reply(sn, req, buf, len);
	return 0;
}

static int io_fwd_open(void *ctx, raft_id leader)
{
	return srt_fwd_open(ctx, leader);
}

static ptrdiff_t io_fwd_write(void *ctx, const void *buf, size_t len)
{
	return srt_fwd_write(ctx, buf, len);
}

static void io_fwd_kick(void *ctx)
{
	srt_fwd_kick(ctx);
}

static void io_fwd_close(void *ctx)
{
	srt_fwd_close(ctx);
}

/* ---- the log ---- */

static int io_hardstate(void *ctx, raft_term term, raft_id vote)
{
	struct srt_node *sn = ctx;

	sn->term = term; /* synchronous: durable on return */
	sn->vote = vote;
	/* The wal's meta file saves its durable point with them. */
	sn->meta_index = sn->log.n > 0 ? sn->log.v[sn->log.n - 1].e.index : 0;
	return 0;
}

static int io_submit(void *ctx, const struct raft_entry *e, uint32_t k)
{
	struct srt_node *sn = ctx;
	struct sim_rt *s = sn->s;
	uint64_t now = srt_now(s);

	if (sn->wq_n == sn->wq_cap) {
		sn->wq_cap = sn->wq_cap ? sn->wq_cap * 2 : 16;
		sn->wq = srt_xrealloc(sn->wq, sn->wq_cap * sizeof(*sn->wq));
	}
	struct srt_write *w = &sn->wq[sn->wq_n++];
	memset(w, 0, sizeof(*w));
	for (uint32_t i = 0; i < k; i++) {
		log_push(&w->entries, &e[i]);
	}
	w->done_us = 0; /* srt_disk_event(): latency, stalls, in order */
	srt_disk_event(s, sn, now);
	return 0;
}

/* Store @w's entries: each replaces stored entries from its index on. */
static void store(struct srt_node *sn, const struct srt_write *w)
{
	for (uint32_t i = 0; i < w->entries.n; i++) {
		const struct raft_entry *e = &w->entries.v[i].e;
		uint32_t pos = sn->log.n;

		while (pos > 0 && sn->log.v[pos - 1].e.index >= e->index) {
			pos--;
		}
		log_cut(&sn->log, pos);
		if (sn->log.n > 0 &&
		    sn->log.v[sn->log.n - 1].e.index + 1 != e->index) {
			/* Not contiguous (after a compaction): restart. */
			log_cut(&sn->log, 0);
		}
		log_push(&sn->log, e);
	}
}

bool srt_disk_complete(struct srt_node *sn, uint64_t now)
{
	uint32_t k = 0;

	while (k < sn->wq_n && sn->wq[k].done_us != 0 &&
	       sn->wq[k].done_us <= now) {
		store(sn, &sn->wq[k]);
		srt_log_free(&sn->wq[k].entries);
		k++;
	}
	if (k > 0) {
		memmove(sn->wq, sn->wq + k, (sn->wq_n - k) * sizeof(*sn->wq));
		sn->wq_n -= k;
	}
	return k > 0;
}

void srt_disk_crash(struct srt_node *sn, uint32_t keep)
{
	for (uint32_t i = 0; i < sn->wq_n; i++) {
		if (i < keep) {
			store(sn, &sn->wq[i]); /* reached the platter */
		}
		srt_log_free(&sn->wq[i].entries);
	}
	sn->wq_n = 0;
}

static int io_durable(void *ctx, raft_index *index, raft_term *term)
{
	struct srt_node *sn = ctx;

	*index = 0;
	*term = 0;
	if (sn->log.n > 0) {
		*index = sn->log.v[sn->log.n - 1].e.index;
		*term = sn->log.v[sn->log.n - 1].e.term;
	}
	return 0;
}

static int io_compact(void *ctx, raft_index index)
{
	struct srt_node *sn = ctx;
	uint32_t k = 0;

	if (index == UINT64_MAX) {
		/* The whole log: pending writes are finished first. */
		srt_disk_complete(sn, UINT64_MAX - 1);
		srt_disk_crash(sn, 0);
		log_cut(&sn->log, 0);
		return 0;
	}
	while (k < sn->log.n && sn->log.v[k].e.index <= index) {
		free(sn->log.v[k].data);
		k++;
	}
	if (k > 0) { /* v may be NULL when the log is empty */
		memmove(sn->log.v, sn->log.v + k,
			(sn->log.n - k) * sizeof(*sn->log.v));
		sn->log.n -= k;
	}
	return 0;
}

static const char *io_errmsg(void *ctx)
{
	struct srt_node *sn = ctx;

	return sn->errmsg;
}

/* ---- snapshots ---- */

static int io_sw_open(void *ctx, void **w, const struct wal_snap_meta *m,
		      char *errmsg)
{
	struct srt_snap *sp = srt_xrealloc(NULL, sizeof(*sp));

	(void)ctx;
	(void)errmsg;
	memset(sp, 0, sizeof(*sp));
	sp->m = *m;
	*w = sp;
	return 0;
}

static int io_sw_write(void *ctx, void *w, const void *buf, size_t len,
		       char *errmsg)
{
	struct srt_snap *sp = w;

	(void)ctx;
	if (sp->limit != 0 && sp->len + len > sp->limit) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "snapshot over its limit");
		return FR_TOOBIG;
	}
	if (sp->len + len > sp->cap) {
		sp->cap = (sp->len + len) * 2;
		sp->data = srt_xrealloc(sp->data, sp->cap);
	}
	memcpy(sp->data + sp->len, buf, len);
	sp->len += len;
	return 0;
}

static int io_sw_commit(void *ctx, void *w, char *errmsg)
{
	struct srt_node *sn = ctx;

	(void)errmsg;
	snap_free(sn->snap);
	sn->snap = w; /* durable and visible at once */
	return 0;
}

static void io_sw_abort(void *ctx, void *w)
{
	(void)ctx;
	snap_free(w);
}

static void io_sw_limit(void *ctx, void *w, uint64_t bytes_max)
{
	struct srt_snap *sp = w;

	(void)ctx;
	sp->limit = bytes_max;
}

static int io_space(void *ctx, uint64_t bytes, uint64_t bytes_max,
		    uint64_t reserve_bytes, char *errmsg)
{
	(void)ctx;
	(void)reserve_bytes;
	if (bytes_max != 0 && bytes > bytes_max) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "snapshot too big");
		return FR_TOOBIG;
	}
	return 0;
}

static int io_sr_open(void *ctx, void **r, struct wal_snap_meta *m,
		      char *errmsg)
{
	struct srt_node *sn = ctx;
	struct srt_snap *sp;

	if (sn->snap == NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "no snapshot");
		return FR_NOTFOUND;
	}
	/* A copy: a newer snapshot may replace the stored one meanwhile. */
	sp = srt_xrealloc(NULL, sizeof(*sp));
	*sp = *sn->snap;
	sp->data = srt_xrealloc(NULL, sp->len);
	memcpy(sp->data, sn->snap->data, sp->len);
	sp->pos = 0;
	*m = sp->m;
	*r = sp;
	return 0;
}

static int io_sr_read(void *ctx, void *r, void *buf, size_t cap, size_t *k,
		      char *errmsg)
{
	struct srt_snap *sp = r;
	uint64_t left = sp->len - sp->pos;

	(void)ctx;
	(void)errmsg;
	*k = cap < left ? cap : (size_t)left;
	memcpy(buf, sp->data + sp->pos, *k);
	sp->pos += *k;
	return 0;
}

static uint64_t io_sr_size(void *ctx, const void *r)
{
	const struct srt_snap *sp = r;

	(void)ctx;
	return sp->len;
}

static void io_sr_close(void *ctx, void *r)
{
	(void)ctx;
	snap_free(r);
}

static int io_recovering_clear(void *ctx)
{
	struct srt_node *sn = ctx;

	sn->recover_index = 0; /* synchronous: durable on return */
	sn->recover_term = 0;
	srt_result(sn->s)->repairs++;
	return 0;
}

static void io_applied(void *ctx, const struct raft_entry *e)
{
	struct srt_node *sn = ctx;

	srt_applied(sn->s, sn, e);
}

const struct node_io srt_io = {
    .size = sizeof(struct node_io),
    .send = io_send,
    .term_set = io_term_set,
    .hardstate_save = io_hardstate,
    .log_submit = io_submit,
    .log_durable = io_durable,
    .log_compact = io_compact,
    .errmsg = io_errmsg,
    .snap_writer_open = io_sw_open,
    .snap_writer_write = io_sw_write,
    .snap_writer_commit = io_sw_commit,
    .snap_writer_abort = io_sw_abort,
    .snap_writer_limit = io_sw_limit,
    .snap_space_check = io_space,
    .snap_reader_open = io_sr_open,
    .snap_reader_read = io_sr_read,
    .snap_reader_size = io_sr_size,
    .snap_reader_close = io_sr_close,
    .mono_ns = io_mono_ns,
    .wall_ms = io_wall_ms,
    .reply = io_reply,
    .recovering_clear = io_recovering_clear,
    .fwd_open = io_fwd_open,
    .fwd_write = io_fwd_write,
    .fwd_kick = io_fwd_kick,
    .fwd_close = io_fwd_close,
    .applied = io_applied,
};
