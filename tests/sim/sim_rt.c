/* sim_rt.c — runtime mode: the event loop over virtual time, the network,
 * faults and clients around N real core/node runtimes. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "resp.h"
#include "sim_rt.h"

enum srt_ev_type {
	EV_TICK,
	EV_DELIVER,
	EV_DISK,
	EV_CLIENT,
	EV_CMD,
	EV_FAULT,
	EV_RESTART,
	EV_HEAL,
	EV_FWD, /* a forwarding stream's chunk or kick (sim_rt_fwd.c) */
};

/* How long after every node is back from a power cut clients must have
 * had an answer. */
#define CUT_CHECK_US 15000000u

struct srt_ev {
	uint64_t t;   /* virtual time, us */
	uint64_t seq; /* FIFO among equal times */
	uint8_t type; /* enum srt_ev_type */
	uint8_t node; /* node id, or client index */
	void *ptr;    /* EV_DELIVER: owned message copy */
};

struct srt_client {
	uint64_t seq;	   /* request number (resp_req.seq) */
	uint32_t op;	   /* history index of the outstanding op */
	uint32_t op2;	   /* a TXN's second write, UINT32_MAX: none */
	bool waiting;	   /* an op is outstanding */
	uint64_t deadline; /* give up then */
	char a[9][32];	   /* its arguments */
	uint32_t argc;
};

struct sim_rt {
	struct sim_rt_options o;
	uint64_t ct_first_ms; /* first cluster time seen, 0 = none yet */
	uint64_t ct_first_us; /* when */
	struct sim_rt_result *res;
	uint64_t rng;
	uint64_t now;
	uint64_t seq;
	struct srt_ev *h; /* binary min-heap */
	uint32_t h_n;
	uint32_t h_cap;
	struct node_options nopt;
	struct srt_node nodes[SIM_RT_NODES_MAX + 1];
	bool cut[SIM_RT_NODES_MAX + 1];
	struct srt_client cl[SIM_RT_CLIENTS];
	struct srt_hist hist;
	struct srt_sms sms; /* State Machine Safety */
	raft_id *leader_of; /* by term */
	/* --power-cut: armed, down (not every node back yet), and when
	 * every node was back with how many client ops acknowledged. */
	bool cut_armed;
	bool cut_down;
	uint64_t cut_up_at;
	uint64_t cut_ops;
	uint64_t terms_cap;
	uint32_t next_value;
	struct srt_fwdnet *fwd;
};

