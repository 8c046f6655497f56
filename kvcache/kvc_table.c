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
 * Free blocks and locations are chained through .ns and .next.
 */

uint32_t kvc__block_find(const struct kvc *k, uint32_t ns, const uint8_t *h)
{
	return kvc__block_find_key(k, kvc__block_key(ns, h), ns, h);
}

/* Precondition: not present, nblocks < blocks_max.  The block has no
 * location yet: the caller adds one before returning to the dispatcher. */
uint32_t kvc__block_new(struct kvc *k, uint32_t ns, const uint8_t *h)
{
	assert(k->nblocks < k->o.blocks_max);
	assert(kvc__block_find(k, ns, h) == KVC__NONE);
	uint32_t b;
	if (k->blocks_free != KVC__NONE) {
		b = k->blocks_free;
		k->blocks_free = k->blocks[b].ns;
	} else {
		assert(k->blocks_hw < k->o.blocks_max);
		b = k->blocks_hw++;
	}
	struct kvc__block *blk = &k->blocks[b];
	memset(blk, 0, sizeof(*blk));
	memcpy(blk->hash, h, KVC_HASH_BYTES);
	blk->ns = ns;
	blk->loc = KVC__NONE;
	uint32_t tag = kvc__tag_of(kvc__block_key(ns, h));
	uint32_t i = tag & k->bmask;
	while (k->btab[i] != 0) {
		i = (i + 1) & k->bmask;
	}
	k->btab[i] = (uint64_t)tag << 32 | (b + 1);
	k->nblocks++;
	k->ns[ns].blocks++;
	kvc__ns_ref(k, ns);
	return b;
}

/* Insert a new block unless (ns, h) exists: one probe sequence does both.
 * Returns the new index, or KVC__NONE for a duplicate.  Precondition:
 * nblocks < blocks_max, and no block was ever freed (restore fills a fresh
 * table: the new block takes the next unused index).  The block has no
 * location yet. */
uint32_t kvc__block_insert(struct kvc *k, uint32_t ns, const uint8_t *h)
{
	assert(k->nblocks < k->o.blocks_max && k->blocks_free == KVC__NONE);
	uint32_t tag = kvc__tag_of(kvc__block_key(ns, h));
	uint32_t i = tag & k->bmask;
	for (; k->btab[i] != 0; i = (i + 1) & k->bmask) {
		if ((uint32_t)(k->btab[i] >> 32) == tag) {
			const struct kvc__block *o =
			    &k->blocks[(uint32_t)k->btab[i] - 1];
			if (o->ns == ns &&
			    memcmp(o->hash, h, KVC_HASH_BYTES) == 0) {
				return KVC__NONE;
			}
		}
	}
	uint32_t b = k->blocks_hw++;
	struct kvc__block *blk = &k->blocks[b];
	memset(blk, 0, sizeof(*blk));
	memcpy(blk->hash, h, KVC_HASH_BYTES);
	blk->ns = ns;
	blk->loc = KVC__NONE;
	k->btab[i] = (uint64_t)tag << 32 | (b + 1);
	k->nblocks++;
	k->ns[ns].blocks++;
	kvc__ns_ref(k, ns);
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
	uint32_t i = kvc__tag_of(kvc__block_key(blk->ns, blk->hash)) & k->bmask;
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
	uint32_t ns = blk->ns;
	k->ns[ns].blocks--;
	kvc__ns_unref(k, ns);
	blk->ns = k->blocks_free;
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
