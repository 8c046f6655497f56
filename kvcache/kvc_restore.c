/* kvc_restore.c — kvc_snapshot_load(): rebuild, validate, then swap in. */
#include <string.h>

#include "crc32c.h"
#include "heap.h"
#include "kvc_int.h"
#include "le.h"

/* The format is described in kvc_snapshot.c.  Nothing read is trusted: every
 * count is bounded by the loading instance's capacities, every ordinal and
 * id is checked, and duplicates are refused. */

struct reader {
	int (*read)(void *ctx, void *buf, size_t len); /* caller's */
	void *ctx;	  /* passed to read, borrowed */
	uint32_t crc;	  /* CRC32C of everything read so far */
	int err;	  /* first error; later reads yield zeros */
	unsigned version; /* of the snapshot: 1, 2 or 3 */
};

static void r_bytes(struct reader *r, void *p, size_t n)
{
	if (r->err == 0) {
		r->err = r->read(r->ctx, p, n);
	}
	if (r->err != 0) {
		memset(p, 0, n);
		return;
	}
	r->crc = fr_crc32c(r->crc, p, n);
}

static uint64_t r_int(struct reader *r, unsigned bytes)
{
	unsigned char b[8];
	r_bytes(r, b, bytes);
	return le_get_uint(b, bytes);
}

static int bad(struct reader *r, int err)
{
	if (r->err == 0) {
		r->err = err;
	}
	return r->err;
}

/* bad() for functions that return a count: 0. */
static uint64_t fail0(struct reader *r, int err)
{
	(void)bad(r, err);
	return 0;
}

/* Records are read in chunks of up to 64 KiB: one callback and one CRC
 * update per chunk, and the table slots of a whole chunk of blocks are
 * prefetched before the first insertion, so their cache misses overlap. */
#define CHUNK_BYTES 65536u
#define LOC_REC	    16u
static_assert(CHUNK_BYTES >= KVC__SNAP_GROUP_BYTES, "a group fits a chunk");

/* The next chunk of @left fixed-size records of @rec bytes: as many as
 * the buffer holds (CHUNK_BYTES), read into @buf; how many. */
static uint64_t r_chunk(struct reader *r, unsigned char *buf, uint64_t left,
			size_t rec)
{
	uint64_t c = left < CHUNK_BYTES / rec ? left : CHUNK_BYTES / rec;
	r_bytes(r, buf, c * rec);
	return c;
}

/* A section's element count; more than @max (what this state's tables
 * hold) fails the load with FR_NOSPACE, before anything is read into them.
 * 0 on error: the caller's loop then stops at once. */
static uint64_t r_count(struct reader *r, uint64_t max)
{
	uint64_t n = r_int(r, 4);
	if (n > max) {
		(void)bad(r, FR_NOSPACE);
		return 0;
	}
	return n;
}

static int load_nodes(struct kvc *k, struct reader *r)
{
	uint64_t n = r_count(r, k->o.nodes_max);
	for (uint32_t s = 0; s < n && r->err == 0; s++) {
		struct kvc__node *nd = &k->nodes[s];
		nd->id = (uint16_t)r_int(r, 2);
		nd->numa = (uint8_t)r_int(r, 1);
		uint64_t down = r_int(r, 1);
		nd->down = down != 0;
		nd->lease_expiry_ms = r_int(r, 8);
		nd->addr_len = (uint8_t)r_int(r, 1);
		if (nd->id == 0 || down > 1 || nd->addr_len == 0 ||
		    nd->addr_len > KVC_ADDR_BYTES_MAX ||
		    k->node_slot[nd->id] != 0) {
			return bad(r, FR_CORRUPT);
		}
		r_bytes(r, nd->addr, nd->addr_len);
		kvc__node_prefix(nd);
		for (unsigned t = 0; t < KVC__TIERS; t++) {
			uint64_t present = r_int(r, 1);
			nd->tier[t].cap = r_int(r, 8);
			nd->tier[t].present = present != 0;
			nd->tier[t].lru_head = KVC__NONE;
			nd->tier[t].lru_tail = KVC__NONE;
			if (present > 1 ||
			    (present == 0) != (nd->tier[t].cap == 0)) {
				return bad(r, FR_CORRUPT);
			}
		}
		k->node_slot[nd->id] = (uint16_t)(s + 1);
		k->nnodes++;
	}
	return r->err;
}

