/* kvc_snapshot.c — streaming, versioned, checksummed snapshot and restore. */
#include <string.h>

#include "crc32c.h"
#include "heap.h"
#include "kvc_int.h"
#include "le.h"

/*
 * Format (little-endian; docs/kvcache.md has the table):
 *   "KVCSNAP1" u32 version=3 u32 flags=0
 *   u64 now_ms, u64 next_rid, u64 applied
 *   u32 nodes     x { u16 id, u8 numa, u8 down, u64 lease_expiry_ms,
 *                     u8 addr_len, addr, 4 x { u8 present, u64 cap } }
 *   u32 namespaces x { u8 len, name }
 *   u32 blocks, then groups until that many blocks are read:
 *     u32 group_bytes (1..65536), then whole records
 *     { u32 ns ordinal, u8 hash_len (1..32), u8 parent_len (0..32),
 *       u32 tokens, u64 last_access_ms, u32 pins, u64 pin_expiry_ms,
 *       hash, parent }                       (30 + hash_len + parent_len)
 *   (version 1, still loaded: u32 blocks x { u32 ns ordinal, hash[16],
 *    parent[16] (all zero = root), u32 tokens, u64 last_access_ms,
 *    u32 pins, u64 pin_expiry_ms }, 60 bytes each)
 *   for each node, for each present tier, in LRU order (least recent first):
 *     u32 count   x { u32 block ordinal, u64 offset, u32 len }
 *   u32 reservations x { u64 rid, u64 bytes, u64 expiry_ms, u32 ns ordinal,
 *                        u16 node id, u8 tier }
 *   u32 kv        x { u32 klen, key, u32 vlen, value }
 *   (version 3) u64 next event seq, u64 last applied log index,
 *   u32 events    x { u64 index, u8 type, u8 tier, u16 node, u32 tokens,
 *                     u64 a, u64 b, u8 hash_len, hash, u8 parent_len,
 *                     parent, u8 text_len, text }
 *                 (the kept events, oldest first)
 *   "KVCEND!!" u32 crc32c(everything before the crc)
 * Used and reserved bytes are not stored: restore recomputes them from the
 * locations and reservations.  Restore builds a complete new state, checks
 * every bound, the checksum and all invariants, and only then swaps it in.
 * Groups let the reader take variable-length records a chunk at a time
 * without reading past the section (the read callback has no short
 * reads).
 */

#define WBUF_BYTES 65536u

struct writer {
	int (*write)(void *ctx, const void *buf, size_t len); /* caller's */
	void *ctx;	    /* passed to write, borrowed */
	unsigned char *buf; /* [WBUF_BYTES] staging buffer, owned */
	size_t len;	    /* bytes staged in buf */
	uint32_t crc;	    /* CRC32C of everything flushed so far */
	int err;	    /* first error; later writes are skipped */
};

static void w_flush(struct writer *w)
{
	if (w->err == 0 && w->len > 0) {
		w->crc = fr_crc32c(w->crc, w->buf, w->len);
		w->err = w->write(w->ctx, w->buf, w->len);
	}
	w->len = 0;
}

static void w_bytes(struct writer *w, const void *p, size_t n)
{
	if (n <= WBUF_BYTES - w->len) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
		return;
	}
	const unsigned char *c = p;
	while (n > 0 && w->err == 0) {
		if (w->len == WBUF_BYTES) {
			w_flush(w);
		}
		size_t m = WBUF_BYTES - w->len < n ? WBUF_BYTES - w->len : n;
		memcpy(w->buf + w->len, c, m);
		w->len += m;
		c += m;
		n -= m;
	}
}

static void w_int(struct writer *w, uint64_t v, unsigned bytes)
{
	unsigned char b[8];
	(void)le_put_uint(b, v, bytes);
	w_bytes(w, b, bytes);
}

