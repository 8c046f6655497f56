/* fab_wire_msg.c — encoding and hostile-input decoding of Raft messages. */
#include "fab_wire.h"

#include <assert.h>
#include <string.h>

#include "le.h"

/*
 * The same validation functions guard both directions: the encoder refuses
 * a message the decoder would refuse, so "encodes" implies "decodes", and a
 * bug in the core that produces an impossible message is caught at the
 * sender instead of tearing down the connection at the receiver.
 */

/* Fixed payload sizes after the 16-byte message header. */
enum {
	VOTE_SIZE = 17,	       /* last_index, last_term, flags */
	VOTE_RESP_SIZE = 2,    /* granted, prevote */
	APPEND_SIZE = 36,      /* prev_index, prev_term, commit, seq, n */
	APPEND_RESP_SIZE = 41, /* success, 5 x u64 */
	SNAP_FIXED_SIZE = 38,  /* last_index, last_term, n, offset, total,
				  done, len (config servers excluded) */
	SNAP_SERVER_SIZE = 2,  /* id u8, role u8 */
	SNAP_RESP_SIZE = 18,   /* last_index, offset, rejected, done */
};

static int id_ok(uint32_t id)
{
	return id >= 1 && id <= RAFT_ID_MAX;
}

static int bool_ok(uint8_t v)
{
	return v <= 1;
}

/* VOTE_RESP granted: RAFT_GRANT_NO, _YES or _CONDITIONAL (raft.h note 7). */
static int grant_ok(uint8_t v)
{
	return v <= RAFT_GRANT_CONDITIONAL;
}

/* The configuration rules of raft_config_validate(), applied here so the
 * transport does not depend on the core's implementation being linked. */
static int config_ok(const struct raft_config *c)
{
	uint64_t seen[4] = {0, 0, 0, 0};
	int voters = 0;

	if (c->n == 0 || c->n > RAFT_MAX_SERVERS)
		return 0;
	for (uint32_t i = 0; i < c->n; i++) {
		raft_id id = c->servers[i].id;
		if (!id_ok(id))
			return 0;
		if (seen[id / 64] & (1ull << (id % 64)))
			return 0;
		seen[id / 64] |= 1ull << (id % 64);
		if (c->servers[i].role == RAFT_VOTER)
			voters++;
		else if (c->servers[i].role != RAFT_LEARNER)
			return 0;
	}
	return voters > 0;
}

/* Invariants 3 of fab_wire.h for one entry at position i of a batch. */
static int entry_ok(const struct raft_message *m, const struct raft_entry *e,
		    raft_term prev_entry_term, uint32_t i)
{
	if (e->index != m->append.prev_index + 1 + i)
		return FR_MALFORMED;
	if (e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONFIG)
		return FR_MALFORMED;
	if (e->term == 0 || e->term < prev_entry_term || e->term > m->term)
		return FR_MALFORMED;
	if (e->len > RAFT_MAX_ENTRY_BYTES)
		return FR_TOOBIG;
	return 0;
}

static int append_fixed_ok(const struct raft_message *m)
{
	const struct raft_append *a = &m->append;

	if (a->n_entries > RAFT_MAX_BATCH_ENTRIES)
		return FR_TOOBIG;
	if (a->prev_term > m->term)
		return FR_MALFORMED;
	if (a->prev_index > UINT64_MAX - a->n_entries)
		return FR_MALFORMED;
	return 0;
}

static int snapshot_ok(const struct raft_message *m)
{
	const struct raft_snapshot_chunk *s = &m->snapshot;

	if (s->len > RAFT_MAX_ENTRY_BYTES)
		return FR_TOOBIG;
	if (s->last_index == 0 || s->last_term == 0 || s->last_term > m->term)
		return FR_MALFORMED;
	if (!config_ok(&s->config) || !bool_ok(s->done))
		return FR_MALFORMED;
	if (s->offset > s->total || s->len > s->total - s->offset)
		return FR_MALFORMED;
	if (s->done && s->offset + s->len != s->total)
		return FR_MALFORMED;
	return 0;
}

/* Validate the fields of @m (not the payload bytes) and compute the frame
 * payload size.  Returns 0, FR_INVALID-class codes as decode would. */