uint64_t srt_rand(struct sim_rt *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t srt_range(struct sim_rt *s, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + srt_rand(s) % (hi - lo + 1);
}

static bool chance(struct sim_rt *s, uint32_t ppm)
{
	return ppm != 0 && srt_rand(s) % 1000000u < ppm;
}

bool srt_chance(struct sim_rt *s, uint32_t ppm)
{
	return chance(s, ppm);
}

struct sim_rt_result *srt_result(struct sim_rt *s)
{
	return s->res;
}

const struct sim_rt_options *srt_options(const struct sim_rt *s)
{
	return &s->o;
}

struct srt_node *srt_node_of(struct sim_rt *s, raft_id id)
{
	return &s->nodes[id];
}

bool srt_is_cut(const struct sim_rt *s, raft_id id)
{
	return s->cut[id];
}

struct srt_fwdnet *srt_fwdnet_of(struct sim_rt *s)
{
	return s->fwd;
}

uint64_t srt_now(const struct sim_rt *s)
{
	return s->now;
}

static bool ev_less(const struct srt_ev *a, const struct srt_ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct sim_rt *s, uint64_t t, uint8_t type, uint8_t node,
		 void *ptr)
{
	if (s->h_n == s->h_cap) {
		s->h_cap = s->h_cap ? s->h_cap * 2 : 1024;
		s->h = realloc(s->h, s->h_cap * sizeof(*s->h));
		if (s->h == NULL) {
			abort();
		}
	}
	uint32_t i = s->h_n++;
	s->h[i] = (struct srt_ev){t, s->seq++, type, node, ptr};
	while (i > 0 && ev_less(&s->h[i], &s->h[(i - 1) / 2])) {
		struct srt_ev tmp = s->h[i];
		s->h[i] = s->h[(i - 1) / 2];
		s->h[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static struct srt_ev pop(struct sim_rt *s)
{
	struct srt_ev top = s->h[0];
	uint32_t i = 0;

	s->h[0] = s->h[--s->h_n];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->h_n && ev_less(&s->h[l], &s->h[m])) {
			m = l;
		}
		if (r < s->h_n && ev_less(&s->h[r], &s->h[m])) {
			m = r;
		}
		if (m == i) {
			break;
		}
		struct srt_ev tmp = s->h[i];
		s->h[i] = s->h[m];
		s->h[m] = tmp;
		i = m;
	}
	return top;
}

static void violate(struct sim_rt *s, const char *why)
{
	if (s->res->violations++ == 0) {
		snprintf(s->res->why, sizeof(s->res->why), "%s", why);
	}
}

void srt_violate(struct sim_rt *s, const char *why)
{
	violate(s, why);
}

void srt_fwd_push(struct sim_rt *s, uint64_t t, uint8_t node, void *ev)
{
	push(s, t, EV_FWD, node, ev);
}

/* ---- the network ---- */

struct srt_msg {
	struct raft_message m;
	struct raft_entry entries[]; /* then the payload bytes */
};

static struct srt_msg *msg_copy(const struct raft_message *m)
{
	uint32_t k = m->type == RAFT_MSG_APPEND ? m->append.n_entries : 0;
	size_t bytes = sizeof(struct srt_msg) + k * sizeof(struct raft_entry);

	for (uint32_t i = 0; i < k; i++) {
		bytes += m->append.entries[i].len;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		bytes += m->snapshot.len;
	}
	struct srt_msg *c = malloc(bytes);
	if (c == NULL) {
		abort();
	}
	c->m = *m;
	unsigned char *p = (unsigned char *)&c->entries[k];
	for (uint32_t i = 0; i < k; i++) {
		c->entries[i] = m->append.entries[i];
		if (c->entries[i].len > 0) {
			memcpy(p, c->entries[i].buf, c->entries[i].len);
			c->entries[i].buf = p;
			p += c->entries[i].len;
		}
	}
	if (m->type == RAFT_MSG_APPEND) {
		c->m.append.entries = k > 0 ? c->entries : NULL;
	}
	if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.len > 0) {
		memcpy(p, m->snapshot.data, m->snapshot.len);
		c->m.snapshot.data = p;
	}
	return c;
}

void srt_send(struct sim_rt *s, const struct raft_message *m)
{
	if (m->to == 0 || m->to > s->o.n_nodes || s->cut[m->to] ||
	    s->cut[m->from]) {
		return;
	}
	int copies = chance(s, s->o.drop_ppm)  ? 0
		     : chance(s, s->o.dup_ppm) ? 2
					       : 1;
	for (int k = 0; k < copies; k++) {
		push(s, s->now + srt_range(s, 50, s->o.delay_max_us),
		     EV_DELIVER, (uint8_t)m->to, msg_copy(m));
	}
}

/* ---- the disk ---- */

void srt_disk_event(struct sim_rt *s, struct srt_node *sn, uint64_t at)
{
	struct srt_write *w = &sn->wq[sn->wq_n - 1];
	uint64_t t = at + srt_range(s, 20, s->o.disk_max_us);

	if (s->o.faults && chance(s, 5000)) {
		t += srt_range(s, 10000, 200000); /* a slow fsync */
	}
	if (t < sn->disk_stall_until) {
		t = sn->disk_stall_until;
	}
	if (sn->wq_n > 1 && t < sn->wq[sn->wq_n - 2].done_us) {
		t = sn->wq[sn->wq_n - 2].done_us; /* in order */
	}
	w->done_us = t;
	push(s, t, EV_DISK, (uint8_t)sn->id, NULL);
}

/* ---- nodes ---- */

void srt_check_node(struct sim_rt *s, struct srt_node *sn)
{
	struct raft_status st;
	const char *why;
	char msg[256];

	if (sn->n == NULL) {
		return;
	}
	if (node__driven_fatal(sn->n, &why) != 0) {
		snprintf(msg, sizeof(msg), "node %u stopped: %s", sn->id, why);
		violate(s, msg);
		return;
	}
	node__driven_status(sn->n, &st);
	if (st.role != RAFT_LEADER) {
		return;
	}
	if (st.term >= s->terms_cap) {
		uint64_t cap = st.term * 2 + 16;
		s->leader_of = realloc(s->leader_of, cap * sizeof(raft_id));
		if (s->leader_of == NULL) {
			abort();
		}
		memset(s->leader_of + s->terms_cap, 0,
		       (cap - s->terms_cap) * sizeof(raft_id));
		s->terms_cap = cap;
	}
	if (s->leader_of[st.term] == 0) {
		s->leader_of[st.term] = sn->id;
	} else if (s->leader_of[st.term] != sn->id) {
		snprintf(msg, sizeof(msg),
			 "election safety: nodes %u and %u lead term %" PRIu64,
			 s->leader_of[st.term], sn->id, st.term);
		violate(s, msg);
	}
}

static void node_start(struct sim_rt *s, struct srt_node *sn)
{
	struct node_durable d = {.term = sn->term, .vote = sn->vote};
	struct raft_entry *e = malloc((sn->log.n + 1) * sizeof(*e));
	char err[FR_ERRMSG_SIZE];
	uint32_t k = 0;

	if (e == NULL) {
		abort();
	}
	if (sn->snap != NULL) {
		d.snapshot_index = sn->snap->m.index;
		d.snapshot_term = sn->snap->m.term;
		s->res->snapshot_loads += sn->gen > 0; /* a restart */
	}
	for (uint32_t i = 0; i < sn->log.n; i++) {
		if (sn->log.v[i].e.index > d.snapshot_index) {
			e[k++] = sn->log.v[i].e;
		}
	}
	d.entries = e;
	d.n_entries = k;
	d.recover_index = sn->recover_index;
	d.recover_index_term = sn->recover_term;
	srt_sms_restart(&s->sms, sn->id);
	s->nopt.id = sn->id;
	if (node__driven_open(&sn->n, &s->nopt, &srt_io, sn, &d, err) != 0) {
		char msg[400];
		snprintf(msg, sizeof(msg), "node %u does not restart: %s",
			 sn->id, err);
		violate(s, msg);
		sn->n = NULL;
	}
	free(e);
	sn->gen++;
	sn->next_tick = s->now + srt_range(s, 1, 10000);
	push(s, sn->next_tick, EV_TICK, (uint8_t)sn->id, (void *)sn->gen);
}

/* Add the counters of @sn's incarnation, about to end, to the result. */
static void node_counts(struct sim_rt *s, struct srt_node *sn)
{
	uint64_t taken, installed, fwd;

	if (sn->n != NULL) {
		node__driven_counts(sn->n, &taken, &installed, &fwd);
		s->res->snapshots += taken;
		s->res->snapshots_installed += installed;
		s->res->forwarded += fwd;
	}
}

static void node_crash(struct sim_rt *s, struct srt_node *sn, bool power_cut)
{
	node_counts(s, sn);
	sn->closing = true; /* what close() answers never leaves */
	node__driven_close(sn->n);
	sn->closing = false;
	sn->n = NULL;
	sn->ct_seen_ms = 0; /* it applies its log again from the start */
	srt_fwd_node_down(s, sn->id);
	srt_crash_disk(s, sn, power_cut);
	sn->paused_until = 0;
	s->res->crashes++;
}

static bool paused(struct sim_rt *s, const struct srt_ev *ev,
		   struct srt_node *sn)
{
	if (s->now >= sn->paused_until) {
		return false;
	}
	/* Queued for when the process runs again, in some order. */
	push(s, sn->paused_until + srt_range(s, 0, 2000), ev->type, ev->node,
	     ev->ptr);
	return true;
}

static void on_tick(struct sim_rt *s, struct srt_node *sn, void *gen)
{
	uint64_t tick_us = (uint64_t)s->nopt.tick_ms * 1000u;

	if (sn->n == NULL || (uintptr_t)gen != sn->gen) {
		return; /* crashed, or a tick of an earlier incarnation */
	}
	if (s->now < sn->paused_until) {
		push(s, sn->paused_until, EV_TICK, (uint8_t)sn->id, gen);
		return;
	}
	node__driven_tick(sn->n);
	srt_check_node(s, sn);
	if (s->o.faults && chance(s, s->o.pause_ppm)) {
		/* A process pause: up to four election timeouts. */
		sn->paused_until =
		    s->now +
		    srt_range(s, tick_us, 4 * tick_us * s->nopt.election_ticks);
		s->res->pauses++;
		if (s->o.verbose) {
			printf("%10" PRIu64 " us node %u pauses until %" PRIu64
			       "\n",
			       s->now, sn->id, sn->paused_until);
		}
	}
	/* The timer runs on the node's own clock rate. */
	push(s, s->now + (uint64_t)((double)tick_us / sn->rate), EV_TICK,
	     (uint8_t)sn->id, gen);
}

/* ---- clients ---- */

/* A KV-cache command (kvc_ppm): register a storage node, place a block,
 * look a chain up, read the stats.  Outside the history's check: it
 * exercises the state machine and the runtime's paths for it. */
static void client_kvc(struct sim_rt *s, struct srt_client *cl)
{
	uint64_t h = srt_range(s, 1, 64);
	uint64_t r = srt_rand(s) % 4;

	if (r == 0) {
		cl->argc = 6;
		snprintf(cl->a[0], 32, "KVC.NODE.ADD");
		snprintf(cl->a[1], 32, "%" PRIu64, srt_range(s, 1, 4));
		snprintf(cl->a[2], 32, "10.0.0.1:7000");
		snprintf(cl->a[3], 32, "0");
		snprintf(cl->a[4], 32, "hbm");
		snprintf(cl->a[5], 32, "1000000000");
	} else if (r == 1) {
		cl->argc = 10;
		const char *v[10] = {"KVC.PUT", "ns",  "", "-",	   "16",
				     "",	"hbm", "", "4096", NULL};
		for (uint32_t i = 0; i < 9; i++) {
			snprintf(cl->a[i], 32, "%s", v[i]);
		}
		snprintf(cl->a[2], 32, "%04" PRIx64, h);
		snprintf(cl->a[5], 32, "%" PRIu64, srt_range(s, 1, 4));
		snprintf(cl->a[7], 32, "%" PRIu64, h * 4096);
		cl->argc = 9;
	} else if (r == 2) {
		cl->argc = 3;
		snprintf(cl->a[0], 32, "KVC.LOOKUP");
		snprintf(cl->a[1], 32, "ns");
		snprintf(cl->a[2], 32, "%04" PRIx64, h);
	} else {
		cl->argc = 1;
		snprintf(cl->a[0], 32, "KVC.STATS");
	}
}

/* MULTI; SET ka va; SET kb vb; EXEC as the RESP front hands it to the
 * backend: one TXN request (resp_multi.c), forwarded whole by a follower.
 * Two writes in the history, both acknowledged by "*2 +OK +OK". */
static void client_txn(struct sim_rt *s, struct srt_client *cl,
		       struct srt_op *op)
{
	struct srt_op op2 = *op;

	op->write = op2.write = true;
	op->value = ++s->next_value;
	op2.key = (uint8_t)((op->key + srt_range(s, 1, SIM_RT_KEYS - 1)) %
			    SIM_RT_KEYS);
	op2.value = ++s->next_value;
	cl->argc = 9;
	snprintf(cl->a[0], 32, "TXN");
	snprintf(cl->a[1], 32, "3");
	snprintf(cl->a[2], 32, "SET");
	snprintf(cl->a[3], 32, "k%u", op->key);
	snprintf(cl->a[4], 32, "%u", op->value);
	snprintf(cl->a[5], 32, "3");
	snprintf(cl->a[6], 32, "SET");
	snprintf(cl->a[7], 32, "k%u", op2.key);
	snprintf(cl->a[8], 32, "%u", op2.value);
	cl->op2 = srt_hist_add(&s->hist, &op2);
}

static void client_next(struct sim_rt *s, uint8_t c)
{
	struct srt_client *cl = &s->cl[c];
	struct srt_op op = {.key = (uint8_t)srt_range(s, 0, SIM_RT_KEYS - 1),
			    .invoke_us = s->now,
			    .complete_us = UINT64_MAX};

	op.write = srt_rand(s) % 2 == 0;
	snprintf(cl->a[0], 32, "%s", op.write ? "SET" : "GET");
	snprintf(cl->a[1], 32, "k%u", op.key);
	cl->argc = 2;
	if (op.write) {
		op.value = ++s->next_value;
		snprintf(cl->a[2], 32, "%u", op.value);
		cl->argc = 3;
	}
	if (s->o.kvc_ppm != 0 && chance(s, s->o.kvc_ppm)) {
		op.key = UINT8_MAX; /* not a register: not checked */
		op.write = false;
		client_kvc(s, cl);
	}
	cl->op2 = UINT32_MAX;
	if (op.key != UINT8_MAX && s->o.txn_ppm != 0 &&
	    chance(s, s->o.txn_ppm)) {
		client_txn(s, cl, &op);
	}
	cl->seq++;
	cl->op = srt_hist_add(&s->hist, &op);
	cl->waiting = true;
	cl->deadline = s->now + 3000000;
	/* ptr: the request number and the node it goes to. */
	push(s, s->now + srt_range(s, 50, s->o.delay_max_us), EV_CMD, c,
	     (void *)(uintptr_t)(cl->seq << 8 | srt_range(s, 1, s->o.n_nodes)));
	push(s, cl->deadline, EV_CLIENT, c, (void *)(uintptr_t)cl->seq);
}

/* The request reaches node @id (or its crashed remains). */
/* Sometimes (ten times the per-tick pause rate) the process is paused
 * right after request @ev reached its socket: it is the first thing the
 * node handles when it runs again, before the messages and ticks that
 * queued meanwhile (the worst order for a lease read), while the history
 * keeps the time it was sent.  Bit 7 of the node byte marks it. */
static bool pause_after_arrival(struct sim_rt *s, const struct srt_ev *ev,
				struct srt_node *sn)
{
	if (!s->o.faults || ((uintptr_t)ev->ptr & 0x80) != 0 ||
	    !chance(s, 10 * s->o.pause_ppm)) {
		return false;
	}
	sn->paused_until = s->now + srt_range(s, 10000, 400000);
	s->res->pauses++;
	s->res->held++;
	if (s->o.verbose) {
		printf("%10" PRIu64 " us node %u pauses until %" PRIu64
		       " with client %u's request unread\n",
		       s->now, sn->id, sn->paused_until, ev->node);
	}
	push(s, sn->paused_until, EV_CMD, ev->node,
	     (void *)((uintptr_t)ev->ptr | 0x80));
	return true;
}

static void on_cmd(struct sim_rt *s, const struct srt_ev *ev)
{
	struct srt_client *cl = &s->cl[ev->node];
	struct srt_node *sn = &s->nodes[(uintptr_t)ev->ptr & 0x7f];
	struct resp_req req = {.slot = ev->node,
			       .seq = cl->seq,
			       .client_id = ev->node + 1u,
			       .admin = true};
	struct resp_arg argv[9];

	for (uint32_t i = 0; i < cl->argc; i++) {
		argv[i].ptr = cl->a[i];
		argv[i].len = strlen(cl->a[i]);
	}
	if (sn->n == NULL || !cl->waiting ||
	    (uintptr_t)ev->ptr >> 8 != cl->seq) {
		return; /* refused, or answered already */
	}
	if (paused(s, ev, sn)) {
		/* In its socket until the process runs again; the op's
		 * invoke time stays the time it was sent. */
		s->res->held++;
		return;
	}
	if (pause_after_arrival(s, ev, sn)) {
		return;
	}
	if (s->o.verbose) {
		printf("%10" PRIu64 " us client %u -> node %u: %s %s %s\n",
		       s->now, ev->node, sn->id, cl->a[0],
		       cl->argc > 1 ? cl->a[1] : "",
		       cl->argc > 2 ? cl->a[2] : "");
	}
	node__driven_command(sn->n, &req, cl->argc, argv);
	srt_check_node(s, sn);
}

/* The value of a bulk-string reply "$<len>\r\n<digits>\r\n", 0 for nil;
 * false for anything else. */
static bool parse_get(const char *b, size_t len, uint32_t *v)
{
	if (len >= 5 && memcmp(b, "$-1\r\n", 5) == 0) {
		*v = 0;
		return true;
	}
	const char *p = memchr(b, '\n', len);
	if (b[0] != '$' || p == NULL) {
		return false;
	}
	*v = (uint32_t)strtoul(p + 1, NULL, 10);
	return *v != 0;
}

/* Forwarding's outcome rules (node_fwd.c) in a -TRYAGAIN answer. */
static void note_outcome(struct sim_rt *s, struct srt_op *op, const char *b,
			 size_t len)
{
	if (len < 9 || memcmp(b, "-TRYAGAIN", 9) != 0) {
		return;
	}
	if (memmem(b, len, "outcome is unknown", 18) != NULL) {
		op->unknown = true;
		s->res->fwd_unknown++;
	} else if (memmem(b, len, "not executed", 12) != NULL) {
		op->unexecuted = true;
		s->res->fwd_unexecuted++;
	}
}

void srt_reply(struct srt_node *sn, const struct resp_req *req, const void *buf,
	       size_t len)
{
	struct sim_rt *s = sn->s;
	struct srt_client *cl;
	struct srt_op *op;
	const char *b = buf;

	if (sn->closing || srt_fwd_reply(sn, req, buf, len)) {
		return; /* lost with the process, or a forwarded request's */
	}
	cl = &s->cl[req->slot];
	op = &s->hist.v[cl->op];
	if (!cl->waiting || req->seq != cl->seq || len == 0) {
		return; /* answered after the client gave up */
	}
	note_outcome(s, op, b, len);
	if (cl->op2 != UINT32_MAX) {
		struct srt_op *op2 = &s->hist.v[cl->op2];

		note_outcome(s, op2, b, len);
		if (len >= 14 && memcmp(b, "*2\r\n+OK\r\n+OK\r\n", 14) == 0) {
			op->acked = op2->acked = true;
			op->complete_us = op2->complete_us = s->now;
			s->res->txns_ok++;
		}
	} else if (op->write && len >= 3 && memcmp(b, "+OK", 3) == 0) {
		op->acked = true;
		op->complete_us = s->now;
	} else if (!op->write && parse_get(b, len, &op->value)) {
		op->acked = true;
		op->complete_us = s->now;
		s->res->reads_ok++;
	}
	if (s->o.verbose) {
		printf("%10" PRIu64 " us client %u <- %.*s\n", s->now,
		       req->slot, (int)(len > 40 ? 40 : len - 2), b);
	}
	/* An error leaves a write's outcome open (complete = never) and
	 * a read out of the check. */
	s->res->ops_ok += op->acked;
	cl->waiting = false;
	push(s, s->now + srt_range(s, 0, 2000), EV_CLIENT, (uint8_t)req->slot,
	     (void *)(uintptr_t)(cl->seq + 1));
}

static void on_client(struct sim_rt *s, uint8_t c, void *seq)
{
	struct srt_client *cl = &s->cl[c];

	if (cl->waiting && (uintptr_t)seq != cl->seq) {
		return; /* a deadline of an answered op */
	}
	if (!cl->waiting && (uintptr_t)seq != cl->seq + 1) {
		return;
	}
	cl->waiting = false; /* gave up: the outcome stays open */
	client_next(s, c);
}

void srt_applied(struct sim_rt *s, struct srt_node *sn,
		 const struct raft_entry *e)
{
	uint64_t digest;
	raft_index at;
	char why[400];
	bool sample = sn->n != NULL && e->index % SRT_DIGEST_EVERY == 0;

	if (sample) {
		digest = node__driven_digest(sn->n, &at);
	}
	if (srt_sms_applied(&s->sms, sn, e, sample ? &digest : NULL, why,
			    sizeof(why))) {
		violate(s, why);
	}
}

/* ---- faults ---- */

/* Cluster time (node_clock.c notes 3 and 4): as applied on a node it never
 * goes backward, and it never runs ahead of the real time elapsed since the
 * first stamp (clock rates err by 0.5% at most; 2 s covers how late the
 * first stamp is seen).  A leader stamping from its wall clock breaks it. */
static void check_clock(struct sim_rt *s, struct srt_node *sn)
{
	uint64_t ct = node__driven_cluster_ms(sn->n);
	char why[256];

	if (ct == 0) {
		return;
	}
	if (s->ct_first_ms == 0) {
		s->ct_first_ms = ct;
		s->ct_first_us = s->now;
	}
	uint64_t bound =
	    s->ct_first_ms + 2000u + (s->now - s->ct_first_us) * 101u / 100000u;
	if (ct < sn->ct_seen_ms) {
		snprintf(why, sizeof(why),
			 "cluster time went backward on node %u: %" PRIu64
			 " ms after %" PRIu64 " ms",
			 sn->id, ct, sn->ct_seen_ms);
		violate(s, why);
	} else if (ct > bound) {
		snprintf(why, sizeof(why),
			 "cluster time ahead of real time on node %u: %" PRIu64
			 " ms > first %" PRIu64 " ms + elapsed + 2 s = %" PRIu64
			 " ms",
			 sn->id, ct, s->ct_first_ms, bound);
		violate(s, why);
	}
	sn->ct_seen_ms = ct;
}

static void check_logs(struct sim_rt *s)
{
	char why[256];

	if (srt_check_logs(s->nodes, s->o.n_nodes, why, sizeof(why))) {
		violate(s, why);
	}
	for (uint32_t i = 1; i <= s->o.n_nodes; i++) {
		if (s->nodes[i].n != NULL) {
			check_clock(s, &s->nodes[i]);
		}
	}
}

static uint32_t crashed_count(const struct sim_rt *s)
{
	uint32_t k = 0;

	for (uint32_t i = 1; i <= s->o.n_nodes; i++) {
		k += s->nodes[i].n == NULL;
	}
	return k;
}

/* --power-cut: arm a cut now and then, leaving 20 s to check that the
 * cluster recovers, the next only once the last was checked; true (hold
 * every other fault) from a cut until clients are served again: the
 * scenario is every node back, then a leader. */
static bool power_cut_hold(struct sim_rt *s)
{
	if (s->o.power_cut_ppm == 0) {
		return false;
	}
	if (s->cut_down ||
	    (s->cut_up_at != 0 && s->res->ops_ok == s->cut_ops)) {
		return true;
	}
	if (!s->cut_armed &&
	    (s->cut_up_at == 0 || s->now >= s->cut_up_at + CUT_CHECK_US) &&
	    s->now + 20000000 < s->o.duration_us &&
	    chance(s, s->o.power_cut_ppm)) {
		s->cut_armed = true;
	}
	return false;
}

static void fault(struct sim_rt *s)
{
	if (power_cut_hold(s)) {
		push(s, s->now + srt_range(s, 20000, 300000), EV_FAULT, 0,
		     NULL);
		return;
	}
	struct srt_node *sn = &s->nodes[srt_range(s, 1, s->o.n_nodes)];
	uint64_t r = srt_rand(s) % 6;

	if (s->o.verbose) {
		printf("%10" PRIu64 " us fault %" PRIu64 " (crash partition "
		       "rate wall-step disk-stall pause) on node %u\n",
		       s->now, r, sn->id);
	}

	if (r == 0 && sn->n != NULL &&
	    crashed_count(s) < (s->o.n_nodes - 1) / 2) {
		node_crash(s, sn, false);
		push(s, s->now + srt_range(s, 100000, 2000000), EV_RESTART,
		     (uint8_t)sn->id, NULL);
	} else if (r == 1 && !s->cut[sn->id]) {
		s->cut[sn->id] = true; /* isolated both ways */
		push(s, s->now + srt_range(s, 100000, 3000000), EV_HEAL,
		     (uint8_t)sn->id, NULL);
	} else if (r == 2) {
		/* Its monotonic clock now runs up to 0.5% fast or slow. */
		uint64_t at = srt_now(s);
		sn->mono_base_ns = srt_io.mono_ns(sn);
		sn->mono_at_us = at;
		sn->rate = 1.0 + ((double)srt_range(s, 0, 10000) - 5000) / 1e6;
	} else if (r == 3) {
		/* The wall clock steps up to 10 s either way; one step in
		 * ten is up to an hour (a bad NTP server, a VM resumed). */
		int64_t d = (int64_t)srt_range(s, 0, 20000) - 10000;
		sn->wall_offset_ms += d > 8000 || d < -8000 ? d * 360 : d;
	} else if (r == 4) {
		sn->disk_stall_until = s->now + srt_range(s, 50000, 1000000);
	} else if (s->o.pause_ppm != 0 && sn->n != NULL &&
		   s->now >= sn->paused_until) {
		sn->paused_until = s->now + srt_range(s, 10000, 400000);
		s->res->pauses++;
		if (s->o.verbose) {
			printf("%10" PRIu64 " us node %u pauses until %" PRIu64
			       "\n",
			       s->now, sn->id, sn->paused_until);
		}
	}
	push(s, s->now + srt_range(s, 20000, 300000), EV_FAULT, 0, NULL);
	check_logs(s);
}

/* After a power cut every node came back: a leader must be elected (rule
 * 3 of docs/storage.md "Closing the gap": the conditional votes of
 * recovering voters) and clients served again. */
static void check_cut_progress(struct sim_rt *s)
{
	if (s->cut_up_at == 0 || s->now < s->cut_up_at + CUT_CHECK_US) {
		return; /* none, or too recent to tell */
	}
	if (s->res->ops_ok == s->cut_ops) {
		char why[160];
		snprintf(why, sizeof(why),
			 "liveness: no client op acknowledged in the %" PRIu64
			 " us since every node restarted after a power cut",
			 s->now - s->cut_up_at);
		violate(s, why);
	}
	s->cut_up_at = 0;
}

/* A whole-cluster power cut (--power-cut), once armed, strikes when every
 * node is up with a write in flight: each loses its writes in flight but
 * keeps their tail slot, and restarts within 2 s. */
static void maybe_power_cut(struct sim_rt *s)
{
	uint32_t claiming = 0;

	for (uint32_t i = 1; i <= s->o.n_nodes; i++) {
		if (s->nodes[i].n == NULL || s->nodes[i].wq_n == 0) {
			return;
		}
	}
	check_cut_progress(s);
	s->cut_armed = false;
	s->cut_down = true;
	for (uint32_t i = 1; i <= s->o.n_nodes; i++) {
		s->cut[i] = false; /* the network is fair until a leader */
		node_crash(s, &s->nodes[i], true);
		claiming += s->nodes[i].recover_index != 0;
		push(s, s->now + srt_range(s, 100000, 2000000), EV_RESTART,
		     (uint8_t)i, NULL);
	}
	s->res->power_cuts++;
	s->res->full_cuts += claiming == s->o.n_nodes;
	if (s->o.verbose) {
		printf("%10" PRIu64
		       " us POWER CUT: %u of %u nodes recovering\n",
		       s->now, claiming, s->o.n_nodes);
	}
}

/* Node @sn restarts (after a crash or a power cut). */
static void on_restart(struct sim_rt *s, struct srt_node *sn)
{
	if (sn->n != NULL) {
		return;
	}
	srt_maybe_damage(s, sn);
	node_start(s, sn);
	if (s->cut_down && crashed_count(s) == 0) {
		s->cut_down = false;
		s->cut_up_at = s->now;
		s->cut_ops = s->res->ops_ok;
	}
}

static void on_disk(struct sim_rt *s, const struct srt_ev *ev,
		    struct srt_node *sn)
{
	if (sn->n != NULL && paused(s, ev, sn)) {
		srt_disk_complete(sn, s->now); /* the disk works on */
		return;
	}
	if (srt_disk_complete(sn, s->now) && sn->n != NULL) {
		node__driven_persisted(sn->n);
		srt_check_node(s, sn);
	}
}

static void on_deliver(struct sim_rt *s, const struct srt_ev *ev,
		       struct srt_node *sn)
{
	struct srt_msg *m = ev->ptr;

	if (sn->n != NULL && paused(s, ev, sn)) {
		return; /* requeued with the same copy */
	}
	if (sn->n != NULL && !s->cut[sn->id]) {
		if (s->o.corrupt_node == sn->id && s->now > 1000000) {
			(void)srt_corrupt(&m->m);
		}
		node__driven_receive(sn->n, &m->m);
		s->res->deliveries++;
		srt_check_node(s, sn);
	}
	free(m);
}

static void dispatch(struct sim_rt *s, const struct srt_ev *ev)
{
	struct srt_node *sn = &s->nodes[ev->node];

	switch (ev->type) {
	case EV_TICK:
		on_tick(s, sn, ev->ptr);
		break;
	case EV_DELIVER:
		on_deliver(s, ev, sn);
		break;
	case EV_DISK:
		on_disk(s, ev, sn);
		break;
	case EV_CLIENT:
		on_client(s, ev->node, ev->ptr);
		break;
	case EV_CMD:
		on_cmd(s, ev);
		break;
	case EV_FAULT:
		fault(s);
		break;
	case EV_RESTART:
		on_restart(s, sn);
		break;
	case EV_HEAL:
		s->cut[ev->node] = false;
		break;
	case EV_FWD:
		srt_fwd_event(s, ev->node, ev->ptr);
		break;
	}
}

/* ---- one run ---- */

void sim_rt_options_default(struct sim_rt_options *o, uint64_t seed)
{
	memset(o, 0, sizeof(*o));
	o->seed = seed;
	o->n_nodes = 3;
	o->read_mode = NODE_READ_INDEX;
	o->duration_us = 20000000; /* 20 simulated seconds */
	o->drop_ppm = 10000;
	o->dup_ppm = 5000;
	o->delay_max_us = 3000;
	o->disk_max_us = 2000;
	o->faults = true;
	o->pause_ppm = 200;
	o->forward = true;
}

static void setup(struct sim_rt *s)
{
	struct node_options *no = &s->nopt;

	node_options_default(no);
	no->n_peers = s->o.n_nodes;
	for (uint32_t i = 0; i < s->o.n_nodes; i++) {
		no->peers[i].id = i + 1;
		snprintf(no->peers[i].host, sizeof(no->peers[i].host),
			 "127.0.0.1");
		no->peers[i].port = (uint16_t)(7000 + i);
		snprintf(no->client_addrs[i + 1], NODE_ADDR_MAX, "127.0.0.1:%u",
			 6379 + i);
	}
	no->read_mode = s->o.read_mode;
	no->fsync = true;
	no->request_timeout_ms = 2000;
	/* Followers close idle forwarding streams after half of it. */
	no->client_idle_timeout_s = 2;
	no->snapshot_entries =
	    s->o.snapshot_entries != 0 ? s->o.snapshot_entries : 300;
	no->forward = s->o.forward;
	no->snapshot_trailing = 50;
	/* Small tables: kvc_open() clears them at every (re)start. */
	no->kvc.blocks_max = 1024;
	no->kvc.locations_max = 1024;
	no->kvc.nodes_max = 16;
	no->kvc.events_max = 1024;
	no->kvc.kv_keys_max = 1024;
	no->kvc.reservations_max = 1024;
	no->kvc.namespaces_max = 64;
	no->kvc.long_hashes_max = 1024;
	for (uint32_t i = 1; i <= s->o.n_nodes; i++) {
		struct srt_node *sn = &s->nodes[i];

		sn->s = s;
		sn->id = i;
		sn->rate = 1.0;
		sn->mono_base_ns = srt_range(s, 1, 1000000) * 1000000000ull;
		/* Wall clocks agree to within a second or so (NTP). */
		sn->wall_offset_ms =
		    (int64_t)(sn->mono_base_ns / 1000000u % 2000u) - 1000;
		node_start(s, sn);
	}
}

static void teardown(struct sim_rt *s)
{
	while (s->h_n > 0) {
		struct srt_ev ev = pop(s);
		if (ev.type == EV_DELIVER || ev.type == EV_FWD) {
			/* Each copy is in the queue once (a pause requeues it
			 * instead of freeing it); the analyzer cannot see
			 * that. */
			free(ev.ptr); // NOLINT(clang-analyzer-unix.Malloc)
		}
	}
	for (uint32_t i = 1; i <= s->o.n_nodes; i++) {
		node_counts(s, &s->nodes[i]);
		s->nodes[i].closing = true;
		node__driven_close(s->nodes[i].n);
		srt_node_free(&s->nodes[i]);
	}
	srt_fwd_free(s->fwd);
	free(s->h);
	free(s->hist.v);
	free(s->leader_of);
	srt_sms_free(&s->sms);
}

/* The client history: the necessary conditions first (the plainest
 * messages), then the full linearizability check. */
static void check_history(struct sim_rt *s)
{
	struct srt_lin_stats st = {0};
	char why[480];

	if (s->res->violations != 0) {
		return;
	}
	if ((!s->o.full_only &&
	     srt_hist_necessary(&s->hist, why, sizeof(why))) ||
	    srt_hist_full(&s->hist, &st, why, sizeof(why))) {
		violate(s, why);
	}
	s->res->lin_ops = st.ops;
	s->res->lin_unknown = st.unknown;
	s->res->lin_steps = st.steps;
	s->res->lin_cpu_s = st.cpu_s;
}

int sim_rt_run(const struct sim_rt_options *o, struct sim_rt_result *res)
{
	struct sim_rt *s = calloc(1, sizeof(*s));
	char why[400];

	if (s == NULL) {
		abort();
	}
	memset(res, 0, sizeof(*res));
	s->o = *o;
	s->res = res;
	s->rng = o->seed;
	s->sms.seed = o->seed;
	s->fwd = srt_fwd_new();
	node__fwd_mutate_unsent = o->mutate_fwd_unsent;
	node__mutate_tick_lease = o->mutate_tick_lease;
	setup(s);
	for (uint8_t c = 0; c < SIM_RT_CLIENTS; c++) {
		push(s, srt_range(s, 0, 500000), EV_CLIENT, c,
		     (void *)(uintptr_t)1);
	}
	if (o->faults) {
		push(s, srt_range(s, 100000, 500000), EV_FAULT, 0, NULL);
	}
	while (s->h_n > 0 && res->violations == 0) {
		struct srt_ev ev = pop(s);
		if (ev.t > o->duration_us) {
			if (ev.type == EV_DELIVER || ev.type == EV_FWD) {
				free(ev.ptr);
			}
			break;
		}
		s->now = ev.t;
		res->events++;
		dispatch(s, &ev);
		if (s->cut_armed) {
			maybe_power_cut(s);
		}
	}
	check_cut_progress(s);
	res->sim_us = s->now;
	check_logs(s);
	if (res->violations == 0 &&
	    srt_sms_final(&s->sms, &s->hist, s->nodes, o->n_nodes, why,
			  sizeof(why))) {
		violate(s, why);
	}
	if (res->violations == 0 &&
	    srt_fwd_check(&s->hist, s->next_value, why, sizeof(why))) {
		violate(s, why);
	}
	check_history(s);
	teardown(s);
	free(s);
	return res->violations != 0;
}
