/* client_kvc_read.c — typed KV-cache calls whose replies are trees:
 * lookups, node lists, allocations, stats, digest. */
#include <string.h>

#include "client_int.h"
#include "heap.h"

static bool is_arr(const struct respc_reply *r, size_t min)
{
	return r->type == '*' && r->n != SIZE_MAX && r->n >= min;
}

static bool is_str(const struct respc_reply *r)
{
	return (r->type == '$' || r->type == '+') && r->len != SIZE_MAX;
}

static bool copy_tier(const struct respc_reply *r, char *out)
{
	if (!is_str(r) || r->len >= FABRAFT_TIER_SIZE) {
		return false;
	}
	memcpy(out, r->str, r->len + 1);
	return true;
}

/* The end of a parse: errmsg for a failure, @r freed. */
static int parsed(struct fabraft_client *c, int rv, struct respc_reply *r,
		  const char *name)
{
	respc_reply_free(r);
	if (rv == FR_NOMEM) {
		return fabraft__fail(c, rv, "out of memory");
	}
	if (rv != 0) {
		return fabraft__bad_reply(c, name);
	}
	return 0;
}

int fabraft_kvc_lookup(struct fabraft_client *c, const char *ns,
		       const struct fabraft_hash *chain, size_t n, bool touch,
		       struct fabraft_blocks *out)
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "empty chain");
	}
	fabraft__args_init(&a);
	fabraft__args_reserve(&a, n + 3, n * 2 * FABRAFT_HASH_MAX);
	fabraft__args_str(&a, "KVC.LOOKUP");
	fabraft__args_str(&a, ns);
	for (size_t i = 0; i < n; i++) {
		if (chain[i].len < 1 || chain[i].len > FABRAFT_HASH_MAX) {
			fabraft__args_free(&a);
			return fabraft__fail(c, FR_INVALID,
					     "hash %zu: length must be 1..32 "
					     "bytes",
					     i);
		}
		fabraft__args_hash(&a, &chain[i]);
	}
	if (touch) {
		fabraft__args_str(&a, "TOUCH");
	}
	rv = fabraft__call(c, &a, touch ? FABRAFT__IDEM : FABRAFT__READ, &r);
	if (rv != 0) {
		return rv;
	}
	rv = parsed(c, fabraft__parse_blocks(&r, false, out), &r, "KVC.LOOKUP");
	if (rv != 0) {
		fabraft_blocks_free(out);
	}
	return rv;
}

void fabraft_node_list_free(struct fabraft_node_list *l)
{
	for (size_t i = 0; l->nodes != NULL && i < l->n; i++) {
		fr_free(l->nodes[i].addr);
	}
	fr_free(l->nodes);
	memset(l, 0, sizeof(*l));
}

/* [id, addr, numa, alive, lease_expiry, [[tier, cap, used, res, locs]]] */
static int parse_node(const struct respc_reply *e, struct fabraft_node_info *d)
{
	uint64_t id;
	uint64_t numa;
	uint64_t alive;
	const struct respc_reply *t;

	if (!is_arr(e, 6) || !fabraft__reply_u64(&e->elem[0], &id) ||
	    !fabraft__reply_u64(&e->elem[2], &numa) ||
	    !fabraft__reply_u64(&e->elem[3], &alive) ||
	    !fabraft__reply_u64(&e->elem[4], &d->lease_expiry_ms) ||
	    !is_arr(&e->elem[5], 0) || e->elem[5].n > 4) {
		return FR_MALFORMED;
	}
	d->id = (uint32_t)id;
	d->numa = (uint32_t)numa;
	d->alive = alive != 0;
	d->addr = fabraft__strdup(&e->elem[1]);
	t = &e->elem[5];
	for (size_t j = 0; j < t->n; j++) {
		const struct respc_reply *x = &t->elem[j];
		struct fabraft_tier_info *ti = &d->tiers[j];

		if (!is_arr(x, 5) || !copy_tier(&x->elem[0], ti->tier) ||
		    !fabraft__reply_u64(&x->elem[1], &ti->capacity) ||
		    !fabraft__reply_u64(&x->elem[2], &ti->used) ||
		    !fabraft__reply_u64(&x->elem[3], &ti->reserved) ||
		    !fabraft__reply_u64(&x->elem[4], &ti->locations)) {
			return FR_MALFORMED;
		}
		d->n_tiers = j + 1;
	}
	return d->addr != NULL ? 0 : FR_MALFORMED;
}

