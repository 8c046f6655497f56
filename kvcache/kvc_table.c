/* kvc_table.c — the block hash table, block and location pools, LRU lists. */
#include <string.h>

#include "kvc_int.h"

/*
 * Blocks live in a preallocated array; the table maps (namespace, hash) to
 * an index with open addressing and linear probing.  A slot holds
 * tag << 32 | (index + 1) where tag is the upper half of the key's hash; the
 * slot's home position is tag & mask, so deletion can shift entries back
 * (no tombstones) without touching the blocks, and a probe compares a block
 * only when the 32-bit tag matches.  The table has at least twice as many
 * slots as blocks_max, so it is never more than half full.
 *
 * Locations live in a second array.  Each is on its block's list (sorted by
 * node id, then tier) and on its tier's LRU list (least recent at the head).
 * Free blocks and locations are chained through .tokens and .next; free
 * long-hash pool entries through their first four bytes.
 */

uint32_t kvc__block_find(const struct kvc *k, uint32_t ns,
			 const struct kvc__hash *h)
{
	return kvc__block_find_key(k, kvc__block_key(ns, h), ns, h);
}

void kvc__block_hash(const struct kvc *k, const struct kvc__block *b,
		     struct kvc__hash *out)
{
	memset(out, 0, sizeof(*out));
	out->len = (uint8_t)kvc__blk_hlen(b);
	memcpy(out->b, b->hash, KVC__HASH_INLINE);
	if (out->len > KVC__HASH_INLINE) {
		memcpy(out->b + KVC__HASH_INLINE,
		       k->ext[kvc__blk_ext(b)].hash_tail,
		       sizeof(k->ext[0].hash_tail));
	}
}

void kvc__block_parent(const struct kvc *k, const struct kvc__block *b,
		       struct kvc__hash *out)
{
	memset(out, 0, sizeof(*out));
	out->len = (uint8_t)kvc__blk_plen(b);
	if (!kvc__blk_long(b)) {
		memcpy(out->b, b->parent, KVC__HASH_INLINE);
		return;
	}
	memcpy(out->b, b->parent, 12);
	memcpy(out->b + 12, k->ext[kvc__blk_ext(b)].parent_tail,
	       sizeof(k->ext[0].parent_tail));
}

/* Fill fresh block @b: identity, parent (and a pool entry when long). */
static void block_fill(struct kvc *k, uint32_t b, uint32_t ns,
		       const struct kvc__hash *h, const struct kvc__hash *p)
{
	struct kvc__block *blk = &k->blocks[b];
	memset(blk, 0, sizeof(*blk));
	memcpy(blk->hash, h->b, KVC__HASH_INLINE);
	blk->nsw = ns | (uint32_t)h->len << KVC__NS_BITS |
		   (uint32_t)p->len << (KVC__NS_BITS + 6);
	blk->loc = KVC__NONE;
	if (!kvc__hash_long(h, p)) {
		memcpy(blk->parent, p->b, KVC__HASH_INLINE);
		return;
	}
	assert(k->nlong < k->o.long_hashes_max);
	uint32_t e;
	if (k->ext_free != KVC__NONE) {
		e = k->ext_free;
		memcpy(&k->ext_free, k->ext[e].hash_tail, 4);
	} else {
		e = k->ext_hw++;
	}
	k->nlong++;
	memcpy(blk->parent, p->b, 12);
	memcpy(blk->parent + 12, &e, 4);
	memcpy(k->ext[e].hash_tail, h->b + KVC__HASH_INLINE,
	       sizeof(k->ext[e].hash_tail));
	memcpy(k->ext[e].parent_tail, p->b + 12, sizeof(k->ext[e].parent_tail));
}

static void block_link(struct kvc *k, uint32_t b, uint32_t ns, uint32_t slot,
		       uint32_t tag)
{
	k->btab[slot] = (uint64_t)tag << 32 | (b + 1);
	k->nblocks++;
	k->ns[ns].blocks++;
	kvc__ns_ref(k, ns);
}

