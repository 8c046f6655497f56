/* test_fab_ring.c — RMA ring logic: wrap-around, credit, corrupt, stale and
 * hostile records, with the writer and reader sharing one memory block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fab_ring.h"
#include "fab_wire.h"

#define RING 4096u

/* The two ends of one ring, and the "remote" memory the writes land in. */
struct pair {
	struct fab_ring_writer w;
	struct fab_ring_reader r;
	uint8_t *mem;	  /* the follower's ring (exactly RING bytes) */
	uint8_t *staging; /* the leader's send buffer */
	uint64_t rng;
};

static uint32_t next_rand(struct pair *p)
{
	p->rng = p->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(p->rng >> 33);
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct fab_ring_desc d = {
	    .addr = 0, .key = 1, .size = RING, .generation = 3};
	assert_int_equal(fab_ring_writer_init(&p->w, &d), 0);
	assert_int_equal(fab_ring_reader_init(&p->r, RING, 3), 0);
	p->mem = calloc(1, RING);
	p->staging = calloc(1, RING);
	p->rng = 42;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;
	free(p->mem);
	free(p->staging);
	free(p);
	return 0;
}

/* Leader side: reserve, fill the payload with a pattern, seal, "RDMA
 * write" into the ring.  Returns the reserve result. */
static int write_rec(struct pair *p, uint32_t len, raft_term term, uint8_t fill,
		     struct fab_ring_slot *s)
{
	int rv = fab_ring_writer_reserve(&p->w, len, s);
	if (rv != 0)
		return rv;
	memset(p->staging + FAB_RING_HDR_SIZE, fill, len);
	fab_ring_record_seal(p->staging, s, term, p->w.generation);
	assert_true(s->offset + s->rec_size <= RING);
	memcpy(p->mem + s->offset, p->staging, s->rec_size);
	return 0;
}

static void limits_and_cq_packing(void **state)
{
	struct fab_ring_desc d = {.size = 3000};
	struct fab_ring_writer w;
	struct fab_ring_reader r;
	(void)state;

	assert_int_equal(fab_ring_desc_validate(&d), FR_INVALID);
	d.size = 2048;
	assert_int_equal(fab_ring_writer_init(&w, &d), FR_INVALID);
	assert_int_equal(fab_ring_reader_init(&r, 0, 0), FR_INVALID);
	assert_int_equal(fab_ring_reader_init(&r, FAB_RING_MAX_SIZE * 2u, 0),
			 FR_INVALID);
	assert_int_equal(fab_ring_reader_init(&r, FAB_RING_MAX_SIZE, 0), 0);
	assert_int_equal(fab_ring_record_size(0), 48);
	assert_int_equal(fab_ring_record_size(1), 56);
	assert_int_equal(fab_ring_record_size(8), 56);
	assert_int_equal(fab_ring_record_size(UINT32_MAX), 0);

	uint32_t off, sz;
	uint8_t g;
	uint64_t cq =
	    fab_ring_cq_pack(FAB_RING_MAX_SIZE - 8, FAB_RING_MAX_SIZE, 0x1ff);
	fab_ring_cq_unpack(cq, &off, &sz, &g);
	assert_int_equal(off, FAB_RING_MAX_SIZE - 8);
	assert_int_equal(sz, FAB_RING_MAX_SIZE);
	assert_int_equal(g, 0xff);
	cq = fab_ring_cq_pack(0, 32, 7);
	fab_ring_cq_unpack(cq, &off, &sz, &g);
	assert_int_equal(off, 0);
	assert_int_equal(sz, 32);
	assert_int_equal(g, 7);
}

