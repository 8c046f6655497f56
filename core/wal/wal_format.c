/* wal_format.c — encode and validate the wal's on-disk structures. */
#include "wal_format.h"

#include <assert.h>
#include <string.h>

#include "crc32c.h"
#include "err.h"
#include "le.h"

static_assert(WAL_SEG_HDR_USED <= WAL_SLOT_OFF &&
		  WAL_SLOT_OFF + WAL_SLOT_BYTES <= WAL_SEG_HDR_BYTES &&
		  WAL_SLOT_OFF % 512 == 0 && WAL_SLOT_USED <= WAL_SLOT_BYTES,
	      "segment header and tail slot fit the header block");

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

/*
 * The segment header, the meta file and the snapshot header all start
 * with magic(8) version(4) size(4) cluster(8) node(4) and end with the
 * crc32c of the bytes before it, at size - 4; @size bytes of @buf are
 * used, the rest of the @block bytes are zero.
 */
static void head_put(uint8_t *buf, size_t block, const char magic[8],
		     uint32_t size, uint64_t cluster_id, uint32_t node_id)
{
	memset(buf, 0, block);
	memcpy(buf, magic, 8);
	le_put_u32(buf + 8, WAL_FORMAT_VERSION);
	le_put_u32(buf + 12, size);
	le_put_u64(buf + 16, cluster_id);
	le_put_u32(buf + 24, node_id);
}

static void crc_put(uint8_t *buf, uint32_t size)
{
	le_put_u32(buf + size - 4, fr_crc32c(0, buf, size - 4));
}

/* The magic and the crc of head_put() and crc_put() match. */
static bool sealed(const uint8_t *buf, const char magic[8], uint32_t size)
{
	return memcmp(buf, magic, 8) == 0 &&
	       le_get_u32(buf + size - 4) == fr_crc32c(0, buf, size - 4);
}

/* Version and size are this build's. */
static bool current(const uint8_t *buf, uint32_t size)
{
	return le_get_u32(buf + 8) == WAL_FORMAT_VERSION &&
	       le_get_u32(buf + 12) == size;
}

/* Segment header block: magic(8) version(4) used(4) cluster(8) node(4)
 * pad(4) seg_no(8) first_index(8) alloc_bytes(8) base_batch(8) pad(4)
 * crc(4); then zeros, the tail slot sector at WAL_SLOT_OFF (zero when
 * encoded here: the writer fills it after the first batch), zeros. */
void wal__seg_hdr_encode(const struct wal_seg_hdr *h, uint8_t *buf)
{
	head_put(buf, WAL_SEG_HDR_BYTES, "FRWALSEG", WAL_SEG_HDR_USED,
		 h->cluster_id, h->node_id);
	le_put_u64(buf + 32, h->seg_no);
	le_put_u64(buf + 40, h->first_index);
	le_put_u64(buf + 48, h->alloc_bytes);
	le_put_u64(buf + 56, h->base_batch);
	crc_put(buf, WAL_SEG_HDR_USED);
}

int wal__seg_hdr_decode(struct wal_seg_hdr *h, const uint8_t *buf,
			const char **why)
{
	if (memcmp(buf, "FRWALSEG", 8) != 0) {
		*why = "bad segment magic";
		return FR_CORRUPT;
	}
	if (!sealed(buf, "FRWALSEG", WAL_SEG_HDR_USED)) {
		*why = "segment header checksum mismatch";
		return FR_CORRUPT;
	}
	if (!current(buf, WAL_SEG_HDR_USED)) {
		*why = "unknown segment format version";
		return FR_CORRUPT;
	}
	/* The slot sector is judged on its own (wal__slot_decode): a
	 * damaged slot costs its claim, not the segment. */
	if (!all_zero(buf + WAL_SEG_HDR_USED,
		      WAL_SLOT_OFF - WAL_SEG_HDR_USED) ||
	    !all_zero(buf + WAL_SLOT_OFF + WAL_SLOT_BYTES,
		      WAL_SEG_HDR_BYTES - WAL_SLOT_OFF - WAL_SLOT_BYTES) ||
	    le_get_u32(buf + 28) != 0 || le_get_u32(buf + 64) != 0) {
		*why = "segment header padding is not zero";
		return FR_CORRUPT;
	}
	h->cluster_id = le_get_u64(buf + 16);
	h->node_id = le_get_u32(buf + 24);
	h->seg_no = le_get_u64(buf + 32);
	h->first_index = le_get_u64(buf + 40);
	h->alloc_bytes = le_get_u64(buf + 48);
	h->base_batch = le_get_u64(buf + 56);
	if (h->first_index == 0 || h->alloc_bytes < 2 * WAL_BLOCK ||
	    h->alloc_bytes % WAL_BLOCK != 0) {
		*why = "segment header fields out of range";
		return FR_CORRUPT;
	}
	return 0;
}