/* Namespaces: ordinal -> index in @ns_idx (namespaces_max entries).
 * Version 3 gives each its slot (kvc__ns_put()); versions 1 and 2 take
 * the first free ones. */
static int load_ns(struct kvc *k, struct reader *r, uint32_t *ns_idx,
		   uint32_t *nns, uint64_t version)
{
	uint64_t n = r_count(r, k->o.namespaces_max);
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		char name[KVC_NS_BYTES_MAX];
		uint64_t slot = version >= 3 ? r_int(r, 4) : 0;
		uint64_t len = r_int(r, 1);
		if (len == 0 || len > KVC_NS_BYTES_MAX) {
			return bad(r, FR_CORRUPT);
		}
		if (slot >= k->o.namespaces_max) {
			return bad(r, FR_NOSPACE);
		}
		r_bytes(r, name, len);
		if (kvc__ns_find(k, name, len) != KVC__NONE ||
		    (version >= 3 && k->ns[slot].refs != 0)) {
			return bad(r, FR_CORRUPT);
		}
		if (version >= 3) {
			kvc__ns_put(k, (uint32_t)slot, name, len);
			ns_idx[i] = (uint32_t)slot;
		} else {
			ns_idx[i] = kvc__ns_get(k, name, len);
		}
		/* Held until the end so an unused one is detectable. */
		kvc__ns_ref(k, ns_idx[i]);
	}
	*nns = (uint32_t)n;
	return r->err;
}

/* One block record, decoded (not yet checked against the state). */
struct brec {
	uint32_t ord;		 /* namespace ordinal */
	uint32_t tokens;	 /* tokens */
	uint32_t pins;		 /* pin count */
	uint64_t last_access_ms; /* LRU time */
	uint64_t pin_expiry_ms;	 /* pin lease */
	struct kvc__hash h;	 /* the block's hash */
	struct kvc__hash p;	 /* its parent, len 0 = root */
};

/* Decode the record at @q (@avail bytes left in its chunk) of snapshot
 * @version; returns its size, or 0 when it is malformed. */
static size_t brec_decode(unsigned version, const unsigned char *q,
			  size_t avail, struct brec *b)
{
	memset(&b->h, 0, sizeof(b->h));
	memset(&b->p, 0, sizeof(b->p));
	b->ord = le_get_u32(q);
	if (version == 1) {
		static const uint8_t zero[KVC__HASH_INLINE];
		memcpy(b->h.b, q + 4, KVC__HASH_INLINE);
		b->h.len = KVC__HASH_INLINE;
		memcpy(b->p.b, q + 20, KVC__HASH_INLINE);
		b->p.len = memcmp(b->p.b, zero, 16) == 0 ? 0 : KVC__HASH_INLINE;
		b->tokens = le_get_u32(q + 36);
		b->last_access_ms = le_get_u64(q + 40);
		b->pins = le_get_u32(q + 48);
		b->pin_expiry_ms = le_get_u64(q + 52);
		/* Version 1 refused all-zero hashes (the root marker). */
		return memcmp(b->h.b, zero, 16) == 0 ? 0 : KVC__SNAP_REC_V1;
	}
	if (avail < KVC__SNAP_REC_FIXED) {
		return 0;
	}
	b->h.len = q[4];
	b->p.len = q[5];
	size_t size = KVC__SNAP_REC_FIXED + b->h.len + b->p.len;
	if (b->h.len == 0 || b->h.len > KVC_HASH_BYTES_MAX ||
	    b->p.len > KVC_HASH_BYTES_MAX || size > avail) {
		return 0;
	}
	b->tokens = le_get_u32(q + 6);
	b->last_access_ms = le_get_u64(q + 10);
	b->pins = le_get_u32(q + 18);
	b->pin_expiry_ms = le_get_u64(q + 22);
	memcpy(b->h.b, q + KVC__SNAP_REC_FIXED, b->h.len);
	memcpy(b->p.b, q + KVC__SNAP_REC_FIXED + b->h.len, b->p.len);
	return size;
}