static void wraps_many_times(void **state)
{
	struct pair *p = *state;
	struct fab_ring_slot s;
	struct fab_ring_rec rec;
	uint64_t wraps = 0;

	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t len = next_rand(p) % 700;
		uint8_t fill = (uint8_t)i;
		assert_int_equal(write_rec(p, len, 5, fill, &s), 0);
		if (s.offset == 0 && s.pos > 0)
			wraps++;
		int rv = fab_ring_reader_next(&p->r, p->mem, s.cq_data, &rec);
		assert_int_equal(rv, 0);
		assert_int_equal(rec.len, len);
		assert_int_equal(rec.term, 5);
		assert_int_equal(rec.pos, s.pos);
		for (uint32_t k = 0; k < len; k++)
			assert_int_equal(rec.payload[k], fill);
		assert_int_equal(fab_ring_writer_credit(
				     &p->w, fab_ring_reader_credit(&p->r)),
				 0);
		assert_int_equal(fab_ring_writer_free(&p->w), RING);
	}
	assert_true(wraps > 1000);
	assert_int_equal(p->r.stats.accepted, 20000);
	assert_int_equal(
	    p->r.stats.corrupt + p->r.stats.stale + p->r.stats.bad_cq, 0);
}

/* Several records in flight at once, credit returned in batches. */
static void pipelined_with_batched_credit(void **state)
{
	struct pair *p = *state;
	struct fab_ring_slot s[64];
	struct fab_ring_rec rec;
	uint64_t total = 0;

	for (int round = 0; round < 500; round++) {
		int n = 0;
		while (n < 64 && write_rec(p, next_rand(p) % 500, 9, (uint8_t)n,
					   &s[n]) == 0)
			n++;
		assert_true(n > 0);
		/* Everything written is unread: free space must not cover
		 * another record of the largest kind. */
		for (int i = 0; i < n; i++) {
			assert_int_equal(fab_ring_reader_next(
					     &p->r, p->mem, s[i].cq_data, &rec),
					 0);
			assert_int_equal(rec.len, s[i].payload_len);
			if (rec.len)
				assert_int_equal(rec.payload[0], (uint8_t)i);
		}
		total += (uint64_t)n;
		assert_int_equal(fab_ring_writer_credit(
				     &p->w, fab_ring_reader_credit(&p->r)),
				 0);
	}
	assert_int_equal(p->r.stats.accepted, total);
	assert_true(p->w.tail > 100ull * RING);
}

static void exhaustion_then_credit(void **state)
{
	struct pair *p = *state;
	struct fab_ring_slot s[32];
	struct fab_ring_rec rec;
	int n = 0;

	while (write_rec(p, 200, 1, 0xab, &s[n]) == 0)
		n++;
	/* 248-byte records: 16 fit in 4096 (3968 bytes). */
	assert_int_equal(n, 16);
	uint64_t tail = p->w.tail;
	assert_int_equal(write_rec(p, 200, 1, 0xab, &s[n]), FR_AGAIN);
	assert_int_equal(p->w.tail, tail); /* failed reserve changed nothing */
	assert_int_equal(write_rec(p, 130, 1, 0xab, &s[n]), FR_AGAIN);
	/* A smaller record still fits in the 128 free bytes. */
	assert_int_equal(write_rec(p, 64, 1, 0xab, &s[n]), 0);
	n++;
	/* 16 bytes are left at the end: a 248-byte record must wrap and
	 * needs 16 + 248 bytes of credit. */
	assert_int_equal(write_rec(p, 200, 1, 0xab, &s[n]), FR_AGAIN);

	/* Reading alone does not free space; credit does. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    fab_ring_reader_next(&p->r, p->mem, s[i].cq_data, &rec), 0);
	assert_int_equal(write_rec(p, 200, 1, 0xab, &s[n]), FR_AGAIN);
	assert_int_equal(
	    fab_ring_writer_credit(&p->w, fab_ring_reader_credit(&p->r)), 0);
	assert_int_equal(fab_ring_writer_free(&p->w), 16 + 3 * 248);
	assert_int_equal(write_rec(p, 200, 1, 0xcd, &s[n]), 0);
	assert_int_equal(s[n].offset, 0);
	assert_int_equal(fab_ring_writer_free(&p->w), 3 * 248 - 248);
	n++;
	for (int i = 3; i < n; i++)
		assert_int_equal(
		    fab_ring_reader_next(&p->r, p->mem, s[i].cq_data, &rec), 0);
	assert_int_equal(rec.payload[0], 0xcd);

	/* Credit that goes back or beyond the tail is refused. */
	assert_int_equal(fab_ring_writer_credit(&p->w, 1), FR_STALE);
	assert_int_equal(fab_ring_writer_credit(&p->w, p->w.tail + 8),
			 FR_INVALID);
	assert_int_equal(
	    fab_ring_writer_credit(&p->w, fab_ring_reader_credit(&p->r)), 0);
	assert_int_equal(fab_ring_writer_free(&p->w), RING);
	struct fab_ring_slot big;
	assert_int_equal(fab_ring_writer_reserve(&p->w, RING, &big), FR_TOOBIG);
	/* A whole-ring record would need the 3848-byte tail skipped too. */
	assert_int_equal(
	    fab_ring_writer_reserve(&p->w, RING - FAB_RING_HDR_SIZE, &big),
	    FR_AGAIN);
	/* Exactly the rest of the lap fits, without a skip. */
	assert_int_equal(fab_ring_writer_reserve(
			     &p->w, RING - 248 - FAB_RING_HDR_SIZE, &big),
			 0);
	assert_int_equal(big.offset, 248);
	assert_int_equal(fab_ring_writer_free(&p->w), 248);
}