/* Tail slot sector: magic(8) "FRWALSLT" index(8) term(8) batch(8) pad(4)
 * crc(4) of bytes 0..35; the rest of the sector is zero. */
static const char slot_magic[8] = {'F', 'R', 'W', 'A', 'L', 'S', 'L', 'T'};

void wal__slot_encode(const struct wal_slot *s, uint8_t *sector)
{
	memset(sector, 0, WAL_SLOT_BYTES);
	memcpy(sector, slot_magic, 8);
	le_put_u64(sector + 8, s->index);
	le_put_u64(sector + 16, s->term);
	le_put_u64(sector + 24, s->batch);
	crc_put(sector, WAL_SLOT_USED);
}

int wal__slot_decode(struct wal_slot *s, const uint8_t *blk,
		     const struct wal_seg_hdr *h, const char **why)
{
	const uint8_t *p = blk + WAL_SLOT_OFF;
	memset(s, 0, sizeof(*s));
	if (all_zero(p, WAL_SLOT_BYTES)) {
		return WAL_SLOT_EMPTY;
	}
	if (!sealed(p, slot_magic, WAL_SLOT_USED)) {
		*why = "tail slot magic or checksum mismatch";
		return WAL_SLOT_BAD;
	}
	if (le_get_u32(p + 32) != 0 ||
	    !all_zero(p + WAL_SLOT_USED, WAL_SLOT_BYTES - WAL_SLOT_USED)) {
		*why = "tail slot padding is not zero";
		return WAL_SLOT_BAD;
	}
	s->index = le_get_u64(p + 8);
	s->term = le_get_u64(p + 16);
	s->batch = le_get_u64(p + 24);
	/* Every entry record takes at least a record header. */
	uint64_t room =
	    (h->alloc_bytes - WAL_SEG_HDR_BYTES) / WAL_REC_HDR_BYTES;
	if (s->index < h->first_index || s->index - h->first_index >= room ||
	    s->term == 0 || s->batch <= h->base_batch) {
		*why = "tail slot claims an entry outside the segment";
		memset(s, 0, sizeof(*s));
		return WAL_SLOT_BAD;
	}
	return WAL_SLOT_OK;
}

/* Record header: hcrc(4) magic(4) index(8) term(8) batch(8) prev_batch(8)
 * len(4) pcrc(4) kind(1) type(1) flags(1) pad(1) pad(4); hcrc covers bytes
 * 4..55.  The payload follows, zero-padded to 8 bytes. */
void wal__rec_hdr_encode(const struct wal_rec_hdr *h, uint8_t *buf)
{
	le_put_u32(buf + 4, WAL_REC_MAGIC);
	le_put_u64(buf + 8, h->index);
	le_put_u64(buf + 16, h->term);
	le_put_u64(buf + 24, h->batch);
	le_put_u64(buf + 32, h->prev_batch);
	le_put_u32(buf + 40, h->len);
	le_put_u32(buf + 44, h->pcrc);
	buf[48] = h->kind;
	buf[49] = h->type;
	buf[50] = h->flags;
	buf[51] = 0;
	le_put_u32(buf + 52, 0);
	le_put_u32(buf, fr_crc32c(0, buf + 4, WAL_REC_HDR_BYTES - 4));
}

void wal__rec_hdr_stamp(uint8_t *buf, uint64_t batch, uint64_t prev_batch,
			bool last)
{
	le_put_u64(buf + 24, batch);
	le_put_u64(buf + 32, prev_batch);
	buf[50] = last ? WAL_REC_F_LAST : 0;
	le_put_u32(buf, fr_crc32c(0, buf + 4, WAL_REC_HDR_BYTES - 4));
}

uint32_t wal__rec_hdr_len(const uint8_t *buf)
{
	return le_get_u32(buf + 40);
}

bool wal__rec_hdr_plausible(struct wal_rec_hdr *h, const uint8_t *buf,
			    uint64_t avail)
{
	if (avail < WAL_REC_HDR_BYTES || le_get_u32(buf + 4) != WAL_REC_MAGIC ||
	    le_get_u32(buf) != fr_crc32c(0, buf + 4, WAL_REC_HDR_BYTES - 4)) {
		return false;
	}
	h->index = le_get_u64(buf + 8);
	h->term = le_get_u64(buf + 16);
	h->batch = le_get_u64(buf + 24);
	h->prev_batch = le_get_u64(buf + 32);
	h->len = le_get_u32(buf + 40);
	h->pcrc = le_get_u32(buf + 44);
	h->kind = buf[48];
	h->type = buf[49];
	h->flags = buf[50];
	return true;
}