int fabraft_kvc_node_list(struct fabraft_client *c,
			  struct fabraft_node_list *out)
{
	const char *argv[] = {"KVC.NODE.LIST"};
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	memset(out, 0, sizeof(*out));
	fabraft__args_init(&a);
	fabraft__args_str(&a, argv[0]);
	rv = fabraft__call(c, &a, FABRAFT__READ, &r);
	if (rv != 0) {
		return rv;
	}
	if (!is_arr(&r, 0)) {
		rv = FR_MALFORMED;
	} else if ((out->nodes = fr_calloc(r.n ? r.n : 1,
					   sizeof(*out->nodes))) == NULL) {
		rv = FR_NOMEM;
	}
	for (size_t i = 0; rv == 0 && i < r.n; i++) {
		out->n = i + 1;
		rv = parse_node(&r.elem[i], &out->nodes[i]);
	}
	rv = parsed(c, rv, &r, argv[0]);
	if (rv != 0) {
		fabraft_node_list_free(out);
	}
	return rv;
}

void fabraft_stats_free(struct fabraft_stats *s)
{
	for (size_t i = 0; s->v != NULL && i < s->n; i++) {
		fr_free(s->v[i].name);
	}
	fr_free(s->v);
	memset(s, 0, sizeof(*s));
}

int fabraft_stats_get(const struct fabraft_stats *s, const char *name,
		      int64_t *value)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].name, name) == 0) {
			*value = s->v[i].value;
			return 0;
		}
	}
	return FR_NOTFOUND;
}

int fabraft_kvc_stats(struct fabraft_client *c, struct fabraft_stats *out)
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	memset(out, 0, sizeof(*out));
	fabraft__args_init(&a);
	fabraft__args_str(&a, "KVC.STATS");
	rv = fabraft__call(c, &a, FABRAFT__READ, &r);
	if (rv != 0) {
		return rv;
	}
	if (!is_arr(&r, 0) || r.n % 2 != 0) {
		rv = FR_MALFORMED;
	} else if ((out->v = fr_calloc(r.n / 2 + 1, sizeof(*out->v))) == NULL) {
		rv = FR_NOMEM;
	}
	for (size_t i = 0; rv == 0 && i < r.n / 2; i++) {
		struct fabraft_stat *s = &out->v[i];

		out->n = i + 1;
		s->name = fabraft__strdup(&r.elem[2 * i]);
		if (s->name == NULL || r.elem[2 * i + 1].type != ':') {
			rv = FR_MALFORMED;
		} else {
			s->value = r.elem[2 * i + 1].integer;
		}
	}
	rv = parsed(c, rv, &r, "KVC.STATS");
	if (rv != 0) {
		fabraft_stats_free(out);
	}
	return rv;
}

int fabraft_kvc_digest(struct fabraft_client *c, char out[17])
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	out[0] = '\0';
	fabraft__args_init(&a);
	fabraft__args_str(&a, "KVC.DIGEST");
	rv = fabraft__call(c, &a, FABRAFT__READ, &r);
	if (rv != 0) {
		return rv;
	}
	if (!is_str(&r) || r.len != 16) {
		rv = FR_MALFORMED;
	} else {
		memcpy(out, r.str, 17);
	}
	return parsed(c, rv, &r, "KVC.DIGEST");
}