static void corrupted_record_is_skipped(void **state)
{
	struct pair *p = *state;
	struct fab_ring_slot s[3];
	struct fab_ring_rec rec;

	for (int i = 0; i < 3; i++)
		assert_int_equal(write_rec(p, 100, 4, (uint8_t)i, &s[i]), 0);
	/* Payload byte 10 lies in the checksummed prefix (the frame header
	 * of a real APPEND). */
	p->mem[s[0].offset + FAB_RING_HDR_SIZE + 10] ^= 0x10;
	p->mem[s[1].offset + 9] ^= 0x01; /* term */
	assert_int_equal(
	    fab_ring_reader_next(&p->r, p->mem, s[0].cq_data, &rec),
	    FR_CORRUPT);
	assert_null(rec.payload);
	assert_int_equal(
	    fab_ring_reader_next(&p->r, p->mem, s[1].cq_data, &rec),
	    FR_CORRUPT);
	assert_int_equal(
	    fab_ring_reader_next(&p->r, p->mem, s[2].cq_data, &rec), 0);
	assert_int_equal(rec.payload[0], 2);
	assert_int_equal(p->r.stats.corrupt, 2);
	assert_int_equal(p->r.stats.accepted, 1);
	/* The skipped space is returned: nothing leaks. */
	assert_int_equal(
	    fab_ring_writer_credit(&p->w, fab_ring_reader_credit(&p->r)), 0);
	assert_int_equal(fab_ring_writer_free(&p->w), RING);
	/* Past the prefix the payload's own CRC (the frame's) is the check:
	 * the ring hands the record over and the transport's fab_wire_parse
	 * refuses it (fab_mp's reject scenario covers that end to end). */
	assert_int_equal(write_rec(p, 100, 4, 7, &s[0]), 0);
	p->mem[s[0].offset + FAB_RING_HDR_SIZE + FAB_RING_CRC_PREFIX] ^= 0x10;
	assert_int_equal(
	    fab_ring_reader_next(&p->r, p->mem, s[0].cq_data, &rec), 0);
	assert_int_equal(rec.payload[FAB_RING_CRC_PREFIX], 7 ^ 0x10);
	/* A bad magic too. */
	assert_int_equal(write_rec(p, 8, 4, 1, &s[0]), 0);
	p->mem[s[0].offset] ^= 0xff;
	assert_int_equal(
	    fab_ring_reader_next(&p->r, p->mem, s[0].cq_data, &rec),
	    FR_CORRUPT);
}

