/* test_fab_wire.c — frame codec: round trips, truncation, corruption, hostile
 * counts and lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"
#include "fab_wire.h"
#include "le.h"

/* APPEND payload offsets (docs/protocol.md), relative to the frame start. */
#define P(off)	 (FAB_WIRE_HDR_SIZE + (off))
#define APPEND_N P(48)
#define ENTRY0	 P(52)

static uint8_t data_a[] = "first entry";
static uint8_t data_b[] = "second, longer entry payload";

static struct raft_entry ents[3] = {
    {.term = 5,
     .index = 11,
     .type = RAFT_ENTRY_NORMAL,
     .len = 11,
     .buf = data_a},
    {.term = 5, .index = 12, .type = RAFT_ENTRY_NOOP, .len = 0, .buf = NULL},
    {.term = 6,
     .index = 13,
     .type = RAFT_ENTRY_NORMAL,
     .len = 28,
     .buf = data_b},
};

static void make_msgs(struct raft_message *m, size_t *n)
{
	size_t i = 0;
	memset(m, 0, 7 * sizeof(*m));

	m[i] = (struct raft_message){
	    .type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 7};
	m[i].vote.last_index = 42;
	m[i].vote.last_term = 6;
	m[i++].vote.flags = RAFT_VOTE_PREVOTE | RAFT_VOTE_TRANSFER;

	m[i] = (struct raft_message){
	    .type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 7};
	m[i].vote_resp.granted = 1;
	m[i++].vote_resp.prevote = 1;

	m[i] = (struct raft_message){
	    .type = RAFT_MSG_APPEND, .from = 1, .to = 3, .term = 6};
	m[i].append.prev_index = 10;
	m[i].append.prev_term = 4;
	m[i].append.commit = 9;
	m[i].append.seq = 0x1122334455667788ull;
	m[i].append.n_entries = 3;
	m[i++].append.entries = ents;

	m[i] = (struct raft_message){
	    .type = RAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = 6};
	m[i].append_resp.success = 0;
	m[i].append_resp.index = 10;
	m[i].append_resp.last_index = 8;
	m[i].append_resp.conflict_term = 3;
	m[i].append_resp.conflict_index = 7;
	m[i++].append_resp.seq = 99;

	m[i] = (struct raft_message){
	    .type = RAFT_MSG_SNAPSHOT, .from = 1, .to = 255, .term = 9};
	struct raft_snapshot_chunk *s = &m[i++].snapshot;
	s->last_index = 1000;
	s->last_term = 8;
	s->config.n = 3;
	s->config.servers[0] = (struct raft_server){1, RAFT_VOTER};
	s->config.servers[1] = (struct raft_server){255, RAFT_VOTER};
	s->config.servers[2] = (struct raft_server){7, RAFT_LEARNER};
	s->offset = 4096;
	s->total = 4096 + 28;
	s->done = 1;
	s->len = 28;
	s->data = data_b;

	m[i] = (struct raft_message){
	    .type = RAFT_MSG_SNAPSHOT_RESP, .from = 2, .to = 1, .term = 9};
	m[i].snapshot_resp.last_index = 1000;
	m[i].snapshot_resp.offset = 8192;
	m[i].snapshot_resp.rejected = 1;
	m[i++].snapshot_resp.done = 0;

	m[i++] = (struct raft_message){
	    .type = RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 9};
	*n = i;
}

static void assert_entry_eq(const struct raft_entry *a,
			    const struct raft_entry *b)
{
	assert_int_equal(a->term, b->term);
	assert_int_equal(a->index, b->index);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->len, b->len);
	if (a->len > 0)
		assert_memory_equal(a->buf, b->buf, a->len);
}

