/* kvc_alloc.c — KVC.ALLOC (placement with LRU eviction) and KVC.REVOKE. */
#include <stdlib.h>
#include <string.h>

#include "kvc_int.h"

/*
 * KVC.ALLOC ns bytes [bytes ...] [NEAR node] [LEASE ms]
 *
 * For each size, choose a (node, tier) and reserve the bytes there for the
 * lease (default 30 s); KVC.PUT ns RES rid ... commits it, KVC.REVOKE or the
 * lease's end releases it, so a writer that dies in between leaks nothing.
 * Candidates are the tiers of live nodes, ordered by
 *   1. distance: the NEAR node, then nodes on its NUMA node, then the rest;
 *   2. tier: hbm, dram, cxl, nvme (the closest tier first);
 *   3. most free bytes, then lowest node id (spreads load; deterministic).
 * The first candidate with room wins.  When none has room, the first one
 * where evicting unpinned blocks from its LRU head frees enough does, and
 * the evicted locations are returned as victims.  Sizes are independent:
 * the reply holds one result or one error per size.
 */

struct cand {
	uint64_t free; /* cap - used - reserved */
	uint16_t id;   /* node id */
	uint16_t slot; /* node slot */
	uint8_t dist;  /* 0 near, 1 same NUMA, 2 other */
	uint8_t tier;  /* 0..3 */
};

static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa;
	const struct cand *b = pb;
	if (a->dist != b->dist) {
		return a->dist < b->dist ? -1 : 1;
	}
	if (a->tier != b->tier) {
		return a->tier < b->tier ? -1 : 1;
	}
	if (a->free != b->free) {
		return a->free > b->free ? -1 : 1;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

struct opts {
	uint32_t nsizes;   /* sizes are argv[2 .. 2 + nsizes) */
	uint64_t lease_ms; /* reservation lease */
	uint16_t near;	   /* node id, 0 = none */
};

static int parse(uint32_t argc, const struct kvc_arg *argv, struct opts *o,
		 struct kvc_reply *err)
{
	uint64_t v;
	uint32_t i = 2;
	memset(o, 0, sizeof(*o));
	o->lease_ms = KVC__DEF_LEASE_MS;
	while (i < argc && kvc__parse_u64(&argv[i], &v)) {
		if (v == 0 || v > UINT32_MAX) {
			return kvc__err(err, "bytes must be 1..4294967295");
		}
		i++;
	}
	o->nsizes = i - 2;
	bool lease = false;
	for (; i < argc; i += 2) {
		if (i + 1 == argc) {
			return kvc__err(err, "syntax error");
		}
		if (kvc__arg_eq(&argv[i], "NEAR") && o->near == 0) {
			if (!kvc__parse_node_id(&argv[i + 1], &o->near)) {
				return kvc__err(err, "node id must be "
						     "1..65535");
			}
		} else if (kvc__arg_eq(&argv[i], "LEASE") && !lease) {
			lease = true;
			if (!kvc__parse_lease(&argv[i + 1], &o->lease_ms)) {
				return kvc__err(err, "lease must be "
						     "1..604800000 ms");
			}
		} else {
			return kvc__err(err, "syntax error (bytes must be 1.."
					     "4294967295; options NEAR node, "
					     "LEASE ms)");
		}
	}
	return 0;
}

int kvc__check_alloc(uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *err)
{
	struct opts o;
	int rv = kvc__check_ns_cmd(argc >= 3, argv, err);
	if (rv != 0) {
		return rv;
	}
	rv = parse(argc, argv, &o, err);
	if (rv == 0 && o.nsizes == 0) {
		return kvc__err_arity(err, &argv[0]);
	}
	return rv;
}

/* Every tier of a live node, unsorted; returns how many.  Built once per
 * command: a placement changes only the tier it picked (alloc_state). */
static uint32_t candidates(struct kvc *k, struct cand *c, uint32_t near)
{
	uint32_t n = 0;
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		const struct kvc__node *nd = &k->nodes[s];
		if (!kvc__node_alive(k, nd)) {
			continue;
		}
		for (unsigned t = 0; t < KVC__TIERS; t++) {
			const struct kvc__tier *tr = &nd->tier[t];
			if (!tr->present) {
				continue;
			}
			c[n].free = tr->cap - tr->used - tr->reserved;
			c[n].id = nd->id;
			c[n].slot = (uint16_t)s;
			c[n].tier = (uint8_t)t;
			c[n].dist = near == KVC__NONE		      ? 0
				    : s == near			      ? 0
				    : nd->numa == k->nodes[near].numa ? 1
								      : 2;
			n++;
		}
	}
	return n;
}