static void old_term_delivered_stale_generation_and_lap(void **state)
{
	struct pair *p = *state;
	struct fab_ring_slot s, old = {0};
	struct fab_ring_rec rec;
	/* A record of 24 payload bytes (a 48-byte header since ring format 3,
	 * padded): room to spare, checked below. */
	uint8_t old_bytes[128];

	/* Terms are not filtered: a record of an older term than the last
	 * one is handed over (Raft refuses it and answers with its newer
	 * term, which is how an old leader learns it was deposed). */
	assert_int_equal(write_rec(p, 16, 7, 1, &s), 0);
	assert_int_equal(fab_ring_reader_next(&p->r, p->mem, s.cq_data, &rec),
			 0);
	assert_int_equal(write_rec(p, 16, 6, 2, &s), 0);
	assert_int_equal(fab_ring_reader_next(&p->r, p->mem, s.cq_data, &rec),
			 0);
	assert_int_equal(rec.term, 6);
	assert_int_equal(p->r.stats.stale, 0);

	/* A record sealed with another generation whose low 8 bits match
	 * (3 + 256): the CQ data looks right, the header says stale. */
	assert_int_equal(fab_ring_writer_reserve(&p->w, 16, &s), 0);
	fab_ring_record_seal(p->staging, &s, 7, 3 + 256);
	memcpy(p->mem + s.offset, p->staging, s.rec_size);
	assert_int_equal(fab_ring_reader_next(&p->r, p->mem, s.cq_data, &rec),
			 FR_STALE);

	/* CQ data of another generation: stale, head unchanged. */
	uint64_t head = p->r.head;
	assert_int_equal(fab_ring_reader_next(&p->r, p->mem,
					      fab_ring_cq_pack(s.offset, 48, 4),
					      &rec),
			 FR_STALE);
	assert_int_equal(p->r.head, head);

	/* Replay of an old lap: keep the first record written at offset 0,
	 * go once around, and when the next record lands at offset 0 put the
	 * old (validly checksummed) bytes there instead. */
	int kept = 0;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(fab_ring_writer_credit(
				     &p->w, fab_ring_reader_credit(&p->r)),
				 0);
		assert_int_equal(write_rec(p, 24, 7, (uint8_t)i, &s), 0);
		if (s.offset == 0 && kept) {
			memcpy(p->mem, old_bytes, s.rec_size);
			break;
		}
		if (s.offset == 0) {
			assert_true(s.rec_size <= sizeof(old_bytes));
			memcpy(old_bytes, p->mem, s.rec_size);
			old = s;
			kept = 1;
		}
		assert_int_equal(
		    fab_ring_reader_next(&p->r, p->mem, s.cq_data, &rec), 0);
	}
	assert_true(kept && s.pos == old.pos + RING);
	uint64_t stale = p->r.stats.stale;
	assert_int_equal(fab_ring_reader_next(&p->r, p->mem, s.cq_data, &rec),
			 FR_STALE);
	assert_int_equal(p->r.stats.stale, stale + 1);

	/* After re-registration the reader starts over; old CQ data fails. */
	fab_ring_reader_reset(&p->r, 4);
	assert_int_equal(p->r.head, 0);
	assert_int_equal(fab_ring_reader_next(&p->r, p->mem, old.cq_data, &rec),
			 FR_STALE);
}