static void assert_msg_eq(const struct raft_message *a,
			  const struct raft_message *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->from, b->from);
	assert_int_equal(a->to, b->to);
	assert_int_equal(a->term, b->term);
	switch (a->type) {
	case RAFT_MSG_VOTE:
		assert_int_equal(a->vote.last_index, b->vote.last_index);
		assert_int_equal(a->vote.last_term, b->vote.last_term);
		assert_int_equal(a->vote.flags, b->vote.flags);
		break;
	case RAFT_MSG_VOTE_RESP:
		assert_int_equal(a->vote_resp.granted, b->vote_resp.granted);
		assert_int_equal(a->vote_resp.prevote, b->vote_resp.prevote);
		break;
	case RAFT_MSG_APPEND:
		assert_int_equal(a->append.prev_index, b->append.prev_index);
		assert_int_equal(a->append.prev_term, b->append.prev_term);
		assert_int_equal(a->append.commit, b->append.commit);
		assert_int_equal(a->append.seq, b->append.seq);
		assert_int_equal(a->append.n_entries, b->append.n_entries);
		for (uint32_t i = 0; i < a->append.n_entries; i++)
			assert_entry_eq(&a->append.entries[i],
					&b->append.entries[i]);
		break;
	case RAFT_MSG_APPEND_RESP:
		assert_memory_equal(&a->append_resp, &b->append_resp,
				    sizeof(a->append_resp));
		break;
	case RAFT_MSG_SNAPSHOT: {
		const struct raft_snapshot_chunk *x = &a->snapshot;
		const struct raft_snapshot_chunk *y = &b->snapshot;
		assert_int_equal(x->last_index, y->last_index);
		assert_int_equal(x->last_term, y->last_term);
		assert_int_equal(x->config.n, y->config.n);
		for (uint32_t i = 0; i < x->config.n; i++) {
			assert_int_equal(x->config.servers[i].id,
					 y->config.servers[i].id);
			assert_int_equal(x->config.servers[i].role,
					 y->config.servers[i].role);
		}
		assert_int_equal(x->offset, y->offset);
		assert_int_equal(x->total, y->total);
		assert_int_equal(x->done, y->done);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, x->len);
		break;
	}
	case RAFT_MSG_SNAPSHOT_RESP:
		assert_memory_equal(&a->snapshot_resp, &b->snapshot_resp,
				    sizeof(a->snapshot_resp));
		break;
	default:
		break;
	}
}

/* Encode @m into a fresh heap buffer (exactly sized, so ASan sees reads
 * past the end). */
static uint8_t *encode(const struct raft_message *m, size_t *len)
{
	size_t size = fab_wire_encoded_size(m);
	assert_true(size >= FAB_WIRE_HDR_SIZE + FAB_WIRE_MSG_HDR_SIZE);
	uint8_t *buf = malloc(size);
	assert_non_null(buf);
	assert_int_equal(fab_wire_encode(m, buf, size, len), 0);
	assert_int_equal(*len, size);
	return buf;
}

static void round_trip_every_type(void **state)
{
	struct raft_message m[7], out;
	struct raft_entry got[8];
	size_t n, len, consumed;
	(void)state;

	make_msgs(m, &n);
	assert_int_equal(n, RAFT_MSG_TYPE_NR - 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = encode(&m[i], &len);
		assert_int_equal(
		    fab_wire_decode(buf, len, &out, got, 8, &consumed), 0);
		assert_int_equal(consumed, len);
		assert_msg_eq(&m[i], &out);
		if (m[i].type == RAFT_MSG_APPEND) {
			/* Zero-copy: payloads point into the frame. */
			const uint8_t *p = out.append.entries[0].buf;
			assert_true(p > buf && p < buf + len);
		}
		free(buf);
	}
}

static void concatenated_frames(void **state)
{
	struct raft_message m[7], out;
	struct raft_entry got[8];
	uint8_t buf[4096];
	size_t n, off = 0, len, consumed;
	(void)state;

	make_msgs(m, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(
		    fab_wire_encode(&m[i], buf + off, sizeof(buf) - off, &len),
		    0);
		off += len;
	}
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(fab_wire_decode(buf + pos, off - pos, &out,
						 got, 8, &consumed),
				 0);
		assert_msg_eq(&m[i], &out);
		pos += consumed;
	}
	assert_int_equal(pos, off);
}