static int rec_fields_check(const struct wal_rec_hdr *h, const uint8_t *buf,
			    const char **why)
{
	if (buf[51] != 0 || le_get_u32(buf + 52) != 0 ||
	    (h->flags & ~WAL_REC_F_LAST) != 0) {
		*why = "record reserved bits set";
		return WAL_REC_BAD;
	}
	if (h->batch == 0 || h->prev_batch >= h->batch) {
		*why = "record batch numbers out of order";
		return WAL_REC_BAD;
	}
	if (h->kind == WAL_REC_ENTRY) {
		if (h->type < RAFT_ENTRY_NORMAL ||
		    h->type > RAFT_ENTRY_CONFIG || h->index == 0 ||
		    h->term == 0 || h->len > RAFT_MAX_ENTRY_BYTES) {
			*why = "entry record fields out of range";
			return WAL_REC_BAD;
		}
	} else if (h->kind == WAL_REC_ROLL || h->kind == WAL_REC_CLOSE) {
		if (h->type != 0 || h->len != 0) {
			*why = "marker record with a payload";
			return WAL_REC_BAD;
		}
	} else {
		*why = "unknown record kind";
		return WAL_REC_BAD;
	}
	return WAL_REC_OK;
}

int wal__rec_decode(struct wal_rec_hdr *h, const uint8_t *buf, uint64_t avail,
		    const char **why)
{
	if (avail < WAL_REC_HDR_BYTES) {
		if (all_zero(buf, (size_t)avail)) {
			return WAL_REC_ZERO;
		}
		*why = "truncated record header";
		return WAL_REC_BAD;
	}
	if (!wal__rec_hdr_plausible(h, buf, avail)) {
		if (all_zero(buf, WAL_REC_HDR_BYTES)) {
			return WAL_REC_ZERO;
		}
		*why = "record header checksum mismatch";
		return WAL_REC_BAD;
	}
	int rv = rec_fields_check(h, buf, why);
	if (rv != WAL_REC_OK) {
		return rv;
	}
	uint64_t size = wal_rec_size(h->len);
	if (size > avail) {
		*why = "record extends past the end of the segment";
		return WAL_REC_BAD;
	}
	const uint8_t *payload = buf + WAL_REC_HDR_BYTES;
	if (fr_crc32c(0, payload, h->len) != h->pcrc) {
		*why = "record payload checksum mismatch";
		return WAL_REC_BAD;
	}
	if (!all_zero(payload + h->len,
		      (size_t)(size - WAL_REC_HDR_BYTES - h->len))) {
		*why = "record padding is not zero";
		return WAL_REC_BAD;
	}
	return WAL_REC_OK;
}

/* Meta, version 2 (96 bytes): magic(8) version(4) size(4) cluster(8)
 * node(4) vote(4) term(8) recover_index(8) durable_index(8)
 * durable_term(8) zero(28) crc(4).  Version 1 (64 bytes) ended after
 * term with zero(20) crc(4); it is read (the new fields 0) and replaced by
 * version 2 at the next save. */
void wal__meta_encode(const struct wal_meta *m, uint8_t *buf)
{
	head_put(buf, WAL_META_BYTES, "FRWALMET", WAL_META_BYTES, m->cluster_id,
		 m->node_id);
	le_put_u32(buf + 8, WAL_META_VERSION);
	le_put_u32(buf + 28, m->vote);
	le_put_u64(buf + 32, m->term);
	le_put_u64(buf + 40, m->recover_index);
	le_put_u64(buf + 48, m->durable_index);
	le_put_u64(buf + 56, m->durable_term);
	le_put_u64(buf + 64, m->recover_term);
	crc_put(buf, WAL_META_BYTES);
}

int wal__meta_decode(struct wal_meta *m, const uint8_t *buf, size_t len,
		     const char **why)
{
	bool v1 = len == WAL_META_V1_BYTES;
	uint32_t size = v1 ? WAL_META_V1_BYTES : WAL_META_BYTES;
	if (len != WAL_META_BYTES && !v1) {
		*why = "meta file has the wrong size";
		return FR_CORRUPT;
	}
	if (!sealed(buf, "FRWALMET", size)) {
		*why = "meta file checksum mismatch";
		return FR_CORRUPT;
	}
	uint32_t version = le_get_u32(buf + 8);
	bool v2 = !v1 && version == 2u;
	/* Zero padding: v1 from 40, v2 from 64, v3 from 72 to the crc. */
	size_t pad = v1 ? 40 : v2 ? 64 : 72;
	if (version != (v1   ? 1u
			: v2 ? 2u
			     : WAL_META_VERSION) ||
	    le_get_u32(buf + 12) != size ||
	    !all_zero(buf + pad, size - 4 - pad)) {
		*why = "unknown meta format version";
		return FR_CORRUPT;
	}
	memset(m, 0, sizeof(*m));
	m->cluster_id = le_get_u64(buf + 16);
	m->node_id = le_get_u32(buf + 24);
	m->vote = le_get_u32(buf + 28);
	m->term = le_get_u64(buf + 32);
	if (!v1) {
		m->recover_index = le_get_u64(buf + 40);
		m->durable_index = le_get_u64(buf + 48);
		m->durable_term = le_get_u64(buf + 56);
	}
	if (!v1 && !v2) {
		m->recover_term = le_get_u64(buf + 64);
	}
	if (m->node_id == 0 || m->node_id > RAFT_ID_MAX ||
	    m->vote > RAFT_ID_MAX) {
		*why = "meta fields out of range";
		return FR_CORRUPT;
	}
	return 0;
}

