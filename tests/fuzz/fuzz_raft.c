/* fuzz_raft.c — libFuzzer: hostile event sequences straight into raft_step.
 *
 * The input is read as a stream of events for node 1 of a 3-voter cluster:
 * ticks, campaigns, proposals, PERSISTED reports and, mostly, messages
 * whose every field (type, sender, recipient, term, indices, entry terms,
 * counts, payload lengths) comes from the fuzzer, with small values to hit
 * the interesting ranges and 0xff meaning "huge".  The core must never
 * crash, assert or misbehave: after every step the harness checks the
 * basic state invariants and reads every byte the update points to (so
 * ASan catches a dangling or short pointer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (in->n == 0) {
		return 0;
	}
	in->n--;
	return *in->p++;
}

/* Mostly small numbers; 0xff gives a huge one. */
static uint64_t num(struct in *in)
{
	uint8_t b = u8(in);
	if (b == 0xff) {
		return UINT64_MAX - u8(in);
	}
	return b;
}

static volatile uint64_t sink;

static void touch(const void *buf, uint32_t len)
{
	const volatile uint8_t *p = buf;
	for (uint32_t i = 0; i < len; i++) {
		sink += p[i];
	}
}

static void check(struct raft *r, const struct raft_update *u, raft_term *term)
{
	struct raft_status st;
	raft_status_get(r, &st);
	if (st.commit > st.last_index || st.applied > st.commit ||
	    st.persisted > st.last_index || st.term < *term ||
	    st.role < RAFT_FOLLOWER || st.role > RAFT_LEADER) {
		if (getenv("FUZZ_RAFT_DEBUG") != NULL) {
			fprintf(stderr,
				"commit %llu applied %llu persisted %llu "
				"last %llu term %llu (was %llu) role %d\n",
				(unsigned long long)st.commit,
				(unsigned long long)st.applied,
				(unsigned long long)st.persisted,
				(unsigned long long)st.last_index,
				(unsigned long long)st.term,
				(unsigned long long)*term, st.role);
		}
		abort();
	}
	*term = st.term;
	for (uint32_t i = 0; i < u->n_entries; i++) {
		touch(u->entries[i].buf, u->entries[i].len);
	}
	for (uint32_t i = 0; i < u->n_apply; i++) {
		if (u->apply[i].index > st.commit) {
			abort();
		}
		touch(u->apply[i].buf, u->apply[i].len);
	}
	if (u->flags & RAFT_UPDATE_SNAPSHOT_CHUNK) {
		touch(u->chunk->data, u->chunk->len);
	}
	if ((u->flags & RAFT_UPDATE_SNAPSHOT_INSTALL) &&
	    (u->install.index != st.first_index - 1 ||
	     u->install.index > st.commit)) {
		abort();
	}
	for (uint32_t i = 0; i < u->n_reads; i++) {
		if (u->reads[i].status == 0 && u->reads[i].index > st.applied) {
			abort(); /* released before applied */
		}
	}
	for (uint32_t i = 0; i < u->n_messages; i++) {
		const struct raft_message *m = &u->messages[i];
		if (m->from != 1 || m->to < 2 || m->to > RAFT_ID_MAX) {
			abort(); /* never to itself or to no one */
		}
		if (m->type == RAFT_MSG_SNAPSHOT &&
		    (m->snapshot.data != NULL || m->snapshot.len == 0 ||
		     m->snapshot.offset + m->snapshot.len >
			 m->snapshot.total)) {
			abort(); /* the driver fills [offset, offset+len) */
		}
		if (m->type == RAFT_MSG_APPEND) {
			for (uint32_t k = 0; k < m->append.n_entries; k++) {
				const struct raft_entry *e =
				    &m->append.entries[k];
				if (e->index != m->append.prev_index + 1 + k) {
					abort();
				}
				touch(e->buf, e->len);
			}
		}
	}
}

#define MAX_ENTRIES 8