static void every_truncation_is_again(void **state)
{
	struct raft_message m[7], out;
	struct raft_entry got[8];
	size_t n, len, consumed;
	(void)state;

	make_msgs(m, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *full = encode(&m[i], &len);
		for (size_t cut = 0; cut < len; cut++) {
			/* Copy so ASan catches any read past the cut. */
			uint8_t *part = malloc(cut ? cut : 1);
			memcpy(part, full, cut);
			assert_int_equal(
			    fab_wire_decode(part, cut, &out, got, 8, &consumed),
			    FR_AGAIN);
			assert_int_equal(consumed, 0);
			free(part);
		}
		free(full);
	}
}

/* A hostile sender computes valid checksums: cut the payload at every
 * length, reseal, and the decoder must still refuse it. */
static void every_resealed_truncation_is_malformed(void **state)
{
	struct raft_message m[7], out;
	struct raft_entry got[8];
	size_t n, len, consumed;
	(void)state;

	make_msgs(m, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *full = encode(&m[i], &len);
		uint32_t plen = (uint32_t)(len - FAB_WIRE_HDR_SIZE);
		for (uint32_t cut = 0; cut < plen; cut++) {
			uint8_t *part = malloc(FAB_WIRE_HDR_SIZE + cut);
			memcpy(part, full, FAB_WIRE_HDR_SIZE + cut);
			assert_int_equal(fab_wire_seal(part, m[i].type, cut),
					 0);
			int rv = fab_wire_decode(part, FAB_WIRE_HDR_SIZE + cut,
						 &out, got, 8, &consumed);
			assert_int_equal(rv, FR_MALFORMED);
			free(part);
		}
		/* And one trailing byte too many. */
		uint8_t *more = calloc(1, len + 1);
		memcpy(more, full, len);
		assert_int_equal(fab_wire_seal(more, m[i].type, plen + 1), 0);
		assert_int_equal(
		    fab_wire_decode(more, len + 1, &out, got, 8, &consumed),
		    FR_MALFORMED);
		free(more);
		free(full);
	}
}

