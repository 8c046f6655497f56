/* sim.c — the simulator: nodes, the network, the driver loop, control. */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim_damage.h"
#include "sim_private.h"

void sim_options_default(struct sim_options *o, uint32_t n_nodes, uint64_t seed)
{
	memset(o, 0, sizeof(*o));
	o->n_nodes = n_nodes;
	o->seed = seed;
	o->auto_tick = true;
	o->tick_us = 10000;
	o->delay_min_us = 100;
	o->delay_max_us = 2000;
	o->disk_min_us = 50;
	o->disk_max_us = 500;
	o->election_ticks = 10;
	o->heartbeat_ticks = 1;
	o->max_inflight = 16;
	o->max_batch_entries = 32;
	o->pre_vote = true;
	o->check_quorum = true;
	o->snapshot_trailing = 8;
	o->snapshot_chunk_bytes = 64;
	o->clock_drift_ppm = 20000;
	o->recover = true;
}

/* ------------------------------------------------------------------ */
/* Utilities                                                           */

uint64_t sim__rand(struct sim *s)
{
	return raft_rand_next(&s->rng);
}

/* Uniform in [lo, hi]. */
uint64_t sim__range(struct sim *s, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + sim__rand(s) % (hi - lo + 1);
}

static bool chance_ppm(struct sim *s, uint32_t ppm)
{
	return ppm > 0 && sim__rand(s) % 1000000u < ppm;
}

uint64_t sim__hash_bytes(const void *buf, uint32_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (uint32_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * 0x100000001b3ull;
	}
	return h;
}

/* Grow @ptr (elements of @size) so it holds at least @need; abort on OOM:
 * the simulator is test infrastructure, the core is what gets fault
 * injection. */
void *sim__grow(void *ptr, uint64_t *cap, uint64_t need, size_t size)
{
	if (need <= *cap) {
		return ptr;
	}
	uint64_t c = *cap ? *cap : 16;
	while (c < need) {
		c *= 2;
	}
	void *p = realloc(ptr, c * size);
	if (p == NULL) {
		abort();
	}
	*cap = c;
	return p;
}

void sim__violate(struct sim *s, const char *fmt, ...)
{
	if (s->violated) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->violation, sizeof(s->violation), fmt, ap);
	va_end(ap);
	s->violated = true;
}

void sim__trace(struct sim *s, uint8_t kind, raft_id node, raft_id from,
		uint8_t msg_type, raft_term term, uint64_t a, uint64_t b)
{
	s->trace[s->trace_n++ % SIM_TRACE_LEN] =
	    (struct sim_trace){s->now, kind, msg_type, node, from, term, a, b};
}

void sim_status_dump(const struct sim *s, FILE *f)
{
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (!n->up) {
			fprintf(f,
				"  node %u: down (durable log %llu, term "
				"%llu)\n",
				id, (unsigned long long)n->disk.n,
				(unsigned long long)n->term);
			continue;
		}
		struct raft_status st;
		raft_status_get(n->raft, &st);
		fprintf(f,
			"  node %u: %-9s term %llu leader %u commit %llu "
			"applied %llu persisted %llu last %llu/%llu%s\n",
			id, raft_role_name(st.role),
			(unsigned long long)st.term, st.leader,
			(unsigned long long)st.commit,
			(unsigned long long)st.applied,
			(unsigned long long)st.persisted,
			(unsigned long long)st.last_index,
			(unsigned long long)st.last_term,
			st.recovering ? " RECOVERING" : "");
		if (st.recovering) {
			fprintf(f, "          recovering through %llu\n",
				(unsigned long long)st.recover_index);
		}
	}
}

/* A storage fault of the trace: damage, a lost tail, a slot's claim. */
static void trace_storage(FILE *f, const struct sim_trace *t)
{
	if (t->kind == TR_SLOT) {
		fprintf(f,
			"SLOT node %u claims %llu/%llu, its log ends at %llu: "
			"recovering\n",
			t->node, (unsigned long long)t->a,
			(unsigned long long)t->term, (unsigned long long)t->b);
		return;
	}
	fprintf(f, "DAMAGE node %u log from %llu (had %llu)%s\n", t->node,
		(unsigned long long)t->a, (unsigned long long)t->b,
		t->msg_type == 1   ? " UNDETECTED lost tail"
		: t->msg_type == 2 ? " lost tail, slot kept"
				   : "");
}