static int message_check(const struct raft_message *m, uint64_t *payload)
{
	uint64_t size = FAB_WIRE_MSG_HDR_SIZE;
	int rv;

	if (!id_ok(m->from) || !id_ok(m->to) || m->from == m->to)
		return FR_MALFORMED;
	switch (m->type) {
	case RAFT_MSG_VOTE:
		if (m->vote.flags & ~(RAFT_VOTE_PREVOTE | RAFT_VOTE_TRANSFER))
			return FR_MALFORMED;
		size += VOTE_SIZE;
		break;
	case RAFT_MSG_VOTE_RESP:
		if (!grant_ok(m->vote_resp.granted) ||
		    !bool_ok(m->vote_resp.prevote))
			return FR_MALFORMED;
		size += VOTE_RESP_SIZE;
		break;
	case RAFT_MSG_APPEND: {
		rv = append_fixed_ok(m);
		if (rv != 0)
			return rv;
		if (m->append.n_entries > 0 && m->append.entries == NULL)
			return FR_MALFORMED;
		raft_term t = m->append.prev_term;
		size += APPEND_SIZE;
		for (uint32_t i = 0; i < m->append.n_entries; i++) {
			const struct raft_entry *e = &m->append.entries[i];
			rv = entry_ok(m, e, t, i);
			if (rv != 0)
				return rv;
			if (e->len > 0 && e->buf == NULL)
				return FR_MALFORMED;
			t = e->term;
			size += FAB_WIRE_ENTRY_HDR_SIZE + (uint64_t)e->len;
			if (size > FAB_WIRE_MAX_PAYLOAD)
				return FR_TOOBIG;
		}
		break;
	}
	case RAFT_MSG_APPEND_RESP:
		if (!bool_ok(m->append_resp.success))
			return FR_MALFORMED;
		size += APPEND_RESP_SIZE;
		break;
	case RAFT_MSG_SNAPSHOT:
		rv = snapshot_ok(m);
		if (rv != 0)
			return rv;
		if (m->snapshot.len > 0 && m->snapshot.data == NULL)
			return FR_MALFORMED;
		size += SNAP_FIXED_SIZE +
			(uint64_t)SNAP_SERVER_SIZE * m->snapshot.config.n +
			m->snapshot.len;
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		if (!bool_ok(m->snapshot_resp.rejected) ||
		    !bool_ok(m->snapshot_resp.done))
			return FR_MALFORMED;
		size += SNAP_RESP_SIZE;
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	default:
		return FR_MALFORMED;
	}
	if (size > FAB_WIRE_MAX_PAYLOAD)
		return FR_TOOBIG;
	*payload = size;
	return 0;
}

size_t fab_wire_encoded_size(const struct raft_message *msg)
{
	uint64_t payload;

	if (message_check(msg, &payload) != 0)
		return 0;
	return (size_t)(FAB_WIRE_HDR_SIZE + payload);
}

/* A writer over a buffer whose size was checked beforehand. */
struct out {
	uint8_t *p;
};

static void out_u8(struct out *o, uint8_t v)
{
	*o->p++ = v;
}

static void out_u32(struct out *o, uint32_t v)
{
	le_put_u32(o->p, v);
	o->p += 4;
}

static void out_u64(struct out *o, uint64_t v)
{
	le_put_u64(o->p, v);
	o->p += 8;
}

static void out_bytes(struct out *o, const void *src, size_t n)
{
	if (n > 0)
		memcpy(o->p, src, n);
	o->p += n;
}

static void encode_append(struct out *o, const struct raft_append *a)
{
	out_u64(o, a->prev_index);
	out_u64(o, a->prev_term);
	out_u64(o, a->commit);
	out_u64(o, a->seq);
	out_u32(o, a->n_entries);
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const struct raft_entry *e = &a->entries[i];
		out_u64(o, e->index);
		out_u64(o, e->term);
		out_u8(o, e->type);
		out_u32(o, e->len);
		out_bytes(o, e->buf, e->len);
	}
}

static void encode_snapshot(struct out *o, const struct raft_snapshot_chunk *s)
{
	out_u64(o, s->last_index);
	out_u64(o, s->last_term);
	out_u8(o, (uint8_t)s->config.n);
	for (uint32_t i = 0; i < s->config.n; i++) {
		out_u8(o, (uint8_t)s->config.servers[i].id);
		out_u8(o, s->config.servers[i].role);
	}
	out_u64(o, s->offset);
	out_u64(o, s->total);
	out_u8(o, s->done);
	out_u32(o, s->len);
	out_bytes(o, s->data, s->len);
}

