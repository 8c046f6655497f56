/* kvc_check.c — kvc_check_invariants(): the design notes' invariants. */
#include <string.h>

#include "kvc_int.h"

static int fail(char *msg, size_t cap, const char *what, uint64_t n)
{
	if (cap == 0) {
		return FR_CORRUPT;
	}
	size_t len = strlen(what);
	char num[24];
	size_t nl = kvc__fmt_u64(num, n);
	size_t i = 0;
	for (; i < len && i + 1 < cap; i++) {
		msg[i] = what[i];
	}
	if (i + 2 + nl < cap) {
		msg[i++] = ' ';
		msg[i++] = '#';
		memcpy(msg + i, num, nl);
		i += nl;
	}
	msg[i] = '\0';
	return FR_CORRUPT;
}

/* Invariants 1, 2 and 4 for one tier, walking its LRU list. */
static int check_tier(const struct kvc *k, uint32_t s, unsigned t,
		      uint64_t *nlocs, char *msg, size_t cap)
{
	const struct kvc__tier *tr = &k->nodes[s].tier[t];
	uint64_t used = 0;
	uint32_t n = 0;
	uint32_t prev = KVC__NONE;
	uint64_t last = 0;
	if (!tr->present && (tr->cap | tr->used | tr->reserved | tr->nlocs)) {
		return fail(msg, cap, "absent tier with bytes on node slot", s);
	}
	for (uint32_t l = tr->present ? tr->lru_head : KVC__NONE;
	     l != KVC__NONE; l = k->locs[l].lru_next) {
		const struct kvc__loc *loc = &k->locs[l];
		if (l >= k->locs_hw || n > k->nlocs) {
			return fail(msg, cap, "LRU list runs wild at", l);
		}
		if (loc->node != s || loc->tier != t || loc->lru_prev != prev) {
			return fail(msg, cap, "LRU link inconsistent at", l);
		}
		const struct kvc__block *b = &k->blocks[loc->block];
		if (b->last_access_ms < last) {
			return fail(msg, cap, "LRU out of order at", l);
		}
		if (kvc__loc_find(k, loc->block, (uint16_t)s, (uint8_t)t) !=
		    l) {
			return fail(msg, cap, "location not on its block", l);
		}
		last = b->last_access_ms;
		used += loc->len;
		prev = l;
		n++;
	}
	if (n > 0 && k->nodes[s].down) {
		return fail(msg, cap, "locations on a reclaimed node, slot", s);
	}
	if (tr->present && tr->lru_tail != prev) {
		return fail(msg, cap, "LRU tail wrong on node slot", s);
	}
	if (used != tr->used || n != tr->nlocs) {
		return fail(msg, cap, "used bytes disagree on node slot", s);
	}
	if (tr->used > tr->cap || tr->reserved > tr->cap - tr->used) {
		return fail(msg, cap, "used + reserved > capacity on node slot",
			    s);
	}
	*nlocs += n;
	return 0;
}

static int check_nodes(const struct kvc *k, char *msg, size_t cap)
{
	uint64_t nlocs = 0;
	uint32_t nnodes = 0;
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		const struct kvc__node *n = &k->nodes[s];
		if (n->id == 0) {
			continue;
		}
		nnodes++;
		if (kvc__node_find(k, n->id) != s) {
			return fail(msg, cap, "node id map wrong for node",
				    n->id);
		}
		for (unsigned t = 0; t < KVC__TIERS; t++) {
			uint64_t r = 0;
			for (uint32_t i = 0; i < k->nres; i++) {
				r += k->res[i].node == s && k->res[i].tier == t
					 ? k->res[i].bytes
					 : 0;
			}
			if (r != n->tier[t].reserved) {
				return fail(msg, cap,
					    "reserved bytes disagree on node",
					    n->id);
			}
			int rv = check_tier(k, s, t, &nlocs, msg, cap);
			if (rv != 0) {
				return rv;
			}
		}
	}
	if (nnodes != k->nnodes || nlocs != k->nlocs) {
		return fail(msg, cap, "node or location count wrong", nlocs);
	}
	return 0;
}

