/* kvc_scan.c — KVC.SCAN: list the blocks page by page with a stable cursor. */
#include <string.h>

#include "kvc_int.h"

/*
 * Design notes
 * ============
 * The cursor is a bucket of the block hash table, which has a fixed size
 * (set by blocks_max at kvc_open()).  A page lists the blocks whose *home*
 * bucket (the bucket their hash selects, where linear probing starts) is
 * in [cursor, next_cursor), whatever slot they sit in now: a block's home
 * never changes, while deletions shift blocks between slots (backward
 * shift, kvc_probe.c).  So a block present for the whole scan is listed
 * exactly once, and one added or removed between pages at most once.
 *
 * A block's home depends on its hash and its namespace's slot, and the
 * snapshot keeps namespace slots (kvc__ns_put()), so a cursor means the
 * same on every replica with the same blocks_max: a client may go on with
 * a scan on another node after a leader change.
 *
 * Blocks with one home sit in the run of occupied slots that starts at
 * the home, so a page walks each of its buckets' runs (short: the table is
 * at most half full).  A page ends after the bucket that brings it to
 * COUNT blocks, before one that would pass the reply budget, or after
 * SCAN_VISIT_MAX buckets: an empty bucket costs one load, and 2M of them
 * (the default table's size) take about a millisecond, so a sparse
 * default table is listed in one page; a bigger one may give empty pages
 * with a non-zero cursor, as Redis's SCAN does.
 */

#define SCAN_COUNT_DEF	     256u
#define SCAN_COUNT_MAX	     4096u
#define SCAN_VISIT_MAX	     (1u << 21)
#define SCAN_BUDGET_DEFAULT  (4u << 20) /* reply bytes when r->max is 0 */
#define SCAN_BLOCK_BYTES_MAX (KVC_NS_BYTES_MAX + 4 * KVC_HASH_BYTES_MAX + 128)
#define SCAN_LOC_BYTES_MAX   (KVC_ADDR_BYTES_MAX + 128)

struct scan_args {
	uint32_t ns;	 /* namespace slot, KVC__NONE = all ('*') */
	bool none;	 /* the named namespace does not exist */
	uint64_t cursor; /* first home bucket */
	uint64_t count;	 /* blocks wanted */
};

static int parse_scan(uint32_t argc, const struct kvc_arg *argv,
		      struct scan_args *a, struct kvc_reply *err)
{
	if (argc != 3 && argc != 5) {
		return kvc__err_arity(err, &argv[0]);
	}
	if (!kvc__ns_valid(&argv[1])) {
		return kvc__err(err, "namespace must be 1..64 bytes (or *)");
	}
	if (!kvc__parse_u64(&argv[2], &a->cursor)) {
		return kvc__err(err, "invalid cursor");
	}
	a->count = SCAN_COUNT_DEF;
	if (argc == 5) {
		if (!kvc__arg_eq(&argv[3], "COUNT")) {
			return kvc__err3(err, "unknown option '", &argv[3],
					 "' (COUNT)");
		}
		if (!kvc__parse_u64(&argv[4], &a->count) || a->count == 0 ||
		    a->count > SCAN_COUNT_MAX) {
			return kvc__err(err, "COUNT must be 1..4096");
		}
	}
	return 0;
}

int kvc__check_scan(uint32_t argc, const struct kvc_arg *argv,
		    struct kvc_reply *err)
{
	struct scan_args a = {0};
	return parse_scan(argc, argv, &a, err);
}

static uint32_t home_of(const struct kvc *k, uint64_t slot)
{
	return kvc__tag_of(slot) & k->bmask;
}

static bool wanted(const struct kvc *k, const struct scan_args *a, uint32_t b)
{
	return a->ns == KVC__NONE || kvc__blk_ns(&k->blocks[b]) == a->ns;
}

static size_t block_bytes(const struct kvc *k, uint32_t b)
{
	size_t n = SCAN_BLOCK_BYTES_MAX;
	for (uint32_t l = k->blocks[b].loc; l != KVC__NONE;
	     l = k->locs[l].next) {
		n += SCAN_LOC_BYTES_MAX;
	}
	return n;
}

/* The page being built: the blocks found, in kvc__scratch memory. */
struct page {
	uint32_t *b;  /* block indices, in listing order */
	uint64_t n;   /* blocks in b */
	uint64_t cap; /* room in b */
	size_t bytes; /* reply bytes, an upper bound */
};

/* Add the blocks of home bucket @h that @a wants to @p.  FR_NOMEM when the
 * scratch cannot grow. */