void sim_trace_dump(const struct sim *s, FILE *f, unsigned last)
{
	uint64_t n = s->trace_n < SIM_TRACE_LEN ? s->trace_n : SIM_TRACE_LEN;
	if (last < n) {
		n = last;
	}
	for (uint64_t k = s->trace_n - n; k < s->trace_n; k++) {
		const struct sim_trace *t = &s->trace[k % SIM_TRACE_LEN];
		fprintf(f, "  t=%10lluus ", (unsigned long long)t->time);
		switch (t->kind) {
		case SIM_DELIVER:
			fprintf(
			    f, "deliver %s %u->%u term=%llu a=%llu b=%llu\n",
			    raft_msg_type_name(t->msg_type), t->from, t->node,
			    (unsigned long long)t->term,
			    (unsigned long long)t->a, (unsigned long long)t->b);
			break;
		case SIM_TICK:
			fprintf(f, "tick node %u\n", t->node);
			break;
		case SIM_DISK:
			fprintf(f, "disk node %u durable through %llu\n",
				t->node, (unsigned long long)t->a);
			break;
		case TR_CRASH:
			fprintf(f, "CRASH node %u\n", t->node);
			break;
		case TR_RESTART:
			fprintf(f, "RESTART node %u (log %llu, term %llu)\n",
				t->node, (unsigned long long)t->a,
				(unsigned long long)t->term);
			break;
		case TR_PARTITION:
			fprintf(f, "PARTITION group mask 0x%llx\n",
				(unsigned long long)t->a);
			break;
		case TR_HEAL:
			fprintf(f, "HEAL\n");
			break;
		case TR_PAUSE:
			fprintf(f, "PAUSE node %u for %lluus\n", t->node,
				(unsigned long long)t->a);
			break;
		case TR_DAMAGE:
		case TR_SLOT:
			trace_storage(f, t);
			break;
		case TR_PROPOSE:
			fprintf(f, "propose at %u -> index %llu term %llu\n",
				t->node, (unsigned long long)t->a,
				(unsigned long long)t->term);
			break;
		case TR_ROLE:
			fprintf(f, "node %u becomes %s term %llu leader %llu\n",
				t->node, raft_role_name(t->msg_type),
				(unsigned long long)t->term,
				(unsigned long long)t->a);
			break;
		default:
			fprintf(f, "?\n");
		}
	}
}

/* ------------------------------------------------------------------ */
/* The driver: carry out one raft_update as the runtime would           */

static struct sim_msg *msg_copy(const struct raft_message *m)
{
	uint32_t n = m->type == RAFT_MSG_APPEND ? m->append.n_entries : 0;
	size_t bytes = sizeof(struct sim_msg) + n * sizeof(struct raft_entry);
	for (uint32_t i = 0; i < n; i++) {
		bytes += m->append.entries[i].len;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		bytes += m->snapshot.len;
	}
	struct sim_msg *c = malloc(bytes);
	if (c == NULL) {
		abort();
	}
	c->m = *m;
	unsigned char *payload = (unsigned char *)&c->entries[n];
	for (uint32_t i = 0; i < n; i++) {
		c->entries[i] = m->append.entries[i];
		if (c->entries[i].len > 0) {
			memcpy(payload, c->entries[i].buf, c->entries[i].len);
			c->entries[i].buf = payload;
			payload += c->entries[i].len;
		}
	}
	if (m->type == RAFT_MSG_APPEND) {
		c->m.append.entries = n > 0 ? c->entries : NULL;
	}
	if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.len > 0) {
		memcpy(payload, m->snapshot.data, m->snapshot.len);
		c->m.snapshot.data = payload;
	}
	return c;
}

static void send_one(struct sim *s, const struct raft_message *m)
{
	if (m->to == 0 || m->to > s->opt.n_nodes) {
		return;
	}
	struct raft_message fill;
	unsigned char chunk[4096];
	if (m->type == RAFT_MSG_SNAPSHOT) {
		/* The driver supplies the bytes (raft.h note 6). */
		fill = *m;
		if (fill.snapshot.len > sizeof(chunk) ||
		    !sim__snap_fill(s, m->from, &fill.snapshot, chunk)) {
			return;
		}
		m = &fill;
	}
	int copies = 1;
	if (chance_ppm(s, s->opt.drop_ppm)) {
		copies = 0;
	} else if (chance_ppm(s, s->opt.dup_ppm)) {
		copies = 2;
	}
	for (int k = 0; k < copies; k++) {
		uint64_t t = s->now + sim__range(s, s->opt.delay_min_us,
						 s->opt.delay_max_us);
		sim__push(s, (struct sim_event){.time = t,
						.type = SIM_DELIVER,
						.node = m->to,
						.ptr = msg_copy(m)});
	}
}