static void save_nodes(struct kvc *k, struct writer *w)
{
	w_int(w, k->nnodes, 4);
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		const struct kvc__node *n = &k->nodes[s];
		if (n->id == 0) {
			continue;
		}
		w_int(w, n->id, 2);
		w_int(w, n->numa, 1);
		w_int(w, n->down, 1);
		w_int(w, n->lease_expiry_ms, 8);
		w_int(w, n->addr_len, 1);
		w_bytes(w, n->addr, n->addr_len);
		for (unsigned t = 0; t < KVC__TIERS; t++) {
			w_int(w, n->tier[t].present, 1);
			w_int(w, n->tier[t].cap, 8);
		}
	}
}

/* The blocks section's groups are staged here before their length is
 * known. */
struct group {
	unsigned char buf[KVC__SNAP_GROUP_BYTES]; /* records */
	size_t len;				  /* bytes staged */
};

static void group_flush(struct writer *w, struct group *g)
{
	if (g->len > 0) {
		w_int(w, g->len, 4);
		w_bytes(w, g->buf, g->len);
		g->len = 0;
	}
}

static void save_block(const struct kvc *k, struct writer *w, struct group *g,
		       const struct kvc__block *blk, uint32_t ns_ord)
{
	struct kvc__hash h;
	struct kvc__hash p;
	kvc__block_hash(k, blk, &h);
	kvc__block_parent(k, blk, &p);
	if (g->len + KVC__SNAP_REC_MAX > sizeof(g->buf)) {
		group_flush(w, g);
	}
	unsigned char *rec = g->buf + g->len;
	unsigned char *q = le_put_uint(rec, ns_ord, 4);
	*q++ = h.len;
	*q++ = p.len;
	q = le_put_uint(q, blk->tokens, 4);
	q = le_put_uint(q, blk->last_access_ms, 8);
	q = le_put_uint(q, blk->pins, 4);
	q = le_put_uint(q, blk->pin_expiry_ms, 8);
	memcpy(q, h.b, h.len);
	memcpy(q + h.len, p.b, p.len);
	g->len += KVC__SNAP_REC_FIXED + h.len + p.len;
}

/* Namespaces and blocks get ordinals; ordinal arrays live in scratch. */
static void save_blocks(struct kvc *k, struct writer *w, uint32_t *ns_ord,
			uint32_t *blk_ord, struct group *g)
{
	uint32_t nn = 0;
	w_int(w, k->nns, 4);
	for (uint32_t i = 0; i < k->o.namespaces_max; i++) {
		if (k->ns[i].refs != 0) {
			ns_ord[i] = nn++;
			w_int(w, i, 4);
			w_int(w, k->ns[i].len, 1);
			w_bytes(w, k->ns[i].name, k->ns[i].len);
		}
	}
	uint32_t nb = 0;
	w_int(w, k->nblocks, 4);
	g->len = 0;
	for (uint32_t b = 0; b < k->blocks_hw; b++) {
		const struct kvc__block *blk = &k->blocks[b];
		if (blk->loc == KVC__NONE) {
			continue;
		}
		blk_ord[b] = nb++;
		save_block(k, w, g, blk, ns_ord[kvc__blk_ns(blk)]);
	}
	group_flush(w, g);
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		const struct kvc__node *n = &k->nodes[s];
		for (unsigned t = 0; n->id != 0 && t < KVC__TIERS; t++) {
			if (!n->tier[t].present) {
				continue;
			}
			w_int(w, n->tier[t].nlocs, 4);
			for (uint32_t l = n->tier[t].lru_head; l != KVC__NONE;
			     l = k->locs[l].lru_next) {
				unsigned char rec[16];
				unsigned char *p = le_put_uint(
				    rec, blk_ord[k->locs[l].block], 4);
				p = le_put_uint(p, k->locs[l].offset, 8);
				(void)le_put_uint(p, k->locs[l].len, 4);
				w_bytes(w, rec, sizeof(rec));
			}
		}
	}
}