/* The first of @c[0..n) in cand_cmp order with @bytes free, or KVC__NONE:
 * one linear pass, the same pick as sorting first (cand_cmp is a total
 * order), without the sort that made 65,534 sizes take seconds. */
static uint32_t first_with_room(const struct cand *c, uint32_t n,
				uint64_t bytes)
{
	uint32_t best = KVC__NONE;
	for (uint32_t i = 0; i < n; i++) {
		if (c[i].free >= bytes &&
		    (best == KVC__NONE || cand_cmp(&c[i], &c[best]) < 0)) {
			best = i;
		}
	}
	return best;
}

/* Victims needed on @c to fit @bytes, or KVC__NONE if it cannot. */
static uint32_t victims_needed(const struct kvc *k, const struct cand *c,
			       uint64_t bytes)
{
	uint64_t room = c->free;
	uint32_t n = 0;
	const struct kvc__tier *t = &k->nodes[c->slot].tier[c->tier];
	if (t->cap - t->reserved < bytes) {
		return KVC__NONE; /* not even with every block evicted */
	}
	for (uint32_t l = t->lru_head; l != KVC__NONE && room < bytes;
	     l = k->locs[l].lru_next) {
		if (!kvc__block_pinned(k, &k->blocks[k->locs[l].block])) {
			room += k->locs[l].len;
			n++;
		}
	}
	return room >= bytes ? n : KVC__NONE;
}

static int evict(struct kvc *k, const struct cand *c, uint32_t nv,
		 struct kvc_reply *r)
{
	struct kvc__tier *t = &k->nodes[c->slot].tier[c->tier];
	int rv = kvc__reply_array(r, nv);
	uint32_t l = t->lru_head;
	while (nv > 0) {
		uint32_t next = k->locs[l].lru_next;
		const struct kvc__block *b = &k->blocks[k->locs[l].block];
		if (!kvc__block_pinned(k, b)) {
			const struct kvc__ns *ns = &k->ns[kvc__blk_ns(b)];
			struct kvc__hash h;
			kvc__block_hash(k, b, &h);
			rv = rv ? rv : kvc__reply_array(r, 4);
			rv = rv ? rv : kvc__reply_bulk(r, ns->name, ns->len);
			rv = rv ? rv : kvc__reply_bulk_hash(r, &h);
			rv = rv ? rv : kvc__reply_uint(r, c->id);
			rv = rv ? rv : kvc__reply_tier(r, c->tier);
			kvc__ev_evicted(k, l);
			kvc__loc_remove(k, l);
			nv--;
		}
		l = next;
	}
	return rv;
}

/* The candidates of one KVC.ALLOC, shared by its sizes. */
struct alloc_state {
	struct cand *c; /* kvc__scratch */
	uint32_t n;	/* entries in c */
};