/* Read the next chunk of block records into @buf: version 1, fixed
 * records; version 2, one group.  Its byte count (0 on error). */
static size_t r_blocks_chunk(struct reader *r, unsigned char *buf,
			     uint64_t left)
{
	if (r->version == 1) {
		return (size_t)r_chunk(r, buf, left, KVC__SNAP_REC_V1) *
		       KVC__SNAP_REC_V1;
	}
	uint64_t n = r_int(r, 4);
	if (n == 0 || n > KVC__SNAP_GROUP_BYTES) {
		(void)bad(r, FR_CORRUPT);
		return 0;
	}
	r_bytes(r, buf, n);
	return r->err == 0 ? n : 0;
}

/* Insert the blocks of one chunk (@len bytes at @buf, @left of the
 * section still to come); returns how many, 0 on error.  First every
 * record is decoded and its table slot prefetched, then inserted. */
static uint64_t load_chunk(struct kvc *k, struct reader *r,
			   const uint32_t *ns_idx, uint32_t nns,
			   const unsigned char *buf, size_t len, uint64_t left)
{
	struct brec b;
	uint64_t c = 0;
	for (size_t off = 0; off < len; c++) {
		size_t sz = brec_decode(r->version, buf + off, len - off, &b);
		if (sz == 0 || b.ord >= nns || c == left) {
			return fail0(r, FR_CORRUPT);
		}
		kvc__block_prefetch(k, kvc__block_key(ns_idx[b.ord], &b.h));
		off += sz;
	}
	for (size_t off = 0; off < len;) {
		off += brec_decode(r->version, buf + off, len - off, &b);
		if (b.h.len == b.p.len && memcmp(b.h.b, b.p.b, 32) == 0) {
			return fail0(r, FR_CORRUPT);
		}
		if (kvc__hash_long(&b.h, &b.p) &&
		    k->nlong == k->o.long_hashes_max) {
			return fail0(r, FR_NOSPACE);
		}
		uint32_t i = kvc__block_insert(k, ns_idx[b.ord], &b.h, &b.p);
		if (i == KVC__NONE) {
			return fail0(r, FR_CORRUPT); /* duplicate */
		}
		struct kvc__block *blk = &k->blocks[i];
		blk->tokens = b.tokens;
		blk->last_access_ms = b.last_access_ms;
		blk->pins = b.pins;
		blk->pin_expiry_ms = b.pin_expiry_ms;
	}
	return c;
}

/* Blocks land at indices 0..n-1 of the fresh instance: ordinal = index. */
static int load_blocks(struct kvc *k, struct reader *r, const uint32_t *ns_idx,
		       uint32_t nns, unsigned char *buf)
{
	uint64_t n = r_count(r, k->o.blocks_max);
	for (uint64_t done = 0; done < n && r->err == 0;) {
		size_t len = r_blocks_chunk(r, buf, n - done);
		if (r->err != 0) {
			break;
		}
		done += load_chunk(k, r, ns_idx, nns, buf, len, n - done);
	}
	return r->err;
}