/* Invariants 2 and 3 from the blocks' side; namespace reference counts. */
static int check_blocks(const struct kvc *k, char *msg, size_t cap)
{
	uint32_t live = 0;
	uint32_t nlong = 0;
	for (uint32_t b = 0; b < k->blocks_hw; b++) {
		const struct kvc__block *blk = &k->blocks[b];
		if (blk->loc == KVC__NONE) {
			continue;
		}
		live++;
		if (kvc__blk_hlen(blk) == 0 ||
		    kvc__blk_hlen(blk) > KVC_HASH_BYTES_MAX ||
		    kvc__blk_plen(blk) > KVC_HASH_BYTES_MAX ||
		    (kvc__blk_long(blk) && kvc__blk_ext(blk) >= k->ext_hw)) {
			return fail(msg, cap, "bad hash length or pool entry",
				    b);
		}
		nlong += kvc__blk_long(blk);
		struct kvc__hash h;
		kvc__block_hash(k, blk, &h);
		uint32_t ns = kvc__blk_ns(blk);
		if (ns >= k->o.namespaces_max || k->ns[ns].refs == 0) {
			return fail(msg, cap, "block in a dead namespace", b);
		}
		if (kvc__block_find(k, ns, &h) != b) {
			return fail(msg, cap, "block not found by its key", b);
		}
		for (uint32_t l = blk->loc; l != KVC__NONE;
		     l = k->locs[l].next) {
			const struct kvc__loc *loc = &k->locs[l];
			if (loc->block != b || loc->node >= k->o.nodes_max ||
			    k->nodes[loc->node].id == 0 ||
			    !k->nodes[loc->node].tier[loc->tier].present) {
				return fail(msg, cap,
					    "location on an unknown node or "
					    "tier, block",
					    b);
			}
		}
	}
	if (nlong != k->nlong) {
		return fail(msg, cap, "long-hash pool count wrong", nlong);
	}
	if (live != k->nblocks) {
		return fail(msg, cap, "live block count wrong", live);
	}
	uint32_t nns = 0;
	for (uint32_t i = 0; i < k->o.namespaces_max; i++) {
		const struct kvc__ns *ns = &k->ns[i];
		if (ns->refs == 0) {
			continue;
		}
		nns++;
		uint32_t refs = ns->blocks;
		for (uint32_t r = 0; r < k->nres; r++) {
			refs += k->res[r].ns == i;
		}
		if (refs != ns->refs ||
		    kvc__ns_find(k, ns->name, ns->len) != i) {
			return fail(msg, cap, "namespace refs wrong", i);
		}
	}
	return nns == k->nns ? 0 : fail(msg, cap, "namespace count", nns);
}

static int check_res(const struct kvc *k, char *msg, size_t cap)
{
	for (uint32_t i = 0; i < k->nres; i++) {
		const struct kvc__res *r = &k->res[i];
		if (kvc__res_find(k, r->rid) != i || r->rid >= k->next_rid) {
			return fail(msg, cap, "reservation index wrong",
				    r->rid);
		}
		if (r->node >= k->o.nodes_max || k->nodes[r->node].id == 0 ||
		    k->nodes[r->node].down || r->tier >= KVC__TIERS ||
		    !k->nodes[r->node].tier[r->tier].present) {
			return fail(msg, cap,
				    "reservation on unknown node or "
				    "tier",
				    r->rid);
		}
	}
	return 0;
}

int kvc_check_invariants(const struct kvc *k, char *msg, size_t cap)
{
	int rv = check_nodes(k, msg, cap);
	rv = rv ? rv : check_blocks(k, msg, cap);
	rv = rv ? rv : check_res(k, msg, cap);
	if (rv == 0 && cap > 0) {
		msg[0] = '\0';
	}
	return rv;
}
