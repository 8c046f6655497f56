/* client_kvc.c — typed KV-cache writes: nodes, placements, eviction,
 * reservations, pins. */
#include <string.h>

#include "client_int.h"
#include "heap.h"

int fabraft_kvc_node_add(struct fabraft_client *c, uint32_t id,
			 const char *addr, uint32_t numa,
			 const struct fabraft_tier_cap *tiers, size_t n_tiers,
			 uint64_t lease_ms)
{
	struct fabraft__args a;

	if (n_tiers == 0) {
		return fabraft__fail(c, FR_INVALID, "a node needs a tier");
	}
	fabraft__args_init(&a);
	fabraft__args_str(&a, "KVC.NODE.ADD");
	fabraft__args_u64(&a, id);
	fabraft__args_str(&a, addr);
	fabraft__args_u64(&a, numa);
	for (size_t i = 0; i < n_tiers; i++) {
		fabraft__args_str(&a, tiers[i].tier);
		fabraft__args_u64(&a, tiers[i].bytes);
	}
	if (lease_ms != 0) {
		fabraft__args_str(&a, "LEASE");
		fabraft__args_u64(&a, lease_ms);
	}
	return fabraft__ok(c, &a, FABRAFT__UNSAFE, "KVC.NODE.ADD");
}

/* @name [@first] ids... */
static int ids_call(struct fabraft_client *c, const char *name,
		    const uint64_t *first, const uint32_t *ids, size_t n,
		    enum fabraft__class cls, uint64_t *out)
{
	struct fabraft__args a;

	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "%s needs an id", name);
	}
	fabraft__args_init(&a);
	fabraft__args_str(&a, name);
	if (first != NULL) {
		fabraft__args_u64(&a, *first);
	}
	for (size_t i = 0; i < n; i++) {
		fabraft__args_u64(&a, ids[i]);
	}
	return fabraft__count(c, &a, cls, name, out);
}

int fabraft_kvc_node_del(struct fabraft_client *c, const uint32_t *ids,
			 size_t n, uint64_t *removed)
{
	/* A second run answers "unknown node": not idempotent. */
	return ids_call(c, "KVC.NODE.DEL", NULL, ids, n, FABRAFT__UNSAFE,
			removed);
}

int fabraft_kvc_node_heartbeat(struct fabraft_client *c, uint64_t lease_ms,
			       const uint32_t *ids, size_t n, uint64_t *renewed)
{
	return ids_call(c, "KVC.NODE.HEARTBEAT", &lease_ms, ids, n,
			FABRAFT__IDEM, renewed);
}

static bool hash_ok(const struct fabraft_hash *h, bool may_be_none)
{
	return (h->len == 0 && may_be_none) ||
	       (h->len >= 1 && h->len <= FABRAFT_HASH_MAX);
}

/* "KVC.PUT @ns [RES]" into @a: the start of either form of @n blocks. */
static int put_start(struct fabraft_client *c, struct fabraft__args *a,
		     const char *ns, bool res, size_t n)
{
	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "KVC.PUT needs a block");
	}
	fabraft__args_init(a);
	fabraft__args_reserve(a, 3 + 7 * n, n * (4 * FABRAFT_HASH_MAX + 80));
	fabraft__args_str(a, "KVC.PUT");
	fabraft__args_str(a, ns);
	if (res) {
		fabraft__args_str(a, "RES");
	}
	return 0;
}

/* Block @i's hash and parent are valid, or @a is freed and FR_INVALID. */
static int put_check(struct fabraft_client *c, struct fabraft__args *a,
		     size_t i, const struct fabraft_hash *hash,
		     const struct fabraft_hash *parent)
{
	if (hash_ok(hash, false) && hash_ok(parent, true)) {
		return 0;
	}
	fabraft__args_free(a);
	return fabraft__fail(c, FR_INVALID,
			     "block %zu: hash length must be 1..32 bytes", i);
}

int fabraft_kvc_put(struct fabraft_client *c, const char *ns,
		    const struct fabraft_put *b, size_t n, uint64_t *created)
{
	struct fabraft__args a;
	int rv = put_start(c, &a, ns, false, n);

	for (size_t i = 0; rv == 0 && i < n; i++) {
		rv = put_check(c, &a, i, &b[i].hash, &b[i].parent);
		if (rv == 0) {
			fabraft__args_hash(&a, &b[i].hash);
			fabraft__args_hash(&a, &b[i].parent);
			fabraft__args_u64(&a, b[i].tokens);
			fabraft__args_u64(&a, b[i].node);
			fabraft__args_str(&a, b[i].tier);
			fabraft__args_u64(&a, b[i].offset);
			fabraft__args_u64(&a, b[i].len);
		}
	}
	return rv != 0
		   ? rv
		   : fabraft__count(c, &a, FABRAFT__IDEM, "KVC.PUT", created);
}