/* The node an update belongs to, for the callbacks below. */
struct sim_upd {
	struct sim *s;
	struct sim_node *n;
};

static int upd_hardstate(void *arg, raft_term term, raft_id vote)
{
	struct sim_upd *a = arg;

	/* Term and vote are durable before anything leaves. */
	a->n->term = term;
	a->n->vote = vote;
	const struct sim_log *d = &a->n->disk;
	a->n->meta_index = d->n > 0 ? d->e[d->n - 1].index : 0;
	return 0;
}

static int upd_chunk(void *arg, const struct raft_snapshot_chunk *c)
{
	struct sim_upd *a = arg;

	sim__snap_chunk(a->s, a->n, c);
	return 0;
}

static int upd_install(void *arg, const struct raft_update *u)
{
	struct sim_upd *a = arg;

	sim__snap_install(a->s, a->n, u);
	return 0;
}

static int upd_entries(void *arg, const struct raft_entry *e, uint32_t count)
{
	struct sim_upd *a = arg;

	/* Entries go to the disk queue; the mirror follows the core. */
	sim__check_append(a->s, a->n, e, count);
	sim__disk_write(a->s, a->n, e, count);
	return 0;
}

static int upd_commit(void *arg, const struct raft_update *u)
{
	struct sim_upd *a = arg;
	struct sim *s = a->s;

	sim__check_commit(s, a->n, u->commit);
	if (u->role == RAFT_LEADER && chance_ppm(s, s->crash_on_commit_ppm)) {
		s->crash_next = a->n->id;
		/* Half the time a second node loses power with it (one
		 * rack): a follower that acknowledged writes it had not made
		 * durable would now lose them. */
		if (sim__rand(s) & 1) {
			s->crash_also =
			    (raft_id)sim__range(s, 1, s->opt.n_nodes);
		}
	}
	return 0;
}

static int upd_apply(void *arg, const struct raft_entry *e)
{
	struct sim_upd *a = arg;

	sim__check_apply(a->s, a->n, e);
	return 0;
}

static int upd_reads(void *arg, const struct raft_update *u)
{
	struct sim_upd *a = arg;

	if (u->flags & RAFT_UPDATE_READS) {
		sim__check_reads(a->s, a->n, u->reads, u->n_reads);
	}
	return 0;
}

static int upd_role(void *arg, const struct raft_update *u)
{
	struct sim_upd *a = arg;

	sim__trace(a->s, TR_ROLE, a->n->id, 0, u->role, u->term, u->leader, 0);
	if (u->role == RAFT_LEADER) {
		sim__check_leader(a->s, a->n);
	}
	return 0;
}

static int upd_want_snap(void *arg, raft_index index)
{
	struct sim_upd *a = arg;

	a->n->want_snap = index; /* taken after this step */
	return 0;
}

static int upd_recovered(void *arg)
{
	struct sim_upd *a = arg;

	a->n->recover_index = 0; /* the driver persists "repaired" */
	a->n->recover_term = 0;
	return 0;
}

static int upd_message(void *arg, const struct raft_message *m)
{
	struct sim_upd *a = arg;

	send_one(a->s, m);
	return 0;
}

/* The simulator's parts of an update, in the runtime's order (raft.h
 * note 5, raft_update_carry_out()). */
static const struct raft_update_ops sim_update_ops = {
    .size = sizeof(struct raft_update_ops),
    .hardstate = upd_hardstate,
    .snapshot_chunk = upd_chunk,
    .snapshot_install = upd_install,
    .entries = upd_entries,
    .commit = upd_commit,
    .apply = upd_apply,
    .reads = upd_reads,
    .role = upd_role,
    .snapshot_wanted = upd_want_snap,
    .message = upd_message,
    .recovered = upd_recovered,
};

static void handle_update(struct sim *s, struct sim_node *n,
			  const struct raft_update *u)
{
	struct sim_upd a = {.s = s, .n = n};

	int rv = raft_update_carry_out(u, &sim_update_ops, &a);

	assert(rv == 0); /* no simulator part fails */
	(void)rv;
}