/* One tier's locations, in LRU order: the order must be by last access. */
static int load_tier(struct kvc *k, struct reader *r, uint32_t s, unsigned t,
		     unsigned char *buf)
{
	struct kvc__tier *tr = &k->nodes[s].tier[t];
	uint64_t n = r_count(r, k->o.locations_max - k->nlocs);
	uint64_t last = 0;
	if (n > 0 && k->nodes[s].down) {
		return bad(r, FR_CORRUPT); /* a reclaimed node holds nothing */
	}
	for (uint64_t done = 0; done < n && r->err == 0;) {
		uint64_t c = r_chunk(r, buf, n - done, LOC_REC);
		for (uint64_t i = 0; r->err == 0 && i < c; i++) {
			const unsigned char *rec = buf + i * LOC_REC;
			uint64_t b = le_get_u32(rec);
			uint64_t len = le_get_u32(rec + 12);
			if (b >= k->blocks_hw || len == 0 ||
			    len > tr->cap - tr->used ||
			    k->blocks[b].last_access_ms < last ||
			    kvc__loc_find(k, (uint32_t)b, (uint16_t)s,
					  (uint8_t)t) != KVC__NONE) {
				return bad(r, FR_CORRUPT);
			}
			last = k->blocks[b].last_access_ms;
			(void)kvc__loc_add(k, (uint32_t)b, (uint16_t)s,
					   (uint8_t)t, le_get_u64(rec + 4),
					   (uint32_t)len);
		}
		done += c;
	}
	return r->err;
}

static int load_res(struct kvc *k, struct reader *r, const uint32_t *ns_idx,
		    uint32_t nns)
{
	uint64_t n = r_count(r, k->o.reservations_max);
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		struct kvc__res res = {0};
		res.rid = r_int(r, 8);
		res.bytes = r_int(r, 8);
		res.expiry_ms = r_int(r, 8);
		uint64_t ord = r_int(r, 4);
		uint16_t id = (uint16_t)r_int(r, 2);
		uint64_t tier = r_int(r, 1);
		if (r->err != 0) {
			break;
		}
		uint32_t s = kvc__node_find(k, id);
		if (ord >= nns || s == KVC__NONE || tier >= KVC__TIERS ||
		    res.rid == 0 || res.rid >= k->next_rid || res.bytes == 0 ||
		    res.bytes > UINT32_MAX || k->nodes[s].down) {
			return bad(r, FR_CORRUPT);
		}
		const struct kvc__tier *tr = &k->nodes[s].tier[tier];
		if (!tr->present ||
		    res.bytes > tr->cap - tr->used - tr->reserved) {
			return bad(r, FR_CORRUPT);
		}
		res.ns = ns_idx[ord];
		res.node = (uint16_t)s;
		res.tier = (uint8_t)tier;
		if (kvc__res_insert(k, &res) != 0) {
			return bad(r, FR_CORRUPT);
		}
	}
	return r->err;
}

static int load_kv(struct kvc *k, struct reader *r)
{
	uint64_t n = r_count(r, k->o.kv_keys_max);
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		uint64_t klen = r_int(r, 4);
		if (klen > KVC_KEY_BYTES_MAX) {
			return bad(r, FR_CORRUPT);
		}
		char key[KVC_KEY_BYTES_MAX];
		r_bytes(r, key, klen);
		uint64_t vlen = r_int(r, 4);
		if (r->err != 0) {
			break;
		}
		if (vlen > KVC_VALUE_BYTES_MAX ||
		    kvc__kv_find(k, key, klen) != NULL) {
			return bad(r, FR_CORRUPT);
		}
		struct kvc__kv *e = fr_malloc(sizeof(*e) + klen + vlen);
		if (e == NULL) {
			return bad(r, FR_NOMEM);
		}
		e->hash = kvc__hash64(0x6b76u, key, klen);
		e->klen = (uint32_t)klen;
		e->vlen = (uint32_t)vlen;
		memcpy(e->data, key, klen);
		r_bytes(r, e->data + klen, vlen);
		(void)kvc__kv_insert(k, e);
	}
	return r->err;
}

#define EV_FIXED (8 + 1 + 1 + 2 + 4 + 8 + 8) /* before the hashes */

/* An event as the snapshot spells it, before it is packed into a record
 * (whose address shares the room of the hashes and the namespace). */
struct ev_wide {
	struct kvc__event e;	       /* header fields */
	struct kvc__hash hash;	       /* as read */
	struct kvc__hash parent;       /* as read */
	char text[KVC_ADDR_BYTES_MAX]; /* namespace or address */
};