static void every_bit_flip_is_detected(void **state)
{
	struct raft_message m[7], out;
	struct raft_entry got[8];
	size_t n, len, consumed;
	(void)state;

	make_msgs(m, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = encode(&m[i], &len);
		for (size_t bit = 0; bit < len * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			int rv =
			    fab_wire_decode(buf, len, &out, got, 8, &consumed);
			/* The magic is checked first (MALFORMED); any other
			 * header flip, length included, fails the header CRC
			 * before the length is used (CORRUPT). */
			if (bit < 32)
				assert_int_equal(rv, FR_MALFORMED);
			else
				assert_int_equal(rv, FR_CORRUPT);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		assert_int_equal(
		    fab_wire_decode(buf, len, &out, got, 8, &consumed), 0);
		free(buf);
	}
}

/* Re-encode an APPEND frame after patching payload bytes. */
static int decode_patched(uint8_t *buf, size_t len, uint32_t max_entries)
{
	struct raft_message out;
	struct raft_entry got[8];
	size_t consumed;

	assert_int_equal(fab_wire_seal(buf, FAB_WIRE_APPEND,
				       (uint32_t)(len - FAB_WIRE_HDR_SIZE)),
			 0);
	return fab_wire_decode(buf, len, &out, got, max_entries, &consumed);
}

static void hostile_counts_and_lengths(void **state)
{
	struct raft_message m[7];
	size_t n, len;
	(void)state;

	make_msgs(m, &n);
	uint8_t *buf = encode(&m[2], &len);
	uint8_t *orig = malloc(len);
	memcpy(orig, buf, len);
#define RESET() memcpy(buf, orig, len)

	le_put_u32(buf + APPEND_N, 1u << 31);
	assert_int_equal(decode_patched(buf, len, 8), FR_TOOBIG);
	RESET();
	le_put_u32(buf + APPEND_N, RAFT_MAX_BATCH_ENTRIES);
	assert_int_equal(decode_patched(buf, len, RAFT_MAX_BATCH_ENTRIES),
			 FR_MALFORMED); /* far more entries than bytes */
	RESET();
	assert_int_equal(decode_patched(buf, len, 2), FR_TOOBIG);
	RESET();
	le_put_u32(buf + APPEND_N, 4); /* one more than present */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	le_put_u32(buf + ENTRY0 + 17, 1u << 31); /* entry len */
	assert_int_equal(decode_patched(buf, len, 8), FR_TOOBIG);
	RESET();
	le_put_u32(buf + ENTRY0 + 17, 12 + 21 + 0 + 21 + 28 + 1);
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	le_put_u64(buf + ENTRY0, 12); /* index not prev_index + 1 */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	le_put_u64(buf + ENTRY0 + 8, 7); /* entry term > message term */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	le_put_u64(buf + ENTRY0 + 8, 3); /* entry term < prev_term */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	buf[ENTRY0 + 16] = 9; /* unknown entry type */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	le_put_u64(buf + P(16), UINT64_MAX - 1); /* prev_index overflows */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	le_put_u32(buf + P(0), 0); /* from = 0 */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	le_put_u32(buf + P(4), 256); /* to out of range */
	assert_int_equal(decode_patched(buf, len, 8), FR_MALFORMED);
	RESET();
	assert_int_equal(decode_patched(buf, len, 8), 0);
#undef RESET
	free(orig);
	free(buf);
}

static void hostile_header(void **state)
{
	struct raft_message m[7], out;
	struct raft_entry got[8];
	size_t n, len, consumed;
	(void)state;

	make_msgs(m, &n);
	uint8_t *buf = encode(&m[0], &len);
	uint8_t hdr[FAB_WIRE_HDR_SIZE];
	memcpy(hdr, buf, sizeof(hdr));

	/* A length of 4 GiB - 1 with a valid header CRC. */
	le_put_u32(buf + 8, UINT32_MAX);
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	assert_int_equal(fab_wire_decode(buf, len, &out, got, 8, &consumed),
			 FR_TOOBIG);
	memcpy(buf, hdr, sizeof(hdr));
	/* A larger but legal length just waits for more bytes. */
	le_put_u32(buf + 8, 1000);
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	struct fab_wire_frame f;
	assert_int_equal(fab_wire_parse(buf, len, &f), FR_AGAIN);
	assert_int_equal(f.frame_len, FAB_WIRE_HDR_SIZE + 1000);
	memcpy(buf, hdr, sizeof(hdr));
	buf[4] = 2; /* version */
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	assert_int_equal(fab_wire_decode(buf, len, &out, got, 8, &consumed),
			 FR_UNSUPPORTED);
	memcpy(buf, hdr, sizeof(hdr));
	buf[5] = 8; /* unknown kind */
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	assert_int_equal(fab_wire_decode(buf, len, &out, got, 8, &consumed),
			 FR_MALFORMED);
	memcpy(buf, hdr, sizeof(hdr));
	buf[6] = 1; /* flags */
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	assert_int_equal(fab_wire_decode(buf, len, &out, got, 8, &consumed),
			 FR_MALFORMED);
	memcpy(buf, hdr, sizeof(hdr));
	buf[16] = 1; /* reserved */
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	assert_int_equal(fab_wire_decode(buf, len, &out, got, 8, &consumed),
			 FR_MALFORMED);
	memcpy(buf, hdr, sizeof(hdr));
	buf[5] = RAFT_MSG_VOTE_RESP; /* right checksums, wrong body size */
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	assert_int_equal(fab_wire_decode(buf, len, &out, got, 8, &consumed),
			 FR_MALFORMED);
	free(buf);
}

static void hostile_snapshot_and_flags(void **state)
{
	struct raft_message m[7], bad;
	uint8_t buf[512];
	size_t n, len;
	(void)state;

	make_msgs(m, &n);
	/* The encoder refuses what the decoder would refuse. */
	bad = m[4];
	bad.snapshot.config.servers[2].id = 1; /* duplicate id */
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);
	assert_int_equal(fab_wire_encoded_size(&bad), 0);
	bad = m[4];
	bad.snapshot.config.servers[0].role = 3;
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);
	bad = m[4];
	bad.snapshot.config.servers[0].role = RAFT_LEARNER;
	bad.snapshot.config.servers[1].role = RAFT_LEARNER; /* no voter */
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);
	bad = m[4];
	bad.snapshot.total = 4096 + 27; /* offset + len > total */
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);
	bad = m[4];
	bad.snapshot.total = 9000; /* done before the end */
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);
	bad = m[0];
	bad.vote.flags = 0x4;
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);
	bad = m[1];
	bad.vote_resp.granted = 3; /* 2 is a conditional grant */
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);
	bad = m[6];
	bad.type = RAFT_MSG_TYPE_NR;
	assert_int_equal(fab_wire_encode(&bad, buf, sizeof(buf), &len),
			 FR_INVALID);

	/* Patched on the wire: a config count of 33, then of 0. */
	assert_int_equal(fab_wire_encode(&m[4], buf, sizeof(buf), &len), 0);
	struct raft_message out;
	size_t consumed;
	buf[P(32)] = 33;
	assert_int_equal(fab_wire_seal(buf, FAB_WIRE_SNAPSHOT,
				       (uint32_t)(len - FAB_WIRE_HDR_SIZE)),
			 0);
	assert_int_equal(fab_wire_decode(buf, len, &out, NULL, 0, &consumed),
			 FR_MALFORMED);
	buf[P(32)] = 0;
	assert_int_equal(fab_wire_seal(buf, FAB_WIRE_SNAPSHOT,
				       (uint32_t)(len - FAB_WIRE_HDR_SIZE)),
			 0);
	assert_int_equal(fab_wire_decode(buf, len, &out, NULL, 0, &consumed),
			 FR_MALFORMED);
	buf[P(32)] = 3;
	buf[P(33 + 2)] = 1; /* second server id = first: duplicate */
	assert_int_equal(fab_wire_seal(buf, FAB_WIRE_SNAPSHOT,
				       (uint32_t)(len - FAB_WIRE_HDR_SIZE)),
			 0);
	assert_int_equal(fab_wire_decode(buf, len, &out, NULL, 0, &consumed),
			 FR_MALFORMED);
}

