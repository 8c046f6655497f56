/* fab_ring.c — RMA receive ring: record layout, credit, reader validation. */
#include "fab_ring.h"

#include <assert.h>
#include <string.h>

#include "crc32c.h"
#include "fab_wire.h"
#include "le.h"

/* Record header offsets (fab_ring.h has the table). */
enum {
	OFF_MAGIC = 0,
	OFF_LEN = 4,
	OFF_TERM = 8,
	OFF_POS = 16,
	OFF_GEN = 24,
	OFF_CRC = 28,
	OFF_TAG = FAB_RING_TAG_OFF,
};

/* CQ data fields. */
#define CQ_OFF_BITS   28u
#define CQ_SIZE_BITS  28u
#define CQ_FIELD_MASK ((1u << 28) - 1u)

_Static_assert(OFF_CRC + 4 == OFF_TAG &&
		   OFF_TAG + FAB_RING_TAG_SIZE == FAB_RING_HDR_SIZE,
	       "record header layout");
_Static_assert(FAB_RING_CRC_PREFIX == FAB_WIRE_HDR_SIZE,
	       "the record CRC covers exactly the payload frame's header");
_Static_assert(FAB_RING_HDR_SIZE % FAB_RING_ALIGN == 0, "aligned header");
_Static_assert(FAB_RING_MAX_SIZE / FAB_RING_ALIGN <= (1u << CQ_OFF_BITS),
	       "every offset / 8 fits in the CQ data offset field");
_Static_assert(FAB_RING_MAX_SIZE / FAB_RING_ALIGN <= (1u << CQ_SIZE_BITS),
	       "every record size / 8 fits in the CQ data size field");

static int size_ok(uint64_t size)
{
	return size >= FAB_RING_MIN_SIZE && size <= FAB_RING_MAX_SIZE &&
	       (size & (size - 1)) == 0;
}

int fab_ring_desc_validate(const struct fab_ring_desc *d)
{
	return size_ok(d->size) ? 0 : FR_INVALID;
}

uint64_t fab_ring_record_size(uint32_t payload_len)
{
	uint64_t n = (uint64_t)FAB_RING_HDR_SIZE + payload_len;
	n = (n + FAB_RING_ALIGN - 1) & ~(uint64_t)(FAB_RING_ALIGN - 1);
	return n > FAB_RING_MAX_SIZE ? 0 : n;
}

uint64_t fab_ring_cq_pack(uint32_t offset, uint32_t rec_size,
			  uint32_t generation)
{
	assert(offset % FAB_RING_ALIGN == 0 && offset < FAB_RING_MAX_SIZE);
	assert(rec_size % FAB_RING_ALIGN == 0 && rec_size <= FAB_RING_MAX_SIZE);
	return (uint64_t)(offset / FAB_RING_ALIGN) |
	       (uint64_t)(rec_size / FAB_RING_ALIGN) << CQ_OFF_BITS |
	       (uint64_t)(generation & 0xffu) << (CQ_OFF_BITS + CQ_SIZE_BITS);
}

void fab_ring_cq_unpack(uint64_t cq_data, uint32_t *offset, uint32_t *rec_size,
			uint8_t *gen_low)
{
	*offset = (uint32_t)(cq_data & CQ_FIELD_MASK) * FAB_RING_ALIGN;
	*rec_size = (uint32_t)((cq_data >> CQ_OFF_BITS) & CQ_FIELD_MASK) *
		    FAB_RING_ALIGN;
	*gen_low = (uint8_t)(cq_data >> (CQ_OFF_BITS + CQ_SIZE_BITS));
}

/* Where a record of @rec bytes starts if the next free byte is at
 * cumulative position @pos: there, or at the next lap's offset 0 when it
 * would cross the end (the wrap rule both ends apply). */