static void hostile_cq_data(void **state)
{
	struct pair *p = *state;
	struct fab_ring_slot s;
	struct fab_ring_rec rec;
	uint32_t g = 3;

	assert_int_equal(write_rec(p, 64, 1, 1, &s), 0);
	const uint64_t bad[] = {
	    fab_ring_cq_pack(8, 96, g),		     /* not at the head */
	    fab_ring_cq_pack(0, 0, g),		     /* empty record */
	    fab_ring_cq_pack(0, 16, g),		     /* smaller than hdr */
	    fab_ring_cq_pack(0, 8192, g),	     /* larger than ring */
	    fab_ring_cq_pack(4088, 96, g),	     /* past the end */
	    fab_ring_cq_pack(1u << 20, 96, g),	     /* offset past ring */
	    (uint64_t)3 << 56 | 0x00ffffffffffffull, /* all ones */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    fab_ring_reader_next(&p->r, p->mem, bad[i], &rec),
		    FR_MALFORMED);
		assert_int_equal(p->r.head, 0);
		assert_null(rec.payload);
	}
	assert_int_equal(p->r.stats.bad_cq, sizeof(bad) / sizeof(bad[0]));
	/* A size that disagrees with the header is corrupt. */
	assert_int_equal(fab_ring_reader_next(
			     &p->r, p->mem, fab_ring_cq_pack(0, 104, g), &rec),
			 FR_CORRUPT);

	/* Random CQ data over random memory never escapes the ring (ASan
	 * watches the exactly sized block) and never moves the head except
	 * past a whole record inside it. */
	for (uint32_t i = 0; i < RING; i++)
		p->mem[i] = (uint8_t)next_rand(p);
	for (int i = 0; i < 200000; i++) {
		uint64_t cq = (uint64_t)next_rand(p) << 32 | next_rand(p);
		if (i & 1)
			cq = (cq & ~(0xffull << 56)) | (uint64_t)g << 56;
		if (i & 2)
			cq &= ~(uint64_t)0x0ffffe00; /* small offsets */
		uint64_t head = p->r.head;
		int rv = fab_ring_reader_next(&p->r, p->mem, cq, &rec);
		assert_true(rv == FR_MALFORMED || rv == FR_STALE ||
			    rv == FR_CORRUPT);
		assert_true(p->r.head - head <= RING);
	}
}

/* The ring carries an encoded APPEND frame end to end. */
static void carries_append_frames(void **state)
{
	struct pair *p = *state;
	struct fab_ring_slot s;
	struct fab_ring_rec rec;
	uint8_t payload[300];
	struct raft_entry e = {.term = 2,
			       .index = 6,
			       .type = RAFT_ENTRY_NORMAL,
			       .len = sizeof(payload),
			       .buf = payload};
	struct raft_message m = {
	    .type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 2};
	struct raft_message out;
	struct raft_entry got[4];
	size_t len, consumed;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	m.append.prev_index = 5;
	m.append.prev_term = 1;
	m.append.n_entries = 1;
	m.append.entries = &e;
	for (int i = 0; i < 100; i++) {
		size_t size = fab_wire_encoded_size(&m);
		assert_int_equal(
		    fab_ring_writer_reserve(&p->w, (uint32_t)size, &s), 0);
		assert_int_equal(
		    fab_wire_encode(&m, p->staging + FAB_RING_HDR_SIZE,
				    RING - FAB_RING_HDR_SIZE, &len),
		    0);
		fab_ring_record_seal(p->staging, &s, m.term, p->w.generation);
		memcpy(p->mem + s.offset, p->staging, s.rec_size);
		assert_int_equal(
		    fab_ring_reader_next(&p->r, p->mem, s.cq_data, &rec), 0);
		assert_int_equal(fab_wire_decode(rec.payload, rec.len, &out,
						 got, 4, &consumed),
				 0);
		assert_int_equal(consumed, rec.len);
		assert_int_equal(out.term, rec.term);
		assert_int_equal(out.append.entries[0].index, 6);
		assert_memory_equal(out.append.entries[0].buf, payload,
				    sizeof(payload));
		assert_int_equal(fab_ring_writer_credit(
				     &p->w, fab_ring_reader_credit(&p->r)),
				 0);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(limits_and_cq_packing),
	    T(wraps_many_times),
	    T(pipelined_with_batched_credit),
	    T(exhaustion_then_credit),
	    T(corrupted_record_is_skipped),
	    T(old_term_delivered_stale_generation_and_lap),
	    T(hostile_cq_data),
	    T(carries_append_frames),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