static int place(struct kvc *k, uint32_t ns, uint64_t bytes,
		 struct alloc_state *as, uint64_t lease_ms, struct kvc_reply *r)
{
	if (k->nres == k->o.reservations_max) {
		return kvc__err(r, "reservation table full") == FR_NOMEM
			   ? FR_NOMEM
			   : 0;
	}
	struct cand *c = as->c;
	uint32_t n = as->n;
	uint32_t pick = first_with_room(c, n, bytes);
	uint32_t nv = 0;
	if (pick == KVC__NONE) {
		/* Eviction tries candidates in order: only now sort. */
		qsort(c, n, sizeof(*c), cand_cmp);
	}
	for (uint32_t i = 0; i < n && pick == KVC__NONE; i++) {
		nv = victims_needed(k, &c[i], bytes);
		if (nv != KVC__NONE) {
			pick = i;
		}
	}
	if (pick == KVC__NONE) {
		return kvc__err(r, "no space for a block of that size") ==
			       FR_NOMEM
			   ? FR_NOMEM
			   : 0;
	}
	const struct kvc__node *nd = &k->nodes[c[pick].slot];
	struct kvc__res res = {
	    .rid = k->next_rid++,
	    .bytes = bytes,
	    .expiry_ms = kvc__deadline(k, lease_ms),
	    .ns = ns,
	    .node = c[pick].slot,
	    .tier = c[pick].tier,
	};
	int rv = kvc__reply_array(r, 7);
	rv = rv ? rv : kvc__reply_uint(r, res.rid);
	rv = rv ? rv : kvc__reply_uint(r, nd->id);
	rv = rv ? rv : kvc__reply_bulk(r, nd->addr, nd->addr_len);
	rv = rv ? rv : kvc__reply_tier(r, res.tier);
	rv = rv ? rv : kvc__reply_uint(r, bytes);
	rv = rv ? rv : kvc__reply_uint(r, res.expiry_ms);
	int erv = evict(k, &c[pick], nv, r);
	int irv = kvc__res_insert(k, &res);
	assert(irv == 0);
	/* Only the picked tier changed (reserved, and used by evictions). */
	const struct kvc__tier *tr = &nd->tier[c[pick].tier];
	c[pick].free = tr->cap - tr->used - tr->reserved;
	return rv ? rv : erv;
}

int kvc__exec_alloc(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		    struct kvc_reply *r)
{
	struct opts o;
	int rv = parse(argc, argv, &o, NULL);
	assert(rv == 0);
	uint32_t near = KVC__NONE;
	if (o.near != 0) {
		near = kvc__node_find(k, o.near);
		if (near == KVC__NONE) {
			return kvc__err(r, "unknown NEAR node");
		}
	}
	uint32_t ns = kvc__ns_get(k, argv[1].base, argv[1].len);
	if (ns == KVC__NONE) {
		return kvc__err(r, "namespace table full");
	}
	/* Our own reference keeps a fresh namespace alive (or frees it if no
	 * reservation ends up using it). */
	kvc__ns_ref(k, ns);
	struct alloc_state as = {0};
	as.c = kvc__scratch(k, (size_t)k->o.nodes_max * KVC__TIERS *
				   sizeof(*as.c));
	rv = as.c == NULL ? FR_NOMEM : kvc__reply_array(r, o.nsizes);
	if (rv == 0) {
		as.n = candidates(k, as.c, near);
	}
	for (uint32_t i = 0; rv == 0 && i < o.nsizes; i++) {
		uint64_t bytes;
		(void)kvc__parse_u64(&argv[2 + i], &bytes);
		rv = place(k, ns, bytes, &as, o.lease_ms, r);
	}
	kvc__ns_unref(k, ns);
	return rv;
}

/* KVC.REVOKE rid [rid ...] */
int kvc__check_revoke(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	if (argc < 2) {
		return kvc__err_arity(err, &argv[0]);
	}
	for (uint32_t i = 1; i < argc; i++) {
		uint64_t rid;
		if (!kvc__parse_u64(&argv[i], &rid) || rid == 0) {
			return kvc__err(err, "reservation id must be a "
					     "positive integer");
		}
	}
	return 0;
}

int kvc__exec_revoke(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	int64_t n = 0;
	for (uint32_t i = 1; i < argc; i++) {
		uint64_t rid;
		(void)kvc__parse_u64(&argv[i], &rid);
		uint32_t pos = kvc__res_find(k, rid);
		if (pos != KVC__NONE) {
			kvc__ev_revoked(k, &k->res[pos]);
			kvc__res_remove(k, pos);
			n++;
		}
	}
	return kvc__reply_int(r, n);
}
