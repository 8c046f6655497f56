/* kvc_put.c — KVC.PUT: record (or commit reserved) block locations. */
#include <stdlib.h>
#include <string.h>

#include "kvc_int.h"

/*
 * KVC.PUT ns h parent tokens node tier offset len [h parent ... len ...]
 * KVC.PUT ns RES rid h parent tokens offset [rid h parent tokens offset ...]
 *
 * The second form commits reservations made by KVC.ALLOC: node, tier and
 * length come from the reservation, whose bytes move from reserved to used.
 * A batch is all or nothing: every item is checked against the state
 * (node alive, tier present, capacity, table room, consistent parents)
 * before the first change.  Items are processed in (hash, node id, tier)
 * order, which is also how duplicates are found.
 */

struct item {
	struct kvc__hash hash;	 /* block */
	struct kvc__hash parent; /* its parent, len 0 = root */
	uint64_t offset;	 /* location offset */
	uint64_t rid;		 /* RES form, else 0 */
	uint32_t b;		 /* block index once known */
	uint32_t idx;		 /* position in the command */
	uint32_t len;		 /* location length */
	uint32_t tokens;	 /* tokens in the block */
	uint16_t node_id;	 /* node id */
	uint16_t slot;		 /* node slot */
	uint8_t tier;		 /* 0..3 */
};

/* Same hash: length and every byte (the bytes after len are zero). */
static bool hash_eq(const struct kvc__hash *a, const struct kvc__hash *b)
{
	return a->len == b->len && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa;
	const struct item *b = pb;
	int c = memcmp(a->hash.b, b->hash.b, sizeof(a->hash.b));
	if (c != 0) {
		return c;
	}
	if (a->hash.len != b->hash.len) {
		return a->hash.len < b->hash.len ? -1 : 1;
	}
	if (a->node_id != b->node_id) {
		return a->node_id < b->node_id ? -1 : 1;
	}
	return a->tier < b->tier ? -1 : a->tier > b->tier;
}

static bool is_res_form(uint32_t argc, const struct kvc_arg *argv)
{
	return argc > 2 && kvc__arg_eq(&argv[2], "RES");
}

/* Parse item @i (stateless); @it may be NULL to validate only. */
static int parse_item(const struct kvc_arg *a, bool res, struct item *it,
		      struct kvc_reply *err)
{
	struct item tmp;
	uint64_t v;
	if (it == NULL) {
		it = &tmp;
	}
	memset(it, 0, sizeof(*it));
	if (res) {
		if (!kvc__parse_u64(&a[0], &it->rid) || it->rid == 0) {
			return kvc__err(err, "reservation id must be a "
					     "positive integer");
		}
		a++;
	}
	if (!kvc__parse_hash(&a[0], &it->hash)) {
		return kvc__err(err, KVC__BAD_HASH);
	}
	if (!kvc__parse_parent(&a[1], &it->parent)) {
		return kvc__err(err, "parent must be '-' or a block hash "
				     "(2..64 hex digits or i:<integer>)");
	}
	if (hash_eq(&it->hash, &it->parent)) {
		return kvc__err(err, "a block cannot be its own parent");
	}
	if (!kvc__parse_u64(&a[2], &v) || v > UINT32_MAX) {
		return kvc__err(err, "tokens must be 0..4294967295");
	}
	it->tokens = (uint32_t)v;
	if (res) {
		if (!kvc__parse_u64(&a[3], &it->offset)) {
			return kvc__err(err, "offset must be a non-negative "
					     "integer");
		}
		return 0;
	}
	if (!kvc__parse_node_id(&a[3], &it->node_id)) {
		return kvc__err(err, "node id must be 1..65535");
	}
	int t = kvc__parse_tier(&a[4]);
	if (t < 0) {
		return kvc__err3(err, "unknown tier '", &a[4],
				 "' (hbm, dram, cxl or nvme)");
	}
	it->tier = (uint8_t)t;
	if (!kvc__parse_u64(&a[5], &it->offset)) {
		return kvc__err(err, "offset must be a non-negative integer");
	}
	if (!kvc__parse_u64(&a[6], &v) || v == 0 || v > UINT32_MAX) {
		return kvc__err(err, "length must be 1..4294967295 bytes");
	}
	it->len = (uint32_t)v;
	return 0;
}

/* Arity and namespace. */
static int check_head(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	bool res = is_res_form(argc, argv);
	uint32_t first = res ? 3 : 2;
	uint32_t per = res ? 5 : 7;
	return kvc__check_ns_cmd(argc > first && (argc - first) % per == 0,
				 argv, err);
}

