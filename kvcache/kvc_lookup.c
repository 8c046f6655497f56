/* kvc_lookup.c — KVC.LOOKUP: the longest cached prefix of a hash chain. */
#include <string.h>

#include "kvc_int.h"

/*
 * KVC.LOOKUP ns h1 h2 ... hn [TOUCH]
 *
 * Walks h1, h2, ... and stops at the first block that is missing, whose
 * parent is not the previous hash (h1 must be a root), or that has no
 * location on a live node.  So every block in the answer has its parent
 * right before it (invariant 5).  Reply: one array per block,
 * [hash, tokens, [[node, addr, tier, offset, len], ...]] with only the
 * locations on live nodes.  TOUCH (a write) marks the blocks used now.
 */

static bool touch_opt(uint32_t argc, const struct kvc_arg *argv)
{
	return argc >= 3 && kvc__arg_eq(&argv[argc - 1], "TOUCH");
}

bool kvc__lookup_is_write(uint32_t argc, const struct kvc_arg *argv)
{
	return touch_opt(argc, argv);
}

int kvc__check_lookup(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	uint32_t end = touch_opt(argc, argv) ? argc - 1 : argc;
	if (end < 3) {
		return kvc__err_arity(err, &argv[0]);
	}
	if (!kvc__ns_valid(&argv[1])) {
		return kvc__err(err, "namespace must be 1..64 bytes");
	}
	uint8_t h[KVC_HASH_BYTES];
	for (uint32_t i = 2; i < end; i++) {
		if (!kvc__parse_hash(&argv[i], h)) {
			return kvc__err(err, "block hash must be 32 hex "
					     "digits, not all zero");
		}
	}
	return 0;
}

static uint32_t live_locs(const struct kvc *k, uint32_t b)
{
	uint32_t n = 0;
	for (uint32_t l = k->blocks[b].loc; l != KVC__NONE;
	     l = k->locs[l].next) {
		n += kvc__node_alive(k, &k->nodes[k->locs[l].node]);
	}
	return n;
}

static int reply_block(const struct kvc *k, uint32_t b, struct kvc_reply *r)
{
	const struct kvc__block *blk = &k->blocks[b];
	int rv = kvc__reply_array(r, 3);
	rv = rv ? rv : kvc__reply_bulk_hash(r, blk->hash);
	rv = rv ? rv : kvc__reply_uint(r, blk->tokens);
	rv = rv ? rv : kvc__reply_array(r, live_locs(k, b));
	for (uint32_t l = blk->loc; rv == 0 && l != KVC__NONE;
	     l = k->locs[l].next) {
		const struct kvc__loc *loc = &k->locs[l];
		const struct kvc__node *n = &k->nodes[loc->node];
		if (!kvc__node_alive(k, n)) {
			continue;
		}
		rv = kvc__reply_array(r, 5);
		rv = rv ? rv : kvc__reply_uint(r, n->id);
		rv = rv ? rv : kvc__reply_bulk(r, n->addr, n->addr_len);
		rv = rv ? rv : kvc__reply_tier(r, loc->tier);
		rv = rv ? rv : kvc__reply_uint(r, loc->offset);
		rv = rv ? rv : kvc__reply_uint(r, loc->len);
	}
	return rv;
}

int kvc__exec_lookup(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	bool touch = touch_opt(argc, argv);
	uint32_t end = touch ? argc - 1 : argc;
	uint32_t *found = kvc__scratch(k, (end - 2) * sizeof(*found));
	if (found == NULL) {
		return FR_NOMEM;
	}
	uint32_t ns = kvc__ns_find(k, argv[1].base, argv[1].len);
	uint32_t m = 0;
	uint8_t prev[KVC_HASH_BYTES] = {0};
	for (uint32_t i = 2; ns != KVC__NONE && i < end; i++) {
		uint8_t h[KVC_HASH_BYTES];
		(void)kvc__parse_hash(&argv[i], h);
		uint32_t b = kvc__block_find(k, ns, h);
		if (b == KVC__NONE ||
		    memcmp(k->blocks[b].parent, prev, KVC_HASH_BYTES) != 0 ||
		    live_locs(k, b) == 0) {
			break;
		}
		found[m++] = b;
		memcpy(prev, h, KVC_HASH_BYTES);
	}
	int rv = kvc__reply_array(r, m);
	for (uint32_t i = 0; rv == 0 && i < m; i++) {
		rv = reply_block(k, found[i], r);
	}
	/* Touch the chain's tail first: its head ends up most recent, so LRU
	 * eviction takes the end of a prefix before its start. */
	for (uint32_t i = m; touch && i-- > 0;) {
		kvc__block_touch(k, found[i]);
	}
	return rv;
}