static void encode_body(struct out *o, const struct raft_message *m)
{
	out_u32(o, m->from);
	out_u32(o, m->to);
	out_u64(o, m->term);
	switch (m->type) {
	case RAFT_MSG_VOTE:
		out_u64(o, m->vote.last_index);
		out_u64(o, m->vote.last_term);
		out_u8(o, m->vote.flags);
		break;
	case RAFT_MSG_VOTE_RESP:
		out_u8(o, m->vote_resp.granted);
		out_u8(o, m->vote_resp.prevote);
		break;
	case RAFT_MSG_APPEND:
		encode_append(o, &m->append);
		break;
	case RAFT_MSG_APPEND_RESP:
		out_u8(o, m->append_resp.success);
		out_u64(o, m->append_resp.index);
		out_u64(o, m->append_resp.last_index);
		out_u64(o, m->append_resp.conflict_term);
		out_u64(o, m->append_resp.conflict_index);
		out_u64(o, m->append_resp.seq);
		break;
	case RAFT_MSG_SNAPSHOT:
		encode_snapshot(o, &m->snapshot);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		out_u64(o, m->snapshot_resp.last_index);
		out_u64(o, m->snapshot_resp.offset);
		out_u8(o, m->snapshot_resp.rejected);
		out_u8(o, m->snapshot_resp.done);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	default:
		assert(0 && "checked by message_check");
	}
}

int fab_wire_encode(const struct raft_message *msg, void *buf, size_t cap,
		    size_t *len)
{
	uint64_t payload;
	int rv = message_check(msg, &payload);

	*len = 0;
	if (rv == FR_MALFORMED)
		return FR_INVALID;
	if (rv != 0)
		return rv;
	*len = (size_t)(FAB_WIRE_HDR_SIZE + payload);
	if (cap < *len)
		return FR_NOSPACE;
	fab_wire_encode_sized(msg, buf, *len);
	return 0;
}

static void encode_sized(const struct raft_message *msg, void *buf, size_t len,
			 bool payload_crc)
{
	struct out o = {(uint8_t *)buf + FAB_WIRE_HDR_SIZE};
	int rv;

	assert(len >= FAB_WIRE_HDR_SIZE &&
	       len - FAB_WIRE_HDR_SIZE <= FAB_WIRE_MAX_PAYLOAD);
	encode_body(&o, msg);
	assert((size_t)(o.p - (uint8_t *)buf) == len);
	rv = fab__wire_seal(buf, msg->type, (uint32_t)(len - FAB_WIRE_HDR_SIZE),
			    payload_crc);
	assert(rv == 0);
	(void)rv;
}

void fab_wire_encode_sized(const struct raft_message *msg, void *buf,
			   size_t len)
{
	encode_sized(msg, buf, len, true);
}

void fab_wire_encode_sized_mac(const struct raft_message *msg, void *buf,
			       size_t len)
{
	encode_sized(msg, buf, len, false);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

static int decode_entries(struct le_cursor *c, struct raft_message *m,
			  struct raft_entry *entries, uint32_t max_entries)
{
	struct raft_append *a = &m->append;
	raft_term t = a->prev_term;

	/* Every count is bounded before it sizes a loop or an array. */
	if (a->n_entries > RAFT_MAX_BATCH_ENTRIES || a->n_entries > max_entries)
		return FR_TOOBIG;
	if ((uint64_t)a->n_entries * FAB_WIRE_ENTRY_HDR_SIZE > c->left)
		return FR_MALFORMED;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		struct raft_entry *e = &entries[i];
		e->index = le_read_u64(c);
		e->term = le_read_u64(c);
		e->type = le_read_u8(c);
		e->len = le_read_u32(c);
		if (c->short_read)
			return FR_MALFORMED;
		int rv = entry_ok(m, e, t, i);
		if (rv != 0)
			return rv;
		e->buf = le_take(c, e->len);
		if (e->buf == NULL)
			return FR_MALFORMED;
		t = e->term;
	}
	a->entries = entries;
	return 0;
}

static int decode_append(struct le_cursor *c, struct raft_message *m,
			 struct raft_entry *entries, uint32_t max_entries)
{
	struct raft_append *a = &m->append;

	a->prev_index = le_read_u64(c);
	a->prev_term = le_read_u64(c);
	a->commit = le_read_u64(c);
	a->seq = le_read_u64(c);
	a->n_entries = le_read_u32(c);
	a->entries = NULL;
	if (c->short_read)
		return FR_MALFORMED;
	int rv = append_fixed_ok(m);
	if (rv != 0)
		return rv;
	if (a->n_entries == 0)
		return 0;
	return decode_entries(c, m, entries, max_entries);
}