static int node_step(struct sim *s, struct sim_node *n,
		     const struct raft_event *event, struct raft_update *u)
{
	struct raft_event e = *event;
	const struct raft_event *ev = &e;
	e.time_us = sim__clock(s, n); /* raft.h note 8 */
	int rv = raft_step(n->raft, ev, u);
	if (rv != 0 && rv != FR_NOTLEADER && ev->type == RAFT_EVENT_TICK) {
		sim__violate(s, "raft_step on node %u failed: %s", n->id,
			     fr_strerror(rv));
		return rv;
	}
	if (rv != 0 && (ev->type == RAFT_EVENT_RECEIVE ||
			ev->type == RAFT_EVENT_PERSISTED)) {
		sim__violate(s, "raft_step on node %u failed: %s", n->id,
			     fr_strerror(rv));
		return rv;
	}
	handle_update(s, n, u);
	if (n->want_snap != 0 && n->raft != NULL) {
		raft_index idx = n->want_snap;
		n->want_snap = 0;
		sim__snap_take(s, n, idx);
	}
	return rv;
}

/* ------------------------------------------------------------------ */
/* Nodes                                                               */

static int node_start(struct sim *s, struct sim_node *n)
{
	struct raft_options o;
	raft_options_default(
	    &o, n->id, s->opt.seed * 31 + n->id + n->incarnation * 1000003ull);
	o.election_ticks = s->opt.election_ticks;
	o.heartbeat_ticks = s->opt.heartbeat_ticks;
	o.max_inflight = s->opt.max_inflight;
	o.max_batch_entries = s->opt.max_batch_entries;
	o.pre_vote = s->opt.pre_vote;
	o.check_quorum = s->opt.check_quorum;
	o.lease_ticks = s->opt.lease_ticks;
	o.snapshot_threshold = s->opt.snapshot_threshold;
	o.snapshot_trailing = s->opt.snapshot_trailing;
	o.snapshot_chunk_bytes = s->opt.snapshot_chunk_bytes;
	struct raft_restore rs;
	memset(&rs, 0, sizeof(rs));
	rs.term = n->term;
	rs.vote = n->vote;
	rs.entries = n->disk.e;
	rs.n_entries = (uint32_t)n->disk.n;
	if (n->snap.meta.index > 0) {
		rs.config = n->snap.meta.config;
		rs.snapshot_index = n->snap.meta.index;
		rs.snapshot_term = n->snap.meta.term;
		rs.snapshot_size = n->snap.meta.size;
	} else {
		sim__initial_config(s, &rs.config);
	}
	if (!s->opt.recover) {
		n->recover_index = 0; /* the unsafe rule: forget the damage */
		n->recover_term = 0;
	}
	rs.recover_index = n->recover_index;
	rs.recover_index_term = n->recover_term;
	int rv = raft_open(&n->raft, &o, &rs);
	if (rv != 0) {
		return rv;
	}
	n->up = true;
	sim__check_restart(s, n);
	if (s->opt.auto_tick) {
		/* Clocks start out of phase, as real ones do. */
		sim__push(s,
			  (struct sim_event){
			      .time = s->now + sim__range(s, 1, s->opt.tick_us),
			      .type = SIM_TICK,
			      .node = n->id,
			      .incarnation = n->incarnation});
	}
	return 0;
}

int sim_open(struct sim **out, const struct sim_options *o)
{
	if (o->n_nodes == 0 || o->n_nodes > SIM_MAX_NODES || o->tick_us == 0 ||
	    o->n_voters > o->n_nodes || o->delay_min_us > o->delay_max_us ||
	    o->disk_min_us > o->disk_max_us) {
		return FR_INVALID;
	}
	struct sim *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return FR_NOMEM;
	}
	s->opt = *o;
	s->rng = o->seed;
	sim__initial_config(s, &s->canon_config);
	for (raft_id id = 1; id <= o->n_nodes; id++) {
		s->nodes[id].id = id;
		/* One clock per machine: it runs on across restarts. */
		sim__clock_init(s, &s->nodes[id]);
		int rv = node_start(s, &s->nodes[id]);
		if (rv != 0) {
			sim_close(s);
			return rv;
		}
	}
	*out = s;
	return 0;
}

void sim_close(struct sim *s)
{
	if (s == NULL) {
		return;
	}
	for (raft_id id = 1; id <= SIM_MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		raft_close(n->raft);
		sim__disk_free(n);
		sim__snap_free(n);
		free(n->mirror_hash);
		free(n->mirror_term);
	}
	sim__queue_close(s);
	sim__check_close(s);
	free(s);
}