static void message(struct in *in, struct raft_event *ev,
		    struct raft_message *m, struct raft_entry *e,
		    uint8_t *payload)
{
	memset(m, 0, sizeof(*m));
	m->type = u8(in) % 9; /* includes 0 and 8: invalid types */
	/* (all seven message types reachable, snapshots included) */
	m->from = u8(in) % 5; /* 0, members 1-3, stranger 4 */
	m->to = u8(in) % 3 == 0 ? 2 : 1;
	m->term = num(in);
	switch (m->type) {
	case RAFT_MSG_VOTE:
		m->vote.last_index = num(in);
		m->vote.last_term = num(in);
		m->vote.flags = u8(in);
		break;
	case RAFT_MSG_VOTE_RESP:
		/* RAFT_GRANT_NO, _YES, _CONDITIONAL, and 3: dropped. */
		m->vote_resp.granted = u8(in) % 4;
		break;
	case RAFT_MSG_APPEND: {
		m->append.prev_index = num(in);
		m->append.prev_term = num(in);
		m->append.commit = num(in);
		uint32_t n = u8(in) % (MAX_ENTRIES + 1);
		bool consecutive = u8(in) & 1;
		for (uint32_t i = 0; i < n; i++) {
			e[i].index = consecutive ? m->append.prev_index + 1 + i
						 : num(in);
			e[i].term = num(in);
			e[i].type = u8(in) % 5;
			e[i].len = u8(in) % 16;
			e[i].buf = u8(in) == 0 && e[i].len > 0 ? NULL : payload;
		}
		m->append.entries = u8(in) == 0xfe ? NULL : e;
		/* Sometimes claim more entries than there are: the count is
		 * a peer's word only after decoding, which bounds it; here
		 * the core must at least survive the big-count check. */
		m->append.n_entries = u8(in) == 0xfd ? UINT32_MAX : n;
		if (m->append.n_entries == UINT32_MAX) {
			m->append.entries = NULL;
		}
		break;
	}
	case RAFT_MSG_APPEND_RESP:
		m->append_resp.success = u8(in) & 1;
		m->append_resp.index = num(in);
		m->append_resp.last_index = num(in);
		m->append_resp.conflict_term = num(in);
		m->append_resp.conflict_index = num(in);
		m->append_resp.seq = num(in);
		break;
	case RAFT_MSG_SNAPSHOT:
		m->snapshot.last_index = num(in);
		m->snapshot.last_term = num(in);
		m->snapshot.config.n = 1 + u8(in) % 4;
		for (uint32_t i = 0; i < m->snapshot.config.n; i++) {
			m->snapshot.config.servers[i].id = u8(in) % 6;
			m->snapshot.config.servers[i].role = u8(in) % 3;
		}
		m->snapshot.offset = num(in);
		m->snapshot.total = num(in);
		m->snapshot.len = u8(in) % 17;
		m->snapshot.done = u8(in) & 1;
		m->snapshot.data = u8(in) == 0 ? NULL : payload;
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		m->snapshot_resp.last_index = num(in);
		m->snapshot_resp.offset = num(in);
		m->snapshot_resp.rejected = u8(in) & 1;
		m->snapshot_resp.done = u8(in) & 1;
		break;
	default:
		break;
	}
	ev->type = RAFT_EVENT_RECEIVE;
	ev->receive.message = m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct raft_options o;
	raft_options_default(&o, 1, u8(&in));
	o.max_inflight = 1 + u8(&in) % 8;
	o.max_batch_entries = 1 + u8(&in) % 8;
	o.lease_ticks = u8(&in) % 8; /* 0: off; up to 7 of 10 */
	struct raft_restore rs;
	memset(&rs, 0, sizeof(rs));
	rs.config.n = 3;
	for (uint32_t i = 0; i < 3; i++) {
		rs.config.servers[i].id = i + 1;
		rs.config.servers[i].role = RAFT_VOTER;
	}
	struct raft *r;
	if (raft_open(&r, &o, &rs) != 0) {
		return 0;
	}
	uint8_t payload[16] = "fuzzfuzzfuzzfuz";
	struct raft_message m;
	struct raft_entry e[MAX_ENTRIES];
	raft_term term = 0;
	uint64_t now = 0;
	for (int steps = 0; in.n > 0 && steps < 4096; steps++) {
		struct raft_event ev;
		memset(&ev, 0, sizeof(ev));
		/* Time: small steps, sometimes a stall, sometimes backward
		 * (the core must take it as the previous time). */
		uint8_t dt = u8(&in);
		now += (uint64_t)dt * 500u;
		ev.time_us = dt == 255 ? now / 2 : now;
		struct raft_buf bufs[3] = {
		    {payload, 3}, {payload, 0}, {payload, 16}};
		uint64_t ctx[2] = {1, 2};
		uint8_t op = u8(&in);
		switch (op % 12) {
		case 0:
			ev.type = RAFT_EVENT_TICK;
			break;
		case 1: {
			/* Mostly truthful durability reports, sometimes not. */
			struct raft_status st;
			raft_status_get(r, &st);
			ev.type = RAFT_EVENT_PERSISTED;
			ev.persisted.index =
			    u8(&in) & 1 ? st.last_index : num(&in);
			ev.persisted.term =
			    raft_log_term(r, ev.persisted.index);
			if (u8(&in) == 0) {
				ev.persisted.term = num(&in);
			}
			break;
		}
		case 2:
			ev.type = RAFT_EVENT_PROPOSE;
			ev.propose.bufs = bufs;
			ev.propose.n = 1 + u8(&in) % 3;
			break;
		case 3:
			ev.type = RAFT_EVENT_CAMPAIGN;
			break;
		case 4:
			ev.type = RAFT_EVENT_READ;
			ev.read.ctx = ctx;
			ev.read.n = 1 + u8(&in) % 2;
			ev.read.lease = u8(&in) & 1;
			break;
		case 5:
			ev.type = RAFT_EVENT_TRANSFER;
			ev.transfer.to = u8(&in) % 6;
			ev.transfer.abort = u8(&in) % 4 == 0;
			break;
		case 6:
			ev.type = RAFT_EVENT_CHANGE;
			ev.change.op = u8(&in) % 5;
			ev.change.id = u8(&in) % 6;
			break;
		case 7: {
			struct raft_status st;
			raft_status_get(r, &st);
			ev.type = RAFT_EVENT_SNAPSHOT;
			ev.snapshot.index = u8(&in) & 1 ? st.applied : num(&in);
			ev.snapshot.size = u8(&in);
			break;
		}
		default:
			message(&in, &ev, &m, e, payload);
			break;
		}
		struct raft_update u;
		int rv = raft_step(r, &ev, &u);
		bool refusable = ev.type == RAFT_EVENT_READ ||
				 ev.type == RAFT_EVENT_TRANSFER ||
				 ev.type == RAFT_EVENT_CHANGE ||
				 ev.type == RAFT_EVENT_SNAPSHOT ||
				 ev.type == RAFT_EVENT_PROPOSE;
		if (rv != 0 && rv != FR_NOTLEADER &&
		    !(refusable && rv != FR_NOMEM)) {
			abort(); /* what is well formed never fails */
		}
		check(r, &u, &term);
	}
	raft_close(r);
	return 0;
}