int kvc__check_put(uint32_t argc, const struct kvc_arg *argv,
		   struct kvc_reply *err)
{
	bool res = is_res_form(argc, argv);
	uint32_t first = res ? 3 : 2;
	uint32_t per = res ? 5 : 7;
	int hrv = check_head(argc, argv, err);
	if (hrv != 0) {
		return hrv;
	}
	for (uint32_t i = first; i < argc; i += per) {
		int rv = parse_item(&argv[i], res, NULL, err);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

/* Resolve node slot / reservation of each item against the state. */
static int resolve(struct kvc *k, uint32_t ns, struct item *it, bool res,
		   struct kvc_reply *r)
{
	if (res) {
		uint32_t i = kvc__res_find(k, it->rid);
		if (i == KVC__NONE || k->res[i].ns != ns) {
			return kvc__err(r, "unknown or expired reservation "
					   "in this namespace");
		}
		if (k->res[i].tier & 0x80) {
			return kvc__err(r, "duplicate reservation in batch");
		}
		k->res[i].tier |= 0x80; /* cleared by unmark_res() */
		it->slot = k->res[i].node;
		it->tier = k->res[i].tier & 0x7f;
		it->node_id = k->nodes[it->slot].id;
		it->len = (uint32_t)k->res[i].bytes;
		return 0;
	}
	uint32_t s = kvc__node_find(k, it->node_id);
	if (s == KVC__NONE) {
		return kvc__err_num(r, "unknown node ", it->node_id, "");
	}
	if (!kvc__node_alive(k, &k->nodes[s])) {
		return kvc__err_num(r, "node ", it->node_id,
				    " is down (lease expired)");
	}
	if (!k->nodes[s].tier[it->tier].present) {
		return kvc__err_num(r, "node ", it->node_id,
				    it->tier == 0   ? " has no tier hbm"
				    : it->tier == 1 ? " has no tier dram"
				    : it->tier == 2 ? " has no tier cxl"
						    : " has no tier nvme");
	}
	it->slot = (uint16_t)s;
	return 0;
}

static void unmark_res(struct kvc *k)
{
	for (uint32_t i = 0; i < k->nres; i++) {
		k->res[i].tier &= 0x7f;
	}
}

/* Validate sorted items against the state: consistency, capacity, room. */
static int validate(struct kvc *k, uint32_t ns, struct item *it, uint32_t n,
		    bool res, struct kvc_reply *r)
{
	uint32_t new_blocks = 0;
	uint32_t new_long = 0;
	uint32_t new_locs = 0;
	for (uint32_t i = 0; i < n; i++) {
		bool same = i > 0 && hash_eq(&it[i].hash, &it[i - 1].hash);
		if (same && item_cmp(&it[i], &it[i - 1]) == 0) {
			return kvc__err(r, "duplicate block location in batch");
		}
		if (same && (it[i].tokens != it[i - 1].tokens ||
			     !hash_eq(&it[i].parent, &it[i - 1].parent))) {
			return kvc__err(r, "conflicting parent or tokens for "
					   "one block in batch");
		}
		uint32_t b = ns == KVC__NONE
				 ? KVC__NONE
				 : kvc__block_find(k, ns, &it[i].hash);
		it[i].b = b;
		uint32_t l = KVC__NONE;
		if (b != KVC__NONE) {
			const struct kvc__block *blk = &k->blocks[b];
			if (blk->tokens != it[i].tokens ||
			    !kvc__block_parent_is(k, blk, &it[i].parent)) {
				return kvc__err(r,
						"block exists with a "
						"different parent or tokens");
			}
			l = kvc__loc_find(k, b, it[i].slot, it[i].tier);
		} else if (!same) {
			new_blocks++;
			new_long += kvc__hash_long(&it[i].hash, &it[i].parent);
		}
		if (l != KVC__NONE && res) {
			return kvc__err(r, "block already stored on that node "
					   "and tier");
		}
		new_locs += l == KVC__NONE;
		if (!res) {
			int64_t *acc =
			    &k->acc[it[i].slot * KVC__TIERS + it[i].tier];
			*acc += (int64_t)it[i].len -
				(l == KVC__NONE ? 0 : k->locs[l].len);
		}
	}
	if (new_blocks > k->o.blocks_max - k->nblocks) {
		return kvc__err(r, "block table full");
	}
	if (new_locs > k->o.locations_max - k->nlocs) {
		return kvc__err(r, "location table full");
	}
	if (new_long > k->o.long_hashes_max - k->nlong) {
		return kvc__err(r, "long-hash table full (hashes or parents "
				   "over 16 bytes; see --kvc-long-hashes-max)");
	}
	return 0;
}

/* Does any tier lack room for the deltas validate() accumulated?  Zeroes
 * them again either way. */
static bool over_capacity(struct kvc *k, const struct item *it, uint32_t n)
{
	bool full = false;
	for (uint32_t i = 0; i < n; i++) {
		int64_t *acc = &k->acc[it[i].slot * KVC__TIERS + it[i].tier];
		const struct kvc__tier *t =
		    &k->nodes[it[i].slot].tier[it[i].tier];
		if (*acc > 0 &&
		    (uint64_t)*acc > t->cap - t->used - t->reserved) {
			full = true;
		}
		*acc = 0;
	}
	return full;
}

/*
 * Create the batch's new blocks in argument order (@pos[a]: sorted position
 * of argument item a), so a chain put in one batch gets consecutive
 * indices: KVC.LOOKUP looks for a chain's next block right after the
 * previous one before it probes the table (kvc_lookup.c).  Items of one
 * block (several locations) are neighbours in sorted order and share it.
 * Only indices depend on this order, and indices are not state: the
 * digest and the snapshot do not see them.
 */
static void create_blocks(struct kvc *k, uint32_t ns, struct item *it,
			  uint32_t n, const uint32_t *pos)
{
	for (uint32_t a = 0; a < n; a++) {
		uint32_t p = pos[a];
		if (it[p].b != KVC__NONE) {
			continue; /* exists, or created for a neighbour */
		}
		uint32_t b = kvc__block_new(k, ns, &it[p].hash, &it[p].parent);
		k->blocks[b].tokens = it[p].tokens;
		it[p].b = b;
		for (uint32_t q = p;
		     q > 0 && hash_eq(&it[q - 1].hash, &it[p].hash); q--) {
			it[q - 1].b = b;
		}
		for (uint32_t q = p + 1;
		     q < n && hash_eq(&it[q].hash, &it[p].hash); q++) {
			it[q].b = b;
		}
	}
}

/* Add or update @it's location; creates its block unless create_blocks()
 * did (a batch of one item has no order to keep).  @prev: the item before @it
 * in sorted order, or NULL. */
static void store(struct kvc *k, uint32_t ns, struct item *it,
		  const struct item *prev)
{
	uint32_t b = it->b;
	if (b == KVC__NONE && prev != NULL && hash_eq(&prev->hash, &it->hash)) {
		b = prev->b; /* created by the previous item */
	}
	if (b == KVC__NONE) {
		b = kvc__block_new(k, ns, &it->hash, &it->parent);
		k->blocks[b].tokens = it->tokens;
	}
	it->b = b;
	uint32_t l = kvc__loc_find(k, b, it->slot, it->tier);
	if (l == KVC__NONE) {
		l = kvc__loc_add(k, b, it->slot, it->tier, it->offset, it->len);
		kvc__ev_stored(k, l);
	} else if (k->locs[l].offset != it->offset ||
		   k->locs[l].len != it->len) {
		struct kvc__tier *t = &k->nodes[it->slot].tier[it->tier];
		t->used = t->used - k->locs[l].len + it->len;
		k->locs[l].offset = it->offset;
		k->locs[l].len = it->len;
		kvc__ev_stored(k, l); /* moved: the same event, new place */
	}
	if (it->rid != 0) {
		kvc__res_remove(k, kvc__res_find(k, it->rid));
	}
}

/* Validates its arguments itself (the dispatcher skips the check), so each
 * item is parsed once: stateless errors first, as kvc__check_put() would. */
int kvc__exec_put(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		  struct kvc_reply *r)
{
	int rv = check_head(argc, argv, r);
	if (rv != 0) {
		return rv;
	}
	bool res = is_res_form(argc, argv);
	uint32_t first = res ? 3 : 2;
	uint32_t per = res ? 5 : 7;
	uint32_t n = (argc - first) / per;
	struct item *it = kvc__scratch(k, n * (sizeof(*it) + sizeof(uint32_t)));
	if (it == NULL) {
		return FR_NOMEM;
	}
	uint32_t *order = (uint32_t *)(it + n);
	uint32_t i;
	uint32_t ns = kvc__ns_find(k, argv[1].base, argv[1].len);
	for (i = 0; i < n; i++) {
		rv = parse_item(&argv[first + i * per], res, &it[i], r);
		if (rv != 0) {
			return rv;
		}
		it[i].idx = i;
		/* Start the table's cache miss now; validate() reads it. */
		if (ns != KVC__NONE) {
			kvc__block_prefetch(k, kvc__block_key(ns, &it[i].hash));
		}
	}
	if (ns == KVC__NONE && k->nns == k->o.namespaces_max) {
		return kvc__err(r, "namespace table full");
	}
	for (i = 0; rv == 0 && i < n; i++) {
		rv = resolve(k, ns, &it[i], res, r);
	}
	if (res) {
		unmark_res(k);
	}
	if (rv != 0) {
		return rv;
	}
	if (n > 1) {
		qsort(it, n, sizeof(*it), item_cmp);
	}
	rv = validate(k, ns, it, n, res, r);
	bool full = !res && over_capacity(k, it, n);
	if (rv != 0) {
		return rv;
	}
	if (full) {
		return kvc__err(r, "no space on that node and tier");
	}
	uint64_t before = k->nblocks;
	ns = kvc__ns_get(k, argv[1].base, argv[1].len);
	assert(ns != KVC__NONE);
	if (n > 1) {
		for (i = 0; i < n; i++) {
			order[it[i].idx] = i;
		}
		create_blocks(k, ns, it, n, order);
	}
	for (i = 0; i < n; i++) {
		store(k, ns, &it[i], i > 0 ? &it[i - 1] : NULL);
		order[it[i].idx] = it[i].b;
	}
	/* Touch from the last argument to the first: like KVC.LOOKUP TOUCH,
	 * a chain's head ends up more recent than its tail. */
	for (i = n; i-- > 0;) {
		kvc__block_touch(k, order[i]);
	}
	return kvc__reply_uint(r, k->nblocks - before);
}