static int bucket_add(struct kvc *k, const struct scan_args *a, uint32_t h,
		      struct page *p)
{
	for (uint32_t i = h; k->btab[i] != 0; i = (i + 1) & k->bmask) {
		uint32_t b = (uint32_t)k->btab[i] - 1;
		if (home_of(k, k->btab[i]) != h || !wanted(k, a, b)) {
			continue;
		}
		if (p->n == p->cap) {
			uint32_t *m = kvc__scratch(k, (size_t)p->cap * 8);
			if (m == NULL) {
				return FR_NOMEM;
			}
			p->b = m;
			p->cap *= 2;
		}
		p->b[p->n++] = b;
		p->bytes += block_bytes(k, b);
	}
	return 0;
}

static int reply_scan_block(struct kvc_reply *r, const struct kvc *k,
			    uint32_t b)
{
	const struct kvc__block *blk = &k->blocks[b];
	const struct kvc__ns *ns = &k->ns[kvc__blk_ns(blk)];
	struct kvc__hash h;
	struct kvc__hash parent;
	kvc__block_hash(k, blk, &h);
	kvc__block_parent(k, blk, &parent);
	uint32_t nloc = 0;
	for (uint32_t l = blk->loc; l != KVC__NONE; l = k->locs[l].next) {
		nloc++;
	}
	int rv = kvc__reply_array(r, 5);
	rv = rv ? rv : kvc__reply_bulk(r, ns->name, ns->len);
	rv = rv ? rv : kvc__reply_bulk_hash(r, &h);
	if (parent.len == 0) {
		rv = rv ? rv : kvc__reply_bulk(r, "-", 1);
	} else {
		rv = rv ? rv : kvc__reply_bulk_hash(r, &parent);
	}
	rv = rv ? rv : kvc__reply_uint(r, blk->tokens);
	rv = rv ? rv : kvc__reply_array(r, nloc);
	for (uint32_t l = blk->loc; rv == 0 && l != KVC__NONE;
	     l = k->locs[l].next) {
		const struct kvc__loc *loc = &k->locs[l];
		const struct kvc__node *n = &k->nodes[loc->node];
		rv = kvc__reply_array(r, 5);
		rv = rv ? rv : kvc__reply_uint(r, n->id);
		rv = rv ? rv : kvc__reply_bulk(r, n->addr, n->addr_len);
		rv = rv ? rv : kvc__reply_tier(r, loc->tier);
		rv = rv ? rv : kvc__reply_uint(r, loc->offset);
		rv = rv ? rv : kvc__reply_uint(r, loc->len);
	}
	return rv;
}

/* Fill @p from bucket @a->cursor on; the page's end bucket (exclusive),
 * or 0 with *@rv = FR_NOMEM. */
static uint64_t page_fill(struct kvc *k, const struct scan_args *a,
			  size_t budget, struct page *p, int *rv)
{
	uint64_t h = a->cursor;
	uint64_t stop = k->bmask - h < SCAN_VISIT_MAX ? (uint64_t)k->bmask + 1
						      : h + SCAN_VISIT_MAX;
	while (h < stop && p->n < a->count) {
		if (k->btab[h] == 0) {
			h++; /* the common case in a sparse table */
			continue;
		}
		uint64_t n0 = p->n;
		size_t bytes0 = p->bytes;
		*rv = bucket_add(k, a, (uint32_t)h, p);
		if (*rv != 0) {
			return 0;
		}
		if (n0 > 0 && p->bytes > budget) {
			p->n = n0; /* this bucket goes to the next page */
			p->bytes = bytes0;
			break;
		}
		h++;
	}
	return h;
}

int kvc__exec_scan(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		   struct kvc_reply *r)
{
	struct scan_args a = {0};
	int rv = parse_scan(argc, argv, &a, r);
	if (rv != 0) {
		return rv;
	}
	if (a.cursor > k->bmask) {
		return kvc__err(r, "invalid cursor");
	}
	bool all = argv[1].len == 1 && argv[1].base[0] == '*';
	a.ns = all ? KVC__NONE : kvc__ns_find(k, argv[1].base, argv[1].len);
	uint64_t end = (uint64_t)k->bmask + 1; /* no such namespace: done */
	struct page p = {.cap = 512};
	p.b = kvc__scratch(k, (size_t)p.cap * 4);
	if (p.b == NULL) {
		return FR_NOMEM;
	}
	if (all || a.ns != KVC__NONE) {
		size_t budget =
		    r->max != 0 ? r->max - r->max / 8 : SCAN_BUDGET_DEFAULT;
		end = page_fill(k, &a, budget, &p, &rv);
		if (rv != 0) {
			return rv;
		}
	}
	rv = kvc__reply_array(r, 3);
	rv = rv ? rv : kvc__reply_uint(r, end > k->bmask ? 0 : end);
	rv = rv ? rv : kvc__reply_uint(r, k->ev_next);
	rv = rv ? rv : kvc__reply_array(r, p.n);
	for (uint64_t i = 0; rv == 0 && i < p.n; i++) {
		rv = reply_scan_block(r, k, p.b[i]);
	}
	return rv;
}