/* Is @w (read from a snapshot) an event kvc_event.c could have made? */
static bool event_ok(const struct ev_wide *w, uint64_t prev_index)
{
	const struct kvc__event *e = &w->e;
	bool has_ns = e->type != KVC__EV_NODE_JOINED &&
		      e->type != KVC__EV_NODE_EXPIRED &&
		      e->type != KVC__EV_NODE_LEFT;
	bool has_node = e->type != KVC__EV_NS_CLEARED;
	bool has_hash = e->type == KVC__EV_STORED || e->type == KVC__EV_EVICTED;
	size_t text_max =
	    has_ns ? KVC_NS_BYTES_MAX
		   : (e->type == KVC__EV_NODE_JOINED ? KVC_ADDR_BYTES_MAX : 0);
	bool text_ok = text_max == 0
			   ? e->text_len == 0
			   : e->text_len > 0 && e->text_len <= text_max;
	return e->type > 0 && e->type < KVC__EV_TYPES && e->tier < KVC__TIERS &&
	       e->index >= prev_index && text_ok &&
	       (e->node != 0) == has_node && (w->hash.len != 0) == has_hash &&
	       (e->type == KVC__EV_STORED || w->parent.len == 0);
}

/* A hash: u8 length (0..32), then its bytes. */
static void r_hash(struct reader *r, struct kvc__hash *h)
{
	uint64_t len = r_int(r, 1);
	if (len > KVC_HASH_BYTES_MAX) {
		(void)bad(r, FR_CORRUPT);
		return;
	}
	h->len = (uint8_t)len;
	r_bytes(r, h->b, len);
}

/* One event record into @w (zeroed by the caller). */
static void r_event(struct reader *r, struct ev_wide *w)
{
	unsigned char rec[EV_FIXED];
	struct kvc__event *e = &w->e;
	r_bytes(r, rec, sizeof(rec));
	e->index = le_get_u64(rec);
	e->type = rec[8];
	e->tier = rec[9];
	e->node = (uint16_t)le_get_uint(rec + 10, 2);
	e->tokens = le_get_u32(rec + 12);
	e->a = le_get_u64(rec + 16);
	e->b = le_get_u64(rec + 24);
	r_hash(r, &w->hash);
	r_hash(r, &w->parent);
	uint64_t text_len = r_int(r, 1);
	if (text_len > KVC_ADDR_BYTES_MAX) {
		(void)bad(r, FR_CORRUPT); /* text holds 128 bytes */
		return;
	}
	e->text_len = (uint8_t)text_len;
	r_bytes(r, w->text, text_len);
}

/* @w (checked by event_ok()) as a record. */
static void ev_pack(struct ev_wide *w)
{
	struct kvc__event *e = &w->e;
	if (e->type == KVC__EV_NODE_JOINED) {
		memcpy(e->u.addr, w->text, e->text_len);
		return;
	}
	e->u.blk.hash = w->hash;
	e->u.blk.parent = w->parent;
	memcpy(e->u.blk.ns, w->text, e->text_len);
}

/* The event section (version 3): the newest events_max of those saved
 * are kept (the retention is this instance's option). */
static int load_events(struct kvc *k, struct reader *r)
{
	uint64_t next = r_int(r, 8);
	uint64_t index = r_int(r, 8);
	uint64_t n = r_int(r, 4);
	if (r->err == 0 &&
	    (next == 0 || n > next - 1 || n > KVC_EVENTS_MAX_MAX)) {
		return bad(r, FR_CORRUPT);
	}
	uint64_t keep = n < k->o.events_max ? n : k->o.events_max;
	uint64_t prev = 0;
	for (uint64_t i = 0; i < n && r->err == 0; i++) {
		struct ev_wide w = {0};
		r_event(r, &w);
		if (r->err == 0 && (!event_ok(&w, prev) || w.e.index > index)) {
			return bad(r, FR_CORRUPT);
		}
		prev = w.e.index;
		if (r->err == 0 && i >= n - keep) {
			ev_pack(&w);
			*kvc__ev_at(k, next - n + i) = w.e;
		}
	}
	k->ev_next = next;
	k->ev_count = keep;
	k->ev_index = index;
	return r->err;
}