static uint64_t place(uint64_t pos, uint64_t rec, uint32_t size)
{
	uint64_t off = pos & (size - 1);
	if (rec > size - off)
		return pos + (size - off);
	return pos;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */

int fab_ring_writer_init(struct fab_ring_writer *w,
			 const struct fab_ring_desc *d)
{
	if (fab_ring_desc_validate(d) != 0)
		return FR_INVALID;
	*w = (struct fab_ring_writer){.size = d->size,
				      .generation = d->generation};
	return 0;
}

uint64_t fab_ring_writer_free(const struct fab_ring_writer *w)
{
	assert(w->tail - w->consumed <= w->size);
	return w->size - (w->tail - w->consumed);
}

int fab_ring_writer_reserve(struct fab_ring_writer *w, uint32_t payload_len,
			    struct fab_ring_slot *slot)
{
	uint64_t rec = fab_ring_record_size(payload_len);

	if (rec == 0 || rec > w->size)
		return FR_TOOBIG;
	uint64_t start = place(w->tail, rec, w->size);
	uint64_t end = start + rec;
	if (end - w->consumed > w->size)
		return FR_AGAIN;
	w->tail = end;
	slot->offset = (uint32_t)(start & (w->size - 1));
	slot->rec_size = (uint32_t)rec;
	slot->payload_len = payload_len;
	slot->pos = start;
	slot->cq_data =
	    fab_ring_cq_pack(slot->offset, slot->rec_size, w->generation);
	return 0;
}

int fab_ring_writer_credit(struct fab_ring_writer *w, uint64_t consumed)
{
	if (consumed < w->consumed)
		return FR_STALE;
	if (consumed > w->tail)
		return FR_INVALID;
	w->consumed = consumed;
	return 0;
}

/* Header bytes 0..27, then the payload's self-checksummed header (format
 * 2, fab_ring.h). */
static uint32_t record_crc(const uint8_t *rec, const uint8_t *payload,
			   uint32_t len)
{
	uint32_t n = len < FAB_RING_CRC_PREFIX ? len : FAB_RING_CRC_PREFIX;

	return fr_crc32c(fr_crc32c(0, rec, OFF_CRC), payload, n);
}

void fab_ring_record_seal(void *rec, const struct fab_ring_slot *slot,
			  raft_term term, uint32_t generation)
{
	uint8_t *b = rec;
	uint64_t used = (uint64_t)FAB_RING_HDR_SIZE + slot->payload_len;

	assert(used <= slot->rec_size);
	le_put_u32(b + OFF_MAGIC, FAB_RING_MAGIC);
	le_put_u32(b + OFF_LEN, slot->payload_len);
	le_put_u64(b + OFF_TERM, term);
	le_put_u64(b + OFF_POS, slot->pos);
	le_put_u32(b + OFF_GEN, generation);
	le_put_u32(b + OFF_CRC,
		   record_crc(b, b + FAB_RING_HDR_SIZE, slot->payload_len));
	memset(b + OFF_TAG, 0, FAB_RING_TAG_SIZE); /* the transport's */
	memset(b + used, 0, slot->rec_size - used);
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */

int fab_ring_reader_init(struct fab_ring_reader *r, uint32_t size,
			 uint32_t generation)
{
	if (!size_ok(size))
		return FR_INVALID;
	*r = (struct fab_ring_reader){.size = size, .generation = generation};
	return 0;
}

void fab_ring_reader_reset(struct fab_ring_reader *r, uint32_t generation)
{
	assert(generation != r->generation);
	r->generation = generation;
	r->head = 0;
}

uint64_t fab_ring_reader_credit(const struct fab_ring_reader *r)
{
	return r->head;
}

/* Check the CQ data against the head: where the record must start, and
 * that it lies inside the ring.  Sets *@start to its cumulative position. */
static int check_cq(const struct fab_ring_reader *r, uint32_t offset,
		    uint32_t rec, uint64_t *start)
{
	if (rec < FAB_RING_HDR_SIZE || rec > r->size)
		return FR_MALFORMED;
	if (offset >= r->size || rec > r->size - offset)
		return FR_MALFORMED;
	/* The writer puts a record of this size at place(head); any other
	 * offset means a lost, duplicated, reordered or forged completion. */
	uint64_t expect = place(r->head, rec, r->size);
	if ((expect & (r->size - 1)) != offset)
		return FR_MALFORMED;
	*start = expect;
	return 0;
}

/* Validate the record at @b (rec bytes inside the ring) that should start
 * at cumulative position @start. */
static int check_record(const struct fab_ring_reader *r, const uint8_t *b,
			uint32_t rec, uint64_t start, struct fab_ring_rec *out)
{
	if (le_get_u32(b + OFF_MAGIC) != FAB_RING_MAGIC)
		return FR_CORRUPT;
	uint32_t len = le_get_u32(b + OFF_LEN);
	/* The payload length must give exactly the size the CQ data says. */
	if (len > rec - FAB_RING_HDR_SIZE || fab_ring_record_size(len) != rec)
		return FR_CORRUPT;
	if (record_crc(b, b + FAB_RING_HDR_SIZE, len) !=
	    le_get_u32(b + OFF_CRC))
		return FR_CORRUPT;
	/* Checksummed but from an older lap or registration. */
	if (le_get_u64(b + OFF_POS) != start)
		return FR_STALE;
	if (le_get_u32(b + OFF_GEN) != r->generation)
		return FR_STALE;
	raft_term term = le_get_u64(b + OFF_TERM);
	out->payload = b + FAB_RING_HDR_SIZE;
	out->len = len;
	out->term = term;
	out->pos = start;
	out->offset = (uint32_t)(start & (r->size - 1));
	return 0;
}

int fab_ring_reader_next(struct fab_ring_reader *r, const void *mem,
			 uint64_t cq_data, struct fab_ring_rec *out)
{
	uint32_t offset, rec;
	uint8_t gen_low;
	uint64_t start;

	memset(out, 0, sizeof(*out));
	fab_ring_cq_unpack(cq_data, &offset, &rec, &gen_low);
	if (gen_low != (uint8_t)r->generation) {
		/* A write aimed at an earlier registration: never counted
		 * against this generation's space, so the head stays. */
		r->stats.stale++;
		return FR_STALE;
	}
	if (check_cq(r, offset, rec, &start) != 0) {
		r->stats.bad_cq++;
		return FR_MALFORMED;
	}
	const uint8_t *b = (const uint8_t *)mem + offset;
	int rv = FR_AUTH;
	/* The MAC first, for the generation and position we expect: nothing
	 * the record says is read before it verifies. */
	if (r->verify == NULL ||
	    r->verify(r->verify_ctx, r->generation, start, b, rec))
		rv = check_record(r, b, rec, start, out);
	/* The writer counted this space whatever it holds: move past it so
	 * the next record lines up, but give the caller nothing. */
	r->head = start + rec;
	switch (rv) {
	case 0:
		r->stats.accepted++;
		break;
	case FR_STALE:
		r->stats.stale++;
		r->stats.skipped_bytes += rec;
		memset(out, 0, sizeof(*out));
		break;
	case FR_AUTH:
		r->stats.bad_mac++;
		r->stats.skipped_bytes += rec;
		memset(out, 0, sizeof(*out));
		break;
	default:
		assert(rv == FR_CORRUPT);
		r->stats.corrupt++;
		r->stats.skipped_bytes += rec;
		memset(out, 0, sizeof(*out));
		break;
	}
	return rv;
}
