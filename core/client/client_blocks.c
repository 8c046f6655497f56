/* client_blocks.c — blocks with their locations (KVC.LOOKUP, KVC.SCAN)
 * parsed into one allocation. */
#include <string.h>

#include "client_int.h"
#include "heap.h"

/*
 * A 64-block lookup answer is 64 blocks, their locations and the address
 * strings.  They go into one allocation (blocks, then locations, then
 * strings) sized by a first pass over the reply, so a lookup costs one
 * malloc and one free beyond the reply tree, not one per string: this is
 * most of what the library adds to a raw RESP call (fabraft-bench client).
 */

struct arena {
	struct fabraft_location *loc; /* next free location */
	char *text;		      /* next free string byte */
};

static bool is_arr(const struct respc_reply *r, size_t min)
{
	return r->type == '*' && r->n != SIZE_MAX && r->n >= min;
}

static bool is_str(const struct respc_reply *r)
{
	return (r->type == '$' || r->type == '+') && r->len != SIZE_MAX;
}

/* Pass 1: the shape of one block; its locations and string bytes. */
static bool measure(const struct respc_reply *e, bool scan, size_t *locs,
		    size_t *text)
{
	const struct respc_reply *l;

	if (!is_arr(e, scan ? 5 : 3) || !is_arr(&e->elem[scan ? 4 : 2], 0)) {
		return false;
	}
	if (scan) {
		if (!is_str(&e->elem[0])) {
			return false;
		}
		*text += e->elem[0].len + 1;
	}
	l = &e->elem[scan ? 4 : 2];
	*locs += l->n;
	for (size_t i = 0; i < l->n; i++) {
		if (!is_arr(&l->elem[i], 5) || !is_str(&l->elem[i].elem[1])) {
			return false;
		}
		*text += l->elem[i].elem[1].len + 1;
	}
	return true;
}

static char *put_str(struct arena *a, const struct respc_reply *r)
{
	char *s = a->text;

	memcpy(s, r->str, r->len);
	s[r->len] = '\0';
	a->text += r->len + 1;
	return s;
}

/* [node, addr, tier, offset, len] */
static bool fill_loc(struct arena *a, const struct respc_reply *e,
		     struct fabraft_location *l)
{
	uint64_t node;
	const struct respc_reply *t = &e->elem[2];

	if (!fabraft__reply_u64(&e->elem[0], &node) || !is_str(t) ||
	    t->len >= FABRAFT_TIER_SIZE ||
	    !fabraft__reply_u64(&e->elem[3], &l->offset) ||
	    !fabraft__reply_u64(&e->elem[4], &l->len)) {
		return false;
	}
	memcpy(l->tier, t->str, t->len + 1);
	l->node = (uint32_t)node;
	l->addr = put_str(a, &e->elem[1]);
	return true;
}

/* Pass 2: a lookup block [hash, tokens, locs] or a scan block [ns, hash,
 * parent, tokens, locs]. */
static bool fill(struct arena *a, const struct respc_reply *e, bool scan,
		 struct fabraft_block *b)
{
	size_t k = scan ? 2 : 0;
	const struct respc_reply *l = &e->elem[k + 2];

	if (scan && (fabraft__reply_hash(&e->elem[2], &b->parent) != 0)) {
		return false;
	}
	if (fabraft__reply_hash(&e->elem[scan ? 1 : 0], &b->hash) != 0 ||
	    b->hash.len == 0 ||
	    !fabraft__reply_u64(&e->elem[k + 1], &b->tokens)) {
		return false;
	}
	if (scan) {
		b->ns = put_str(a, &e->elem[0]);
	}
	b->locations = a->loc;
	b->n_locations = l->n;
	a->loc += l->n;
	for (size_t i = 0; i < l->n; i++) {
		if (!fill_loc(a, &l->elem[i], &b->locations[i])) {
			return false;
		}
	}
	return true;
}

void fabraft_blocks_free(struct fabraft_blocks *b)
{
	fr_free(b->blocks);
	memset(b, 0, sizeof(*b));
}

int fabraft__parse_blocks(const struct respc_reply *r, bool scan,
			  struct fabraft_blocks *out)
{
	size_t locs = 0;
	size_t text = 0;
	struct arena a;

	memset(out, 0, sizeof(*out));
	if (!is_arr(r, 0)) {
		return FR_MALFORMED;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (!measure(&r->elem[i], scan, &locs, &text)) {
			return FR_MALFORMED;
		}
	}
	out->blocks = fr_calloc(1, r->n * sizeof(*out->blocks) +
				       locs * sizeof(*a.loc) + text + 1);
	if (out->blocks == NULL) {
		return FR_NOMEM;
	}
	a.loc = (struct fabraft_location *)(out->blocks + r->n);
	a.text = (char *)(a.loc + locs);
	out->n = r->n;
	for (size_t i = 0; i < r->n; i++) {
		if (!fill(&a, &r->elem[i], scan, &out->blocks[i])) {
			fabraft_blocks_free(out);
			return FR_MALFORMED;
		}
	}
	return 0;
}