uint32_t kvc__block_new(struct kvc *k, uint32_t ns, const struct kvc__hash *h,
			const struct kvc__hash *parent)
{
	assert(k->nblocks < k->o.blocks_max);
	assert(kvc__block_find(k, ns, h) == KVC__NONE);
	uint32_t b;
	if (k->blocks_free != KVC__NONE) {
		b = k->blocks_free;
		k->blocks_free = k->blocks[b].tokens;
	} else {
		assert(k->blocks_hw < k->o.blocks_max);
		b = k->blocks_hw++;
	}
	block_fill(k, b, ns, h, parent);
	uint32_t tag = kvc__tag_of(kvc__block_key(ns, h));
	uint32_t i = tag & k->bmask;
	while (k->btab[i] != 0) {
		i = (i + 1) & k->bmask;
	}
	block_link(k, b, ns, i, tag);
	return b;
}

/* Insert a new block unless (ns, h) exists: one probe sequence does both.
 * Returns the new index, or KVC__NONE for a duplicate.  Precondition (as
 * well): no block was ever freed (restore fills a fresh table: the new
 * block takes the next unused index). */
uint32_t kvc__block_insert(struct kvc *k, uint32_t ns,
			   const struct kvc__hash *h,
			   const struct kvc__hash *parent)
{
	assert(k->nblocks < k->o.blocks_max && k->blocks_free == KVC__NONE);
	uint32_t tag = kvc__tag_of(kvc__block_key(ns, h));
	uint32_t i = tag & k->bmask;
	for (; k->btab[i] != 0; i = (i + 1) & k->bmask) {
		if ((uint32_t)(k->btab[i] >> 32) == tag &&
		    kvc__block_is(k, &k->blocks[(uint32_t)k->btab[i] - 1], ns,
				  h)) {
			return KVC__NONE;
		}
	}
	uint32_t b = k->blocks_hw++;
	block_fill(k, b, ns, h, parent);
	block_link(k, b, ns, i, tag);
	return b;
}

static uint32_t btab_home(const void *ctx, const void *slot)
{
	(void)ctx;
	return (uint32_t)(*(const uint64_t *)slot >> 32);
}

static void table_remove(struct kvc *k, uint32_t b)
{
	const struct kvc__block *blk = &k->blocks[b];
	struct kvc__hash h;
	kvc__block_hash(k, blk, &h);
	uint32_t i =
	    kvc__tag_of(kvc__block_key(kvc__blk_ns(blk), &h)) & k->bmask;
	while ((uint32_t)k->btab[i] != b + 1) {
		assert(k->btab[i] != 0);
		i = (i + 1) & k->bmask;
	}
	const struct kvc__probe p = {k->btab, sizeof(k->btab[0]), k->bmask,
				     NULL, btab_home};
	kvc__probe_delete(&p, i);
}

static void lru_unlink(struct kvc *k, uint32_t l)
{
	struct kvc__loc *loc = &k->locs[l];
	struct kvc__tier *t = &k->nodes[loc->node].tier[loc->tier];
	if (loc->lru_prev != KVC__NONE) {
		k->locs[loc->lru_prev].lru_next = loc->lru_next;
	} else {
		t->lru_head = loc->lru_next;
	}
	if (loc->lru_next != KVC__NONE) {
		k->locs[loc->lru_next].lru_prev = loc->lru_prev;
	} else {
		t->lru_tail = loc->lru_prev;
	}
	loc->lru_prev = KVC__NONE;
	loc->lru_next = KVC__NONE;
}

static void lru_append(struct kvc *k, uint32_t l)
{
	struct kvc__loc *loc = &k->locs[l];
	struct kvc__tier *t = &k->nodes[loc->node].tier[loc->tier];
	loc->lru_next = KVC__NONE;
	loc->lru_prev = t->lru_tail;
	if (t->lru_tail != KVC__NONE) {
		k->locs[t->lru_tail].lru_next = l;
	} else {
		t->lru_head = l;
	}
	t->lru_tail = l;
}

/* Delete block @b and all its locations. */
void kvc__block_delete(struct kvc *k, uint32_t b)
{
	struct kvc__block *blk = &k->blocks[b];
	while (blk->loc != KVC__NONE) {
		uint32_t l = blk->loc;
		struct kvc__loc *loc = &k->locs[l];
		struct kvc__tier *t = &k->nodes[loc->node].tier[loc->tier];
		lru_unlink(k, l);
		t->used -= loc->len;
		t->nlocs--;
		blk->loc = loc->next;
		loc->next = k->locs_free;
		k->locs_free = l;
		k->nlocs--;
	}
	table_remove(k, b);
	if (kvc__blk_long(blk)) {
		uint32_t e = kvc__blk_ext(blk);
		memcpy(k->ext[e].hash_tail, &k->ext_free, 4);
		k->ext_free = e;
		k->nlong--;
	}
	uint32_t ns = kvc__blk_ns(blk);
	k->ns[ns].blocks--;
	kvc__ns_unref(k, ns);
	blk->tokens = k->blocks_free;
	k->blocks_free = b;
	k->nblocks--;
}