static int decode_snapshot(struct le_cursor *c, struct raft_message *m)
{
	struct raft_snapshot_chunk *s = &m->snapshot;

	s->last_index = le_read_u64(c);
	s->last_term = le_read_u64(c);
	s->config.n = le_read_u8(c);
	if (c->short_read || s->config.n == 0 || s->config.n > RAFT_MAX_SERVERS)
		return FR_MALFORMED;
	for (uint32_t i = 0; i < s->config.n; i++) {
		s->config.servers[i].id = le_read_u8(c);
		s->config.servers[i].role = le_read_u8(c);
	}
	s->offset = le_read_u64(c);
	s->total = le_read_u64(c);
	s->done = le_read_u8(c);
	s->len = le_read_u32(c);
	if (c->short_read)
		return FR_MALFORMED;
	int rv = snapshot_ok(m);
	if (rv != 0)
		return rv;
	s->data = le_take(c, s->len);
	return s->data == NULL ? FR_MALFORMED : 0;
}

static int decode_body(struct le_cursor *c, struct raft_message *m,
		       struct raft_entry *entries, uint32_t max_entries)
{
	switch (m->type) {
	case RAFT_MSG_VOTE:
		m->vote.last_index = le_read_u64(c);
		m->vote.last_term = le_read_u64(c);
		m->vote.flags = le_read_u8(c);
		return 0;
	case RAFT_MSG_VOTE_RESP:
		m->vote_resp.granted = le_read_u8(c);
		m->vote_resp.prevote = le_read_u8(c);
		return 0;
	case RAFT_MSG_APPEND:
		return decode_append(c, m, entries, max_entries);
	case RAFT_MSG_APPEND_RESP:
		m->append_resp.success = le_read_u8(c);
		m->append_resp.index = le_read_u64(c);
		m->append_resp.last_index = le_read_u64(c);
		m->append_resp.conflict_term = le_read_u64(c);
		m->append_resp.conflict_index = le_read_u64(c);
		m->append_resp.seq = le_read_u64(c);
		return 0;
	case RAFT_MSG_SNAPSHOT:
		return decode_snapshot(c, m);
	case RAFT_MSG_SNAPSHOT_RESP:
		m->snapshot_resp.last_index = le_read_u64(c);
		m->snapshot_resp.offset = le_read_u64(c);
		m->snapshot_resp.rejected = le_read_u8(c);
		m->snapshot_resp.done = le_read_u8(c);
		return 0;
	case RAFT_MSG_TIMEOUT_NOW:
		return 0;
	default:
		return FR_INVALID;
	}
}

int fab_wire_decode_frame(const struct fab_wire_frame *f,
			  struct raft_message *out, struct raft_entry *entries,
			  uint32_t max_entries)
{
	struct le_cursor c = {f->payload, f->payload_len, false};
	uint64_t ignored;

	memset(out, 0, sizeof(*out));
	if (f->kind < RAFT_MSG_VOTE || f->kind >= RAFT_MSG_TYPE_NR)
		return FR_INVALID;
	out->type = f->kind;
	out->from = le_read_u32(&c);
	out->to = le_read_u32(&c);
	out->term = le_read_u64(&c);
	if (c.short_read)
		return FR_MALFORMED;
	if (!id_ok(out->from) || !id_ok(out->to) || out->from == out->to)
		return FR_MALFORMED;
	int rv = decode_body(&c, out, entries, max_entries);
	if (rv != 0)
		return rv;
	if (c.short_read || c.left != 0)
		return FR_MALFORMED;
	/* Same field rules as the encoder (entries were checked while read). */
	if (out->type != RAFT_MSG_APPEND)
		return message_check(out, &ignored);
	return 0;
}

int fab_wire_decode(const void *buf, size_t len, struct raft_message *out,
		    struct raft_entry *entries, uint32_t max_entries,
		    size_t *consumed)
{
	struct fab_wire_frame f;
	int rv = fab_wire_parse(buf, len, &f);

	*consumed = 0;
	if (rv != 0)
		return rv;
	if (f.kind >= RAFT_MSG_TYPE_NR) {
		*consumed = f.frame_len;
		return FR_INVALID;
	}
	rv = fab_wire_decode_frame(&f, out, entries, max_entries);
	if (rv == FR_INVALID)
		rv = FR_MALFORMED;
	if (rv == 0)
		*consumed = f.frame_len;
	return rv;
}