void sim_crash(struct sim *s, raft_id id)
{
	struct sim_node *n = &s->nodes[id];
	if (id == 0 || id > s->opt.n_nodes || !n->up) {
		return;
	}
	sim__trace(s, TR_CRASH, id, 0, 0, 0, 0, 0);
	/* Its pending reads die with it (no answer: the client times out). */
	for (uint64_t k = 0; k < s->reads_n;) {
		if (s->reads[k].node == id) {
			s->reads[k] = s->reads[--s->reads_n];
		} else {
			k++;
		}
	}
	raft_close(n->raft);
	n->raft = NULL;
	n->up = false;
	n->incarnation++; /* its queued ticks and disk events go stale */
	n->paused_until = 0;
	n->tick_backlog = 0;
	sim__slot_crash(s, n);
}

void sim_power_loss(struct sim *s, raft_id id)
{
	if (id == 0 || id > s->opt.n_nodes || !s->nodes[id].up) {
		return;
	}
	sim__disk_free_pending(&s->nodes[id]);
	sim_crash(s, id);
}

int sim_restart(struct sim *s, raft_id id)
{
	struct sim_node *n = &s->nodes[id];
	if (id == 0 || id > s->opt.n_nodes || n->up) {
		return FR_INVALID;
	}
	sim__trace(s, TR_RESTART, id, 0, 0, n->term, n->disk.n, 0);
	int rv = node_start(s, n);
	return rv != 0 ? rv : (s->violated ? FR_CORRUPT : 0);
}

int sim_damage(struct sim *s, raft_id id, raft_index from)
{
	struct sim_node *n = &s->nodes[id];
	if (id == 0 || id > s->opt.n_nodes || n->up || n->disk.n == 0) {
		return FR_INVALID;
	}
	raft_index first = n->disk.e[0].index;
	raft_index last = n->disk.e[n->disk.n - 1].index;
	if (from < first) {
		from = first;
	}
	if (from > last) {
		return FR_INVALID;
	}
	sim__trace(s, TR_DAMAGE, id, 0, 0, n->term, from, last);
	s->damages++;
	/* The wal persists X = the last index it had durably before it
	 * truncates (a second crash keeps the larger X). */
	if (last >= n->recover_index) {
		n->recover_term = 0; /* a checksum names no term */
	}
	n->recover_index = sim_damage_recover(n->recover_index, last);
	sim__disk_truncate(n, from);
	return 0;
}

uint32_t sim_damaged(const struct sim *s)
{
	uint32_t k = 0;
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		k += s->nodes[id].recover_index != 0;
	}
	return k;
}

int sim_setup_log(struct sim *s, raft_id id, raft_term term,
		  const raft_term *terms, uint32_t n)
{
	if (id == 0 || id > s->opt.n_nodes) {
		return FR_INVALID;
	}
	struct sim_node *nd = &s->nodes[id];
	sim_crash(s, id);
	sim__disk_free(nd);
	nd->term = term;
	nd->vote = 0;
	for (uint32_t i = 0; i < n; i++) {
		char payload[32];
		int len = snprintf(payload, sizeof(payload), "i%u/t%llu", i + 1,
				   (unsigned long long)terms[i]);
		struct raft_entry e = {.term = terms[i],
				       .index = i + 1,
				       .type = RAFT_ENTRY_NORMAL,
				       .len = (uint32_t)len,
				       .buf = payload};
		sim__log_copy_in(&nd->disk, &e, 1);
	}
	return sim_restart(s, id);
}

/* ------------------------------------------------------------------ */
/* Stepping                                                            */

static void deliver(struct sim *s, struct sim_event *ev)
{
	struct sim_msg *c = ev->ptr;
	struct sim_node *n = &s->nodes[ev->node];
	const struct raft_message *m = &c->m;
	if (n->up && !s->link_down[m->from][m->to]) {
		s->deliveries++;
		uint64_t a = 0, b = 0;
		if (m->type == RAFT_MSG_APPEND) {
			a = m->append.prev_index;
			b = m->append.n_entries;
		} else if (m->type == RAFT_MSG_APPEND_RESP) {
			a = m->append_resp.index;
			b = m->append_resp.success;
		} else if (m->type == RAFT_MSG_VOTE_RESP) {
			b = m->vote_resp.granted;
		}
		sim__trace(s, SIM_DELIVER, m->to, m->from, m->type, m->term, a,
			   b);
		struct raft_event e = {.type = RAFT_EVENT_RECEIVE};
		e.receive.message = m;
		struct raft_update u;
		node_step(s, n, &e, &u);
	}
	free(c);
}