/* VOTE_RESP granted: 0, 1 and 2 (conditional, raft.h note 7) round-trip;
 * 3 and above, patched on the wire, are refused. */
static void vote_resp_granted_values(void **state)
{
	struct raft_message m = {
	    .type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 7};
	struct raft_message out;
	uint8_t buf[FAB_WIRE_HDR_SIZE + 64];
	size_t len, consumed;
	(void)state;

	for (uint8_t g = 0; g <= RAFT_GRANT_CONDITIONAL; g++) {
		m.vote_resp.granted = g;
		assert_int_equal(fab_wire_encode(&m, buf, sizeof(buf), &len),
				 0);
		assert_int_equal(
		    fab_wire_decode(buf, len, &out, NULL, 0, &consumed), 0);
		assert_int_equal(out.vote_resp.granted, g);
	}
	for (unsigned g = 3; g <= 255; g += 252) {
		buf[P(16)] = (uint8_t)g;
		assert_int_equal(
		    fab_wire_seal(buf, FAB_WIRE_VOTE_RESP,
				  (uint32_t)(len - FAB_WIRE_HDR_SIZE)),
		    0);
		assert_int_equal(
		    fab_wire_decode(buf, len, &out, NULL, 0, &consumed),
		    FR_MALFORMED);
	}
}