/* Snapshot header: magic(8) version(4) size(4) cluster(8) node(4) n(4)
 * index(8) term(8) servers 32 x {id(4) role(1) pad(3)} pad(4) crc(4). */
void wal__snap_hdr_encode(const struct wal_snap_hdr *h, uint8_t *buf)
{
	head_put(buf, WAL_SNAP_HDR_BYTES, "FRWALSNP", WAL_SNAP_HDR_BYTES,
		 h->cluster_id, h->node_id);
	le_put_u32(buf + 28, h->config.n);
	le_put_u64(buf + 32, h->index);
	le_put_u64(buf + 40, h->term);
	for (uint32_t i = 0; i < h->config.n && i < RAFT_MAX_SERVERS; i++) {
		le_put_u32(buf + 48 + 8 * i, h->config.servers[i].id);
		buf[48 + 8 * i + 4] = h->config.servers[i].role;
	}
	crc_put(buf, WAL_SNAP_HDR_BYTES);
}

static_assert(48 + 8 * RAFT_MAX_SERVERS + 8 == WAL_SNAP_HDR_BYTES,
	      "snapshot header layout");

int wal__snap_hdr_decode(struct wal_snap_hdr *h, const uint8_t *buf,
			 const char **why)
{
	if (!sealed(buf, "FRWALSNP", WAL_SNAP_HDR_BYTES)) {
		*why = "snapshot header checksum mismatch";
		return FR_CORRUPT;
	}
	if (!current(buf, WAL_SNAP_HDR_BYTES)) {
		*why = "unknown snapshot format version";
		return FR_CORRUPT;
	}
	memset(h, 0, sizeof(*h));
	h->cluster_id = le_get_u64(buf + 16);
	h->node_id = le_get_u32(buf + 24);
	h->config.n = le_get_u32(buf + 28);
	h->index = le_get_u64(buf + 32);
	h->term = le_get_u64(buf + 40);
	if (h->config.n > RAFT_MAX_SERVERS || h->index == 0 || h->term == 0) {
		*why = "snapshot header fields out of range";
		return FR_CORRUPT;
	}
	for (uint32_t i = 0; i < RAFT_MAX_SERVERS; i++) {
		const uint8_t *s = buf + 48 + 8 * i;
		uint32_t id = le_get_u32(s);
		if (i >= h->config.n) {
			if (!all_zero(s, 8)) {
				*why = "snapshot header padding is not zero";
				return FR_CORRUPT;
			}
			continue;
		}
		if (id == 0 || id > RAFT_ID_MAX || s[5] || s[6] || s[7] ||
		    (s[4] != RAFT_VOTER && s[4] != RAFT_LEARNER)) {
			*why = "snapshot configuration out of range";
			return FR_CORRUPT;
		}
		h->config.servers[i].id = id;
		h->config.servers[i].role = s[4];
	}
	return 0;
}

/* Snapshot trailer: magic(8) data_len(8) data_crc(4) zero(4) zero(4)
 * crc(4). */
void wal__snap_trailer_encode(const struct wal_snap_trailer *t, uint8_t *buf)
{
	memset(buf, 0, WAL_SNAP_TRAILER_BYTES);
	memcpy(buf, "FRSNPEND", 8);
	le_put_u64(buf + 8, t->data_len);
	le_put_u32(buf + 16, t->data_crc);
	le_put_u32(buf + 28, fr_crc32c(0, buf, 28));
}

int wal__snap_trailer_decode(struct wal_snap_trailer *t, const uint8_t *buf,
			     const char **why)
{
	if (memcmp(buf, "FRSNPEND", 8) != 0 ||
	    le_get_u32(buf + 28) != fr_crc32c(0, buf, 28) ||
	    !all_zero(buf + 20, 8)) {
		*why = "snapshot trailer checksum mismatch";
		return FR_CORRUPT;
	}
	t->data_len = le_get_u64(buf + 8);
	t->data_crc = le_get_u32(buf + 16);
	return 0;
}

bool wal__parse_hex16(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;
		if (d < 0) {
			return false;
		}
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return true;
}