static void disk_done(struct sim *s, struct sim_event *ev)
{
	struct sim_node *n = &s->nodes[ev->node];
	if (!n->up || ev->incarnation != n->incarnation || n->pending == NULL) {
		return;
	}
	const struct sim_log *w = &n->pending->entries;
	struct raft_event e = {.type = RAFT_EVENT_PERSISTED};
	e.persisted.index = w->e[w->n - 1].index;
	e.persisted.term = w->e[w->n - 1].term;
	sim__disk_complete(s, n);
	sim__trace(s, SIM_DISK, n->id, 0, 0, 0, e.persisted.index, 0);
	struct raft_update u;
	node_step(s, n, &e, &u);
}

static void tick(struct sim *s, struct sim_event *ev)
{
	struct sim_node *n = &s->nodes[ev->node];
	if (!n->up || ev->incarnation != n->incarnation) {
		return;
	}
	struct raft_event e = {.type = RAFT_EVENT_TICK};
	struct raft_update u;
	for (uint32_t k = sim__ticks_due(n); k > 0 && n->up; k--) {
		node_step(s, n, &e, &u);
	}
	/* ±5% drift per tick keeps the nodes' clocks apart. */
	uint64_t d = s->opt.tick_us / 20;
	ev->time =
	    s->now + sim__range(s, s->opt.tick_us - d, s->opt.tick_us + d);
	sim__push(s, *ev);
}

int sim_step(struct sim *s)
{
	if (s->violated) {
		return FR_CORRUPT;
	}
	if (s->crash_next != 0) {
		sim_crash(s, s->crash_next);
		sim_crash(s, s->crash_also);
		s->crash_next = 0;
		s->crash_also = 0;
	}
	struct sim_event ev;
	if (!sim__pop(s, &ev)) {
		return 0;
	}
	if (ev.time > s->now) {
		s->now = ev.time;
	}
	s->steps++;
	if (sim__hold(s, &ev)) {
		return 0; /* its node is paused: it waits */
	}
	switch (ev.type) {
	case SIM_DELIVER:
		deliver(s, &ev);
		break;
	case SIM_DISK:
		disk_done(s, &ev);
		break;
	case SIM_TICK:
		tick(s, &ev);
		break;
	case SIM_READ:
		sim__read_event(s, &ev);
		break;
	}
	return s->violated ? FR_CORRUPT : 0;
}

int sim_step_all(struct sim *s, uint64_t max_steps)
{
	for (uint64_t k = 0; k < max_steps && s->q_pending_io > 0; k++) {
		/* Skip ticks: quiescence is about messages and writes. */
		if (s->q_n > 0 && s->q[0].type == SIM_TICK) {
			struct sim_event ev;
			sim__pop(s, &ev);
			ev.time = ev.time + s->opt.tick_us;
			/* Re-queue the tick after the pending I/O. */
			sim__push(s, ev);
			continue;
		}
		int rv = sim_step(s);
		if (rv != 0) {
			return rv;
		}
	}
	return s->violated ? FR_CORRUPT : 0;
}

int sim_run_until(struct sim *s, uint64_t until_us)
{
	while (s->q_n > 0 && s->q[0].time <= until_us) {
		int rv = sim_step(s);
		if (rv != 0) {
			return rv;
		}
	}
	if (s->now < until_us) {
		s->now = until_us;
	}
	return s->violated ? FR_CORRUPT : 0;
}

/* ------------------------------------------------------------------ */
/* Control                                                             */

void sim_link(struct sim *s, raft_id a, raft_id b, bool up)
{
	if (a == 0 || b == 0 || a > SIM_MAX_NODES || b > SIM_MAX_NODES) {
		return;
	}
	s->link_down[a][b] = !up;
	s->link_down[b][a] = !up;
}

void sim_link_dir(struct sim *s, raft_id from, raft_id to, bool up)
{
	if (from == 0 || to == 0 || from > SIM_MAX_NODES ||
	    to > SIM_MAX_NODES) {
		return;
	}
	s->link_down[from][to] = !up;
}