uint32_t kvc__loc_find(const struct kvc *k, uint32_t b, uint16_t node,
		       uint8_t tier)
{
	for (uint32_t l = k->blocks[b].loc; l != KVC__NONE;
	     l = k->locs[l].next) {
		if (k->locs[l].node == node && k->locs[l].tier == tier) {
			return l;
		}
	}
	return KVC__NONE;
}

static bool loc_before(const struct kvc *k, const struct kvc__loc *a,
		       uint16_t node, uint8_t tier)
{
	uint16_t aid = k->nodes[a->node].id;
	uint16_t bid = k->nodes[node].id;
	return aid < bid || (aid == bid && a->tier < tier);
}

/* Precondition: no location of @b on (node, tier); nlocs < locations_max;
 * the tier has room (used + len <= cap: a reservation being committed is
 * still counted in reserved here, but its bytes are within cap).  The
 * location joins its tier's LRU tail. */
uint32_t kvc__loc_add(struct kvc *k, uint32_t b, uint16_t node, uint8_t tier,
		      uint64_t offset, uint32_t len)
{
	const struct kvc__tier *tr = &k->nodes[node].tier[tier];
	assert(kvc__loc_find(k, b, node, tier) == KVC__NONE);
	assert(k->nlocs < k->o.locations_max);
	assert(tr->used <= tr->cap && len <= tr->cap - tr->used);
	uint32_t l;
	if (k->locs_free != KVC__NONE) {
		l = k->locs_free;
		k->locs_free = k->locs[l].next;
	} else {
		assert(k->locs_hw < k->o.locations_max);
		l = k->locs_hw++;
	}
	struct kvc__loc *loc = &k->locs[l];
	memset(loc, 0, sizeof(*loc));
	loc->offset = offset;
	loc->len = len;
	loc->block = b;
	loc->node = node;
	loc->tier = tier;
	uint32_t *link = &k->blocks[b].loc;
	while (*link != KVC__NONE &&
	       loc_before(k, &k->locs[*link], node, tier)) {
		link = &k->locs[*link].next;
	}
	loc->next = *link;
	*link = l;
	lru_append(k, l);
	struct kvc__tier *t = &k->nodes[node].tier[tier];
	t->used += len;
	t->nlocs++;
	k->nlocs++;
	return l;
}

/* Remove location @l; its block goes too when it was the last one. */
void kvc__loc_remove(struct kvc *k, uint32_t l)
{
	struct kvc__loc *loc = &k->locs[l];
	uint32_t b = loc->block;
	uint32_t *link = &k->blocks[b].loc;
	while (*link != l) {
		link = &k->locs[*link].next;
	}
	*link = loc->next;
	if (k->blocks[b].loc == KVC__NONE) {
		/* Re-attach so block_delete frees it with the block. */
		loc->next = KVC__NONE;
		k->blocks[b].loc = l;
		kvc__block_delete(k, b);
		return;
	}
	struct kvc__tier *t = &k->nodes[loc->node].tier[loc->tier];
	lru_unlink(k, l);
	t->used -= loc->len;
	t->nlocs--;
	loc->next = k->locs_free;
	k->locs_free = l;
	k->nlocs--;
}

/* Mark @b used now: every location moves to its LRU tail. */
void kvc__block_touch(struct kvc *k, uint32_t b)
{
	struct kvc__block *blk = &k->blocks[b];
	blk->last_access_ms = k->now_ms;
	for (uint32_t l = blk->loc; l != KVC__NONE; l = k->locs[l].next) {
		const struct kvc__loc *loc = &k->locs[l];
		if (k->nodes[loc->node].tier[loc->tier].lru_tail != l) {
			lru_unlink(k, l);
			lru_append(k, l);
		}
	}
}

bool kvc__block_pinned(const struct kvc *k, const struct kvc__block *b)
{
	return b->pins > 0 && k->now_ms < b->pin_expiry_ms;
}