static void batch_of_64k(void **state)
{
	enum { N = 64, SZ = 1024 };
	struct raft_entry e[N];
	struct raft_entry got[N];
	uint8_t *payload = malloc(N * SZ);
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 3};
	struct raft_message out;
	size_t len, consumed;
	(void)state;

	for (size_t i = 0; i < N * SZ; i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	for (uint32_t i = 0; i < N; i++)
		e[i] = (struct raft_entry){.term = 3,
					   .index = 101 + i,
					   .type = RAFT_ENTRY_NORMAL,
					   .len = SZ,
					   .buf = payload + i * SZ};
	m.append.prev_index = 100;
	m.append.prev_term = 2;
	m.append.n_entries = N;
	m.append.entries = e;
	uint8_t *buf = encode(&m, &len);
	assert_true(len > 64 * 1024);
	assert_int_equal(fab_wire_decode(buf, len, &out, got, N, &consumed), 0);
	assert_msg_eq(&m, &out);
	/* The caller's array bounds the count. */
	assert_int_equal(fab_wire_decode(buf, len, &out, got, N - 1, &consumed),
			 FR_TOOBIG);
	/* One 64 KiB entry alone. */
	e[0].len = 64 * 1024;
	m.append.n_entries = 1;
	free(buf);
	buf = encode(&m, &len);
	assert_int_equal(fab_wire_decode(buf, len, &out, got, 1, &consumed), 0);
	assert_msg_eq(&m, &out);
	free(buf);
	free(payload);
}

static void encode_limits(void **state)
{
	struct raft_message m[7];
	uint8_t buf[64];
	size_t n, len;
	(void)state;

	make_msgs(m, &n);
	assert_int_equal(fab_wire_encode(&m[2], buf, sizeof(buf), &len),
			 FR_NOSPACE);
	assert_int_equal(len, fab_wire_encoded_size(&m[2]));
	struct raft_entry big = ents[0];
	big.len = RAFT_MAX_ENTRY_BYTES + 1;
	struct raft_message a = m[2];
	a.append.entries = &big;
	a.append.n_entries = 1;
	a.append.prev_index = 10;
	big.index = 11;
	assert_int_equal(fab_wire_encode(&a, buf, sizeof(buf), &len),
			 FR_TOOBIG);
	a.append.n_entries = RAFT_MAX_BATCH_ENTRIES + 1;
	assert_int_equal(fab_wire_encode(&a, buf, sizeof(buf), &len),
			 FR_TOOBIG);
}

static void transport_kinds_and_credit(void **state)
{
	struct fab_wire_credit c = {
	    .from = 3, .generation = 7, .consumed = 1ull << 40};
	struct fab_wire_credit d;
	struct fab_wire_frame f;
	struct raft_message out;
	uint8_t buf[FAB_WIRE_CREDIT_SIZE];
	size_t len, consumed;
	(void)state;

	assert_int_equal(fab_wire_credit_encode(&c, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, FAB_WIRE_CREDIT_SIZE);
	assert_int_equal(fab_wire_parse(buf, len, &f), 0);
	assert_int_equal(f.kind, FAB_WIRE_CREDIT);
	assert_int_equal(fab_wire_credit_decode(&f, &d), 0);
	assert_int_equal(d.from, 3);
	assert_int_equal(d.generation, 7);
	assert_int_equal(d.consumed, 1ull << 40);
	/* Not a Raft message: skippable, not decodable as one. */
	assert_int_equal(fab_wire_decode(buf, len, &out, NULL, 0, &consumed),
			 FR_INVALID);
	assert_int_equal(consumed, len);
	assert_int_equal(fab_wire_credit_encode(&c, buf, 10, &len), FR_NOSPACE);
	c.from = 0;
	assert_int_equal(fab_wire_credit_encode(&c, buf, sizeof(buf), &len),
			 FR_INVALID);
	assert_string_equal(fab_wire_kind_name(FAB_WIRE_CREDIT), "CREDIT");
	assert_string_equal(fab_wire_kind_name(200), "UNKNOWN");
	assert_false(fab_wire_kind_known(0));
	assert_false(fab_wire_kind_known(8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip_every_type),
	    cmocka_unit_test(concatenated_frames),
	    cmocka_unit_test(every_truncation_is_again),
	    cmocka_unit_test(every_resealed_truncation_is_malformed),
	    cmocka_unit_test(every_bit_flip_is_detected),
	    cmocka_unit_test(hostile_counts_and_lengths),
	    cmocka_unit_test(hostile_header),
	    cmocka_unit_test(hostile_snapshot_and_flags),
	    cmocka_unit_test(vote_resp_granted_values),
	    cmocka_unit_test(batch_of_64k),
	    cmocka_unit_test(encode_limits),
	    cmocka_unit_test(transport_kinds_and_credit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