static void save_rest(struct kvc *k, struct writer *w, const uint32_t *ns_ord)
{
	w_int(w, k->nres, 4);
	for (uint32_t i = 0; i < k->nres; i++) {
		const struct kvc__res *r = &k->res[i];
		w_int(w, r->rid, 8);
		w_int(w, r->bytes, 8);
		w_int(w, r->expiry_ms, 8);
		w_int(w, ns_ord[r->ns], 4);
		w_int(w, k->nodes[r->node].id, 2);
		w_int(w, r->tier, 1);
	}
	w_int(w, k->nkv, 4);
	for (uint32_t i = 0; i <= k->kvmask; i++) {
		const struct kvc__kv *e = k->kv[i];
		if (e != NULL) {
			w_int(w, e->klen, 4);
			w_bytes(w, e->data, e->klen);
			w_int(w, e->vlen, 4);
			w_bytes(w, e->data + e->klen, e->vlen);
		}
	}
}

static void save_events(struct kvc *k, struct writer *w)
{
	w_int(w, k->ev_next, 8);
	w_int(w, k->ev_index, 8);
	w_int(w, k->ev_count, 4);
	for (uint64_t s = k->ev_next - k->ev_count; s < k->ev_next; s++) {
		struct kvc__event *e = kvc__ev_at(k, s);
		unsigned char rec[8 + 1 + 1 + 2 + 4 + 8 + 8];
		unsigned char *p = le_put_uint(rec, e->index, 8);
		p = le_put_uint(p, e->type, 1);
		p = le_put_uint(p, e->tier, 1);
		p = le_put_uint(p, e->node, 2);
		p = le_put_uint(p, e->tokens, 4);
		p = le_put_uint(p, e->a, 8);
		p = le_put_uint(p, e->b, 8);
		assert(p == rec + sizeof(rec));
		w_bytes(w, rec, sizeof(rec));
		bool joined = e->type == KVC__EV_NODE_JOINED;
		bool has_hash =
		    e->type == KVC__EV_STORED || e->type == KVC__EV_EVICTED;
		bool has_parent = e->type == KVC__EV_STORED;
		w_int(w, has_hash ? e->u.blk.hash.len : 0, 1);
		w_bytes(w, e->u.blk.hash.b, has_hash ? e->u.blk.hash.len : 0);
		w_int(w, has_parent ? e->u.blk.parent.len : 0, 1);
		w_bytes(w, e->u.blk.parent.b,
			has_parent ? e->u.blk.parent.len : 0);
		w_int(w, e->text_len, 1);
		w_bytes(w, joined ? e->u.addr : e->u.blk.ns, e->text_len);
	}
}

int kvc_snapshot_save(struct kvc *k,
		      int (*write)(void *ctx, const void *buf, size_t len),
		      void *ctx)
{
	struct writer w = {.write = write, .ctx = ctx};
	w.buf = fr_malloc(WBUF_BYTES);
	uint32_t *ns_ord = fr_malloc((size_t)k->o.namespaces_max * 4);
	uint32_t *blk_ord = fr_malloc((size_t)k->blocks_hw * 4 + 4);
	struct group *g = fr_malloc(sizeof(*g));
	if (w.buf == NULL || ns_ord == NULL || blk_ord == NULL || g == NULL) {
		w.err = FR_NOMEM;
		goto out;
	}
	w_bytes(&w, SNAP_MAGIC, 8);
	w_int(&w, SNAP_VERSION, 4);
	w_int(&w, 0, 4);
	w_int(&w, k->now_ms, 8);
	w_int(&w, k->next_rid, 8);
	w_int(&w, k->applied, 8);
	save_nodes(k, &w);
	save_blocks(k, &w, ns_ord, blk_ord, g);
	save_rest(k, &w, ns_ord);
	save_events(k, &w);
	w_bytes(&w, SNAP_END, 8);
	w_flush(&w);
	if (w.err == 0) {
		unsigned char c[4];
		le_put_u32(c, w.crc);
		w.err = write(ctx, c, 4);
	}
out:
	fr_free(g);
	fr_free(blk_ord);
	fr_free(ns_ord);
	fr_free(w.buf);
	return w.err;
}