static int load_body(struct kvc *k, struct reader *r, uint32_t *ns_idx,
		     unsigned char *buf, uint64_t version)
{
	uint32_t nns = 0;
	k->now_ms = r_int(r, 8);
	k->next_rid = r_int(r, 8);
	k->applied = r_int(r, 8);
	if (k->next_rid == 0) {
		return bad(r, FR_CORRUPT);
	}
	if (load_nodes(k, r) != 0 ||
	    load_ns(k, r, ns_idx, &nns, version) != 0 ||
	    load_blocks(k, r, ns_idx, nns, buf) != 0) {
		return r->err;
	}
	for (uint32_t s = 0; s < k->nnodes && r->err == 0; s++) {
		for (unsigned t = 0; t < KVC__TIERS; t++) {
			if (k->nodes[s].tier[t].present &&
			    load_tier(k, r, s, t, buf) != 0) {
				return r->err;
			}
		}
	}
	if (load_res(k, r, ns_idx, nns) != 0 || load_kv(k, r) != 0 ||
	    (version >= 3 && load_events(k, r) != 0)) {
		return r->err;
	}
	/* Invariant 3: every block got a location.  (1, 2 and 4 were checked
	 * as the locations and reservations went in.) */
	for (uint32_t b = 0; b < k->blocks_hw; b++) {
		if (k->blocks[b].loc == KVC__NONE) {
			return bad(r, FR_CORRUPT);
		}
	}
	/* Drop the load's own namespace references: each must be in use. */
	for (uint32_t i = 0; i < nns; i++) {
		if (k->ns[ns_idx[i]].refs < 2) {
			return bad(r, FR_CORRUPT);
		}
		kvc__ns_unref(k, ns_idx[i]);
	}
	return 0;
}

int kvc_snapshot_load(struct kvc *k,
		      int (*read)(void *ctx, void *buf, size_t len), void *ctx)
{
	struct kvc *n;
	int rv = kvc_open(&n, &k->o);
	if (rv != 0) {
		return rv;
	}
	uint32_t *ns_idx = fr_malloc((size_t)k->o.namespaces_max * 4);
	unsigned char *buf = fr_malloc(CHUNK_BYTES);
	if (ns_idx == NULL || buf == NULL) {
		fr_free(ns_idx);
		fr_free(buf);
		kvc_close(n);
		return FR_NOMEM;
	}
	struct reader r = {.read = read, .ctx = ctx};
	char magic[8];
	r_bytes(&r, magic, 8);
	uint64_t version = r_int(&r, 4);
	uint64_t flags = r_int(&r, 4);
	if (r.err == 0 && memcmp(magic, SNAP_MAGIC, 8) != 0) {
		bad(&r, FR_CORRUPT);
	} else if (r.err == 0 &&
		   (version == 0 || version > SNAP_VERSION || flags != 0)) {
		bad(&r, FR_UNSUPPORTED);
	}
	r.version = (unsigned)version;
	if (r.err == 0) {
		(void)load_body(n, &r, ns_idx, buf, version);
	}
	r_bytes(&r, magic, 8);
	uint32_t crc = r.crc;
	uint32_t stored = (uint32_t)r_int(&r, 4);
	if (r.err == 0 && (memcmp(magic, SNAP_END, 8) != 0 || crc != stored)) {
		bad(&r, FR_CORRUPT);
	}
	fr_free(buf);
	fr_free(ns_idx);
	if (r.err != 0) {
		kvc_close(n);
		return r.err;
	}
	kvc__sweep_recompute(n);
	struct kvc tmp = *k;
	*k = *n;
	*n = tmp;
	kvc_close(n);
	return 0;
}