void sim_partition(struct sim *s, const raft_id *group, uint32_t n)
{
	bool in[SIM_MAX_NODES + 1] = {false};
	uint64_t mask = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (group[i] >= 1 && group[i] <= s->opt.n_nodes) {
			in[group[i]] = true;
			mask |= 1ull << group[i];
		}
	}
	sim__trace(s, TR_PARTITION, 0, 0, 0, 0, mask, 0);
	for (raft_id a = 1; a <= s->opt.n_nodes; a++) {
		for (raft_id b = 1; b <= s->opt.n_nodes; b++) {
			s->link_down[a][b] = in[a] != in[b];
		}
	}
}

void sim_heal(struct sim *s)
{
	sim__trace(s, TR_HEAL, 0, 0, 0, 0, 0, 0);
	memset(s->link_down, 0, sizeof(s->link_down));
}

static struct sim_node *live(struct sim *s, raft_id id)
{
	if (id == 0 || id > s->opt.n_nodes || !s->nodes[id].up) {
		return NULL;
	}
	return &s->nodes[id];
}

/* What an injection returns after its step: FR_CORRUPT once any invariant
 * has failed (in this step or before), else @rv. */
static int settle(const struct sim *s, int rv)
{
	return s->violated ? FR_CORRUPT : rv;
}

/* Inject @e (borrowed) at node @id, whose update nobody reads.  Returns
 * @down, stepping nothing, when the node is not up; else settle() of
 * raft_step's result when @keep_rv, of 0 when the node may refuse the event
 * (a tick or campaign at a leader, a stale message) without that being an
 * error for the caller. */
static int inject_at(struct sim *s, raft_id id, int down,
		     const struct raft_event *e, bool keep_rv)
{
	struct sim_node *n = live(s, id);
	if (n == NULL) {
		return down;
	}
	if (sim_is_paused(s, id)) {
		return FR_BUSY; /* it answers nothing now */
	}
	struct raft_update u;
	int rv = node_step(s, n, e, &u);
	return settle(s, keep_rv ? rv : 0);
}

int sim_tick(struct sim *s, raft_id id)
{
	struct raft_event e = {.type = RAFT_EVENT_TICK};
	return inject_at(s, id, FR_INVALID, &e, false);
}

int sim_campaign(struct sim *s, raft_id id)
{
	struct raft_event e = {.type = RAFT_EVENT_CAMPAIGN};
	return inject_at(s, id, FR_INVALID, &e, false);
}

int sim_propose(struct sim *s, raft_id id, const void *buf, uint32_t len,
		raft_index *index, raft_term *term)
{
	struct sim_node *n = live(s, id);
	if (n == NULL) {
		return FR_NOTLEADER;
	}
	if (sim_is_paused(s, id)) {
		return FR_BUSY; /* the client times out */
	}
	struct raft_buf b = {buf, len};
	struct raft_event e = {.type = RAFT_EVENT_PROPOSE};
	e.propose.bufs = &b;
	e.propose.n = 1;
	struct raft_update u;
	int rv = node_step(s, n, &e, &u);
	if (rv != 0) {
		return rv;
	}
	sim__trace(s, TR_PROPOSE, id, 0, 0, u.proposed_term, u.proposed_index,
		   0);
	sim__check_propose(
	    s, id, u.proposed_index, u.proposed_term,
	    sim__entry_hash(u.proposed_term, RAFT_ENTRY_NORMAL, buf, len));
	if (index != NULL) {
		*index = u.proposed_index;
	}
	if (term != NULL) {
		*term = u.proposed_term;
	}
	return settle(s, 0);
}

/* Step a read whose invocation is recorded; forget it when refused. */
int sim__read_step(struct sim *s, struct sim_node *n, uint64_t c, bool lease)
{
	struct raft_event e = {.type = RAFT_EVENT_READ};
	e.read.ctx = &c;
	e.read.n = 1;
	e.read.lease = lease;
	struct raft_update u;
	int rv = node_step(s, n, &e, &u);
	if (rv != 0) {
		for (uint64_t k = 0; k < s->reads_n; k++) {
			if (s->reads[k].ctx == c) {
				s->reads[k] = s->reads[--s->reads_n];
				break;
			}
		}
	}
	return rv;
}