int fabraft_kvc_put_res(struct fabraft_client *c, const char *ns,
			const struct fabraft_put_res *b, size_t n,
			uint64_t *created)
{
	struct fabraft__args a;
	int rv = put_start(c, &a, ns, true, n);

	for (size_t i = 0; rv == 0 && i < n; i++) {
		rv = put_check(c, &a, i, &b[i].hash, &b[i].parent);
		if (rv == 0) {
			fabraft__args_u64(&a, b[i].rid);
			fabraft__args_hash(&a, &b[i].hash);
			fabraft__args_hash(&a, &b[i].parent);
			fabraft__args_u64(&a, b[i].tokens);
			fabraft__args_u64(&a, b[i].offset);
		}
	}
	return rv != 0 ? rv
		       : fabraft__count(c, &a, FABRAFT__UNSAFE, "KVC.PUT RES",
					created);
}

/* @name @ns [@lease] hashes... */
static int hashes_args(struct fabraft_client *c, struct fabraft__args *a,
		       const char *name, const char *ns, const uint64_t *lease,
		       const struct fabraft_hash *h, size_t n)
{
	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "%s needs a hash", name);
	}
	fabraft__args_init(a);
	fabraft__args_reserve(a, n + 6, n * 2 * FABRAFT_HASH_MAX + 64);
	fabraft__args_str(a, name);
	fabraft__args_str(a, ns);
	if (lease != NULL) {
		fabraft__args_u64(a, *lease);
	}
	for (size_t i = 0; i < n; i++) {
		if (!hash_ok(&h[i], false)) {
			fabraft__args_free(a);
			return fabraft__fail(c, FR_INVALID,
					     "hash %zu: length must be 1..32 "
					     "bytes",
					     i);
		}
		fabraft__args_hash(a, &h[i]);
	}
	return 0;
}

int fabraft_kvc_evict(struct fabraft_client *c, const char *ns,
		      const struct fabraft_hash *h, size_t n, uint32_t at_node,
		      const char *at_tier, uint64_t *removed)
{
	struct fabraft__args a;
	int rv = hashes_args(c, &a, "KVC.EVICT", ns, NULL, h, n);

	if (rv != 0) {
		return rv;
	}
	if (at_node != 0) {
		fabraft__args_str(&a, "AT");
		fabraft__args_u64(&a, at_node);
		fabraft__args_str(&a, at_tier != NULL ? at_tier : "");
	}
	return fabraft__count(c, &a, FABRAFT__IDEM, "KVC.EVICT", removed);
}

int fabraft_kvc_del(struct fabraft_client *c, const char *ns, uint64_t *removed)
{
	struct fabraft__args a;

	fabraft__args_init(&a);
	fabraft__args_str(&a, "KVC.DEL");
	fabraft__args_str(&a, ns);
	return fabraft__count(c, &a, FABRAFT__IDEM, "KVC.DEL", removed);
}

int fabraft_kvc_revoke(struct fabraft_client *c, const uint64_t *rids, size_t n,
		       uint64_t *released)
{
	struct fabraft__args a;

	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "KVC.REVOKE needs an id");
	}
	fabraft__args_init(&a);
	fabraft__args_str(&a, "KVC.REVOKE");
	for (size_t i = 0; i < n; i++) {
		fabraft__args_u64(&a, rids[i]);
	}
	return fabraft__count(c, &a, FABRAFT__IDEM, "KVC.REVOKE", released);
}

int fabraft_kvc_pin(struct fabraft_client *c, const char *ns, uint64_t lease_ms,
		    const struct fabraft_hash *h, size_t n, uint64_t *pinned)
{
	struct fabraft__args a;
	int rv = hashes_args(c, &a, "KVC.PIN", ns, &lease_ms, h, n);

	if (rv != 0) {
		return rv;
	}
	return fabraft__count(c, &a, FABRAFT__UNSAFE, "KVC.PIN", pinned);
}

int fabraft_kvc_unpin(struct fabraft_client *c, const char *ns,
		      const struct fabraft_hash *h, size_t n,
		      uint64_t *unpinned)
{
	struct fabraft__args a;
	int rv = hashes_args(c, &a, "KVC.UNPIN", ns, NULL, h, n);

	if (rv != 0) {
		return rv;
	}
	return fabraft__count(c, &a, FABRAFT__UNSAFE, "KVC.UNPIN", unpinned);
}
