/* client_kvc_alloc.c — KVC.ALLOC: one reservation or error per size, with
 * the victims evicted to make room. */
#include <string.h>

#include "client_int.h"
#include "heap.h"

void fabraft_allocs_free(struct fabraft_allocs *a)
{
	for (size_t i = 0; a->allocs != NULL && i < a->n; i++) {
		struct fabraft_alloc *x = &a->allocs[i];

		for (size_t j = 0; x->victims != NULL && j < x->n_victims;
		     j++) {
			fr_free(x->victims[j].ns);
		}
		fr_free(x->victims);
		fr_free(x->addr);
		fr_free(x->err);
	}
	fr_free(a->allocs);
	memset(a, 0, sizeof(*a));
}

/* [[ns, hash, node, tier], ...] */
static int parse_victims(const struct respc_reply *r, struct fabraft_alloc *x)
{
	if (r->type != '*' || r->n == SIZE_MAX) {
		return FR_MALFORMED;
	}
	x->victims = fr_calloc(r->n ? r->n : 1, sizeof(*x->victims));
	if (x->victims == NULL) {
		return FR_NOMEM;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct respc_reply *e = &r->elem[i];
		struct fabraft_victim *v = &x->victims[i];
		uint64_t node;

		x->n_victims = i + 1;
		if (e->type != '*' || e->n < 4 ||
		    fabraft__reply_hash(&e->elem[1], &v->hash) != 0 ||
		    !fabraft__reply_u64(&e->elem[2], &node) ||
		    e->elem[3].type != '$' ||
		    e->elem[3].len >= FABRAFT_TIER_SIZE) {
			return FR_MALFORMED;
		}
		v->node = (uint32_t)node;
		memcpy(v->tier, e->elem[3].str, e->elem[3].len + 1);
		v->ns = fabraft__strdup(&e->elem[0]);
		if (v->ns == NULL) {
			return FR_MALFORMED;
		}
	}
	return 0;
}

/* [rid, node, addr, tier, bytes, expiry_ms, victims] or an error. */
static int parse_alloc(const struct respc_reply *e, struct fabraft_alloc *x)
{
	uint64_t node;

	if (e->type == '-') {
		x->rv = FR_REFUSED;
		x->err = fabraft__strdup(&(struct respc_reply){
		    .type = '$', .str = e->str, .len = e->len});
		return x->err != NULL ? 0 : FR_NOMEM;
	}
	if (e->type != '*' || e->n < 7 ||
	    !fabraft__reply_u64(&e->elem[0], &x->rid) ||
	    !fabraft__reply_u64(&e->elem[1], &node) || e->elem[3].type != '$' ||
	    e->elem[3].len >= FABRAFT_TIER_SIZE ||
	    !fabraft__reply_u64(&e->elem[4], &x->bytes) ||
	    !fabraft__reply_u64(&e->elem[5], &x->expiry_ms)) {
		return FR_MALFORMED;
	}
	x->node = (uint32_t)node;
	memcpy(x->tier, e->elem[3].str, e->elem[3].len + 1);
	x->addr = fabraft__strdup(&e->elem[2]);
	if (x->addr == NULL) {
		return FR_MALFORMED;
	}
	return parse_victims(&e->elem[6], x);
}

static int alloc_args(struct fabraft_client *c, struct fabraft__args *a,
		      const char *ns, const uint64_t *sizes, size_t n,
		      uint32_t near, uint64_t lease_ms)
{
	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "KVC.ALLOC needs a size");
	}
	fabraft__args_init(a);
	fabraft__args_str(a, "KVC.ALLOC");
	fabraft__args_str(a, ns);
	for (size_t i = 0; i < n; i++) {
		fabraft__args_u64(a, sizes[i]);
	}
	if (near != 0) {
		fabraft__args_str(a, "NEAR");
		fabraft__args_u64(a, near);
	}
	if (lease_ms != 0) {
		fabraft__args_str(a, "LEASE");
		fabraft__args_u64(a, lease_ms);
	}
	return 0;
}

int fabraft_kvc_alloc(struct fabraft_client *c, const char *ns,
		      const uint64_t *sizes, size_t n, uint32_t near,
		      uint64_t lease_ms, struct fabraft_allocs *out)
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	memset(out, 0, sizeof(*out));
	rv = alloc_args(c, &a, ns, sizes, n, near, lease_ms);
	if (rv == 0) {
		rv = fabraft__call(c, &a, FABRAFT__UNSAFE, &r);
	}
	if (rv != 0) {
		return rv;
	}
	if (r.type != '*' || r.n != n) {
		rv = FR_MALFORMED;
	} else if ((out->allocs = fr_calloc(n, sizeof(*out->allocs))) == NULL) {
		rv = FR_NOMEM;
	}
	for (size_t i = 0; rv == 0 && i < n; i++) {
		out->n = i + 1;
		rv = parse_alloc(&r.elem[i], &out->allocs[i]);
	}
	respc_reply_free(&r);
	if (rv != 0) {
		fabraft_allocs_free(out);
		return rv == FR_NOMEM ? fabraft__fail(c, rv, "out of memory")
				      : fabraft__bad_reply(c, "KVC.ALLOC");
	}
	return 0;
}