int sim_read(struct sim *s, raft_id id, bool lease, uint64_t *ctx)
{
	struct sim_node *n = live(s, id);
	if (n == NULL) {
		return FR_NOTLEADER;
	}
	uint64_t c = ++s->read_ctx;
	s->reads = sim__grow(s->reads, &s->reads_cap, s->reads_n + 1,
			     sizeof(*s->reads));
	s->reads[s->reads_n++] =
	    (struct sim_read_inv){c, id, s->max_done_point};
	if (ctx != NULL) {
		*ctx = c;
	}
	if (sim_is_paused(s, id)) {
		/* Invoked now, queued on the paused process's socket. */
		sim__push(s, (struct sim_event){.time = n->paused_until,
						.type = SIM_READ,
						.node = id,
						.incarnation = n->incarnation,
						.arg = c << 1 | lease});
		return settle(s, 0);
	}
	return settle(s, sim__read_step(s, n, c, lease));
}

int sim_change(struct sim *s, raft_id id, uint8_t op, raft_id target,
	       raft_index *index)
{
	struct sim_node *n = live(s, id);
	if (n == NULL) {
		return FR_NOTLEADER;
	}
	struct raft_event e = {.type = RAFT_EVENT_CHANGE};
	e.change.op = op;
	e.change.id = target;
	struct raft_update u;
	raft_index commit_before = n->commit;
	int rv = node_step(s, n, &e, &u);
	if (rv == 0) {
		s->cprops = sim__grow(s->cprops, &s->cprops_cap,
				      s->cprops_n + 1, sizeof(*s->cprops));
		s->cprops[s->cprops_n++] = (struct sim_config_prop){
		    u.proposed_index, u.proposed_term, commit_before};
		if (index != NULL) {
			*index = u.proposed_index;
		}
	}
	return settle(s, rv);
}

int sim_transfer(struct sim *s, raft_id id, raft_id to, bool abort)
{
	struct raft_event e = {.type = RAFT_EVENT_TRANSFER};
	e.transfer.to = to;
	e.transfer.abort = abort;
	return inject_at(s, id, FR_NOTLEADER, &e, true);
}

int sim_inject(struct sim *s, const struct raft_message *m)
{
	struct raft_event e = {.type = RAFT_EVENT_RECEIVE};
	e.receive.message = m;
	return inject_at(s, m->to, FR_INVALID, &e, false);
}

int sim_flush_disk(struct sim *s, raft_id id)
{
	struct sim_node *n = live(s, id);
	if (n == NULL) {
		return FR_INVALID;
	}
	while (n->pending != NULL) {
		struct sim_event ev = {.type = SIM_DISK,
				       .node = id,
				       .incarnation = n->incarnation};
		disk_done(s, &ev);
	}
	return settle(s, 0);
}

/* ------------------------------------------------------------------ */
/* Inspection                                                          */

struct raft *sim_raft(struct sim *s, raft_id id)
{
	struct sim_node *n = live(s, id);
	return n != NULL ? n->raft : NULL;
}

bool sim_is_up(const struct sim *s, raft_id id)
{
	return id >= 1 && id <= s->opt.n_nodes && s->nodes[id].up;
}

raft_id sim_leader(const struct sim *s)
{
	raft_id best = 0;
	raft_term best_term = 0;
	for (raft_id id = 1; id <= s->opt.n_nodes; id++) {
		if (!s->nodes[id].up) {
			continue;
		}
		struct raft_status st;
		raft_status_get(s->nodes[id].raft, &st);
		if (st.role == RAFT_LEADER && st.term >= best_term) {
			best = id;
			best_term = st.term;
		}
	}
	return best;
}

uint64_t sim_now(const struct sim *s)
{
	return s->now;
}

uint64_t sim_deliveries(const struct sim *s)
{
	return s->deliveries;
}

uint64_t sim_steps(const struct sim *s)
{
	return s->steps;
}

uint64_t sim_acked(const struct sim *s)
{
	return s->acks_n;
}

uint64_t sim_reads_done(const struct sim *s)
{
	return s->reads_done;
}

uint64_t sim_installs(const struct sim *s)
{
	return s->installs;
}

uint64_t sim_snapshots(const struct sim *s)
{
	return s->snapshots;
}

uint64_t sim_changes(const struct sim *s)
{
	return s->changes_applied;
}

raft_index sim_applied(const struct sim *s, raft_id id)
{
	return id >= 1 && id <= s->opt.n_nodes ? s->nodes[id].applied : 0;
}

const char *sim_violation(const struct sim *s)
{
	return s->violated ? s->violation : NULL;
}
