/* kvc_node.c — storage nodes, their tiers and heartbeat leases. */
#include <string.h>

#include "kvc_int.h"

/*
 * A node with a lease is alive while now < lease_expiry_ms.  Lookups skip
 * the locations of a node that is not alive.  The first entry applied at or
 * after the expiry reclaims it (kvc__sweep): its locations are removed
 * (blocks left without one go), its reservations are released, and it is
 * marked down until a heartbeat renews the lease.  Because time comes only
 * from entries, every replica reclaims at the same entry.
 */

uint32_t kvc__node_find(const struct kvc *k, uint16_t id)
{
	uint16_t s = k->node_slot[id];
	return s == 0 ? KVC__NONE : (uint32_t)s - 1;
}

void kvc__node_prefix(struct kvc__node *n)
{
	char *p = n->loc_prefix;
	memcpy(p, "*5\r\n:", 5);
	p += 5;
	p += kvc__fmt_u64(p, n->id);
	memcpy(p, "\r\n$", 3);
	p += 3;
	p += kvc__fmt_u64(p, n->addr_len);
	*p++ = '\r';
	*p++ = '\n';
	memcpy(p, n->addr, n->addr_len);
	p += n->addr_len;
	*p++ = '\r';
	*p++ = '\n';
	n->loc_len = (uint8_t)(p - n->loc_prefix);
	assert((size_t)n->loc_len <= sizeof(n->loc_prefix));
}

static void node_clear(struct kvc *k, uint32_t slot)
{
	struct kvc__node *n = &k->nodes[slot];
	for (unsigned t = 0; t < KVC__TIERS; t++) {
		while (n->tier[t].lru_head != KVC__NONE) {
			kvc__loc_remove(k, n->tier[t].lru_head);
		}
	}
	for (uint32_t i = k->nres; i-- > 0;) {
		if (k->res[i].node == slot) {
			kvc__res_remove(k, i);
		}
	}
}

void kvc__sweep_recompute(struct kvc *k)
{
	uint64_t m = UINT64_MAX;
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		const struct kvc__node *n = &k->nodes[s];
		if (n->id != 0 && !n->down && n->lease_expiry_ms != 0 &&
		    n->lease_expiry_ms < m) {
			m = n->lease_expiry_ms;
		}
	}
	for (uint32_t i = 0; i < k->nres; i++) {
		if (k->res[i].expiry_ms < m) {
			m = k->res[i].expiry_ms;
		}
	}
	k->sweep_ms = m;
}

/* Reclaim expired nodes and reservations; cheap unless something is due. */
void kvc__sweep(struct kvc *k)
{
	if (k->now_ms < k->sweep_ms) {
		return;
	}
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		struct kvc__node *n = &k->nodes[s];
		if (n->id != 0 && !n->down && n->lease_expiry_ms != 0 &&
		    n->lease_expiry_ms <= k->now_ms) {
			kvc__ev_node(k, KVC__EV_NODE_EXPIRED, n);
			node_clear(k, s);
			n->down = true;
		}
	}
	for (uint32_t i = k->nres; i-- > 0;) {
		if (k->res[i].expiry_ms <= k->now_ms) {
			kvc__ev_revoked(k, &k->res[i]);
			kvc__res_remove(k, i);
		}
	}
	kvc__sweep_recompute(k);
}

/* KVC.NODE.ADD id addr numa tier bytes [tier bytes ...] [LEASE ms] */
int kvc__check_node_add(uint32_t argc, const struct kvc_arg *argv,
			struct kvc_reply *err)
{
	uint16_t id;
	uint64_t v;
	uint32_t end = argc;
	if (argc >= 2 && kvc__arg_eq(&argv[argc - 2], "LEASE")) {
		if (!kvc__parse_lease(&argv[argc - 1], &v)) {
			return kvc__err(err, "lease must be 1..604800000 ms");
		}
		end -= 2;
	}
	if (end < 6 || (end - 4) % 2 != 0) {
		return kvc__err_arity(err, &argv[0]);
	}
	if (!kvc__parse_node_id(&argv[1], &id)) {
		return kvc__err(err, "node id must be 1..65535");
	}
	if (argv[2].len == 0 || argv[2].len > KVC_ADDR_BYTES_MAX) {
		return kvc__err(err, "address must be 1..128 bytes");
	}
	if (!kvc__parse_u64(&argv[3], &v) || v > 255) {
		return kvc__err(err, "numa node must be 0..255");
	}
	unsigned seen = 0;
	for (uint32_t i = 4; i < end; i += 2) {
		int t = kvc__parse_tier(&argv[i]);
		if (t < 0) {
			return kvc__err3(err, "unknown tier '", &argv[i],
					 "' (hbm, dram, cxl or nvme)");
		}
		if (seen & (1u << t)) {
			return kvc__err3(err, "duplicate tier '", &argv[i],
					 "'");
		}
		seen |= 1u << t;
		if (!kvc__parse_u64(&argv[i + 1], &v) || v == 0) {
			return kvc__err(err, "tier capacity must be a positive "
					     "integer of bytes");
		}
	}
	return 0;
}

int kvc__exec_node_add(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *r)
{
	uint16_t id;
	uint64_t numa;
	uint64_t lease = 0;
	uint32_t end = argc;
	if (kvc__arg_eq(&argv[argc - 2], "LEASE")) {
		(void)kvc__parse_lease(&argv[argc - 1], &lease);
		end -= 2;
	}
	(void)kvc__parse_node_id(&argv[1], &id);
	(void)kvc__parse_u64(&argv[3], &numa);
	if (kvc__node_find(k, id) != KVC__NONE) {
		return kvc__err3(r, "node ", &argv[1], " already exists");
	}
	if (k->nnodes == k->o.nodes_max) {
		return kvc__err(r, "node table full");
	}
	uint32_t s = 0;
	while (k->nodes[s].id != 0) {
		s++;
	}
	struct kvc__node *n = &k->nodes[s];
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->numa = (uint8_t)numa;
	n->addr_len = (uint8_t)argv[2].len;
	memcpy(n->addr, argv[2].base, argv[2].len);
	kvc__node_prefix(n);
	n->lease_expiry_ms = lease != 0 ? kvc__deadline(k, lease) : 0;
	for (unsigned t = 0; t < KVC__TIERS; t++) {
		n->tier[t].lru_head = KVC__NONE;
		n->tier[t].lru_tail = KVC__NONE;
	}
	for (uint32_t i = 4; i < end; i += 2) {
		struct kvc__tier *t = &n->tier[kvc__parse_tier(&argv[i])];
		t->present = true;
		(void)kvc__parse_u64(&argv[i + 1], &t->cap);
	}
	k->node_slot[id] = (uint16_t)(s + 1);
	k->nnodes++;
	kvc__ev_node(k, KVC__EV_NODE_JOINED, n);
	if (n->lease_expiry_ms != 0 && n->lease_expiry_ms < k->sweep_ms) {
		k->sweep_ms = n->lease_expiry_ms;
	}
	return kvc__reply_ok(r);
}

/* Node ids from argv[first..argc): valid and pairwise distinct. */
static int check_ids(uint32_t argc, const struct kvc_arg *argv, uint32_t first,
		     struct kvc_reply *err)
{
	for (uint32_t i = first; i < argc; i++) {
		uint16_t id;
		if (!kvc__parse_node_id(&argv[i], &id)) {
			return kvc__err(err, "node id must be 1..65535");
		}
		for (uint32_t j = first; j < i; j++) {
			uint16_t o;
			(void)kvc__parse_node_id(&argv[j], &o);
			if (o == id) {
				return kvc__err3(err, "duplicate node id ",
						 &argv[i], "");
			}
		}
	}
	return 0;
}

/* Every id in argv[first..argc) is registered. */
static int exec_ids_known(struct kvc *k, uint32_t argc,
			  const struct kvc_arg *argv, uint32_t first,
			  struct kvc_reply *r)
{
	for (uint32_t i = first; i < argc; i++) {
		uint16_t id;
		(void)kvc__parse_node_id(&argv[i], &id);
		if (kvc__node_find(k, id) == KVC__NONE) {
			return kvc__err3(r, "unknown node ", &argv[i], "");
		}
	}
	return 0;
}

/* KVC.NODE.DEL id [id ...]  (at most 256 ids: the duplicate check is
 * quadratic) */
int kvc__check_node_del(uint32_t argc, const struct kvc_arg *argv,
			struct kvc_reply *err)
{
	if (argc < 2 || argc > 257) {
		return kvc__err_arity(err, &argv[0]);
	}
	return check_ids(argc, argv, 1, err);
}

int kvc__exec_node_del(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *r)
{
	int rv = exec_ids_known(k, argc, argv, 1, r);
	if (rv != 0) {
		return rv;
	}
	for (uint32_t i = 1; i < argc; i++) {
		uint16_t id;
		(void)kvc__parse_node_id(&argv[i], &id);
		uint32_t s = kvc__node_find(k, id);
		kvc__ev_node(k, KVC__EV_NODE_LEFT, &k->nodes[s]);
		node_clear(k, s);
		memset(&k->nodes[s], 0, sizeof(k->nodes[s]));
		k->node_slot[id] = 0;
		k->nnodes--;
	}
	kvc__sweep_recompute(k);
	return kvc__reply_int(r, (int64_t)argc - 1);
}

/* KVC.NODE.HEARTBEAT lease_ms id [id ...] */
int kvc__check_node_heartbeat(uint32_t argc, const struct kvc_arg *argv,
			      struct kvc_reply *err)
{
	uint64_t lease;
	if (argc < 3 || argc > 258) {
		return kvc__err_arity(err, &argv[0]);
	}
	if (!kvc__parse_lease(&argv[1], &lease)) {
		return kvc__err(err, "lease must be 1..604800000 ms");
	}
	return check_ids(argc, argv, 2, err);
}

int kvc__exec_node_heartbeat(struct kvc *k, uint32_t argc,
			     const struct kvc_arg *argv, struct kvc_reply *r)
{
	uint64_t lease;
	(void)kvc__parse_lease(&argv[1], &lease);
	int rv = exec_ids_known(k, argc, argv, 2, r);
	if (rv != 0) {
		return rv;
	}
	for (uint32_t i = 2; i < argc; i++) {
		uint16_t id;
		(void)kvc__parse_node_id(&argv[i], &id);
		struct kvc__node *n = &k->nodes[kvc__node_find(k, id)];
		n->lease_expiry_ms = kvc__deadline(k, lease);
		if (n->down) {
			/* Revived, empty: to a follower, a node that joins. */
			kvc__ev_node(k, KVC__EV_NODE_JOINED, n);
		}
		n->down = false;
	}
	kvc__sweep_recompute(k);
	return kvc__reply_int(r, (int64_t)argc - 2);
}

/* KVC.NODE.LIST */
int kvc__check_node_list(uint32_t argc, const struct kvc_arg *argv,
			 struct kvc_reply *err)
{
	return argc == 1 ? 0 : kvc__err_arity(err, &argv[0]);
}

static int list_one(const struct kvc *k, const struct kvc__node *n,
		    struct kvc_reply *r)
{
	unsigned nt = 0;
	for (unsigned t = 0; t < KVC__TIERS; t++) {
		nt += n->tier[t].present;
	}
	int rv = kvc__reply_array(r, 6);
	rv = rv ? rv : kvc__reply_uint(r, n->id);
	rv = rv ? rv : kvc__reply_bulk(r, n->addr, n->addr_len);
	rv = rv ? rv : kvc__reply_uint(r, n->numa);
	rv = rv ? rv : kvc__reply_uint(r, kvc__node_alive(k, n));
	rv = rv ? rv : kvc__reply_uint(r, n->lease_expiry_ms);
	rv = rv ? rv : kvc__reply_array(r, nt);
	for (unsigned t = 0; rv == 0 && t < KVC__TIERS; t++) {
		const struct kvc__tier *tr = &n->tier[t];
		if (!tr->present) {
			continue;
		}
		rv = kvc__reply_array(r, 5);
		rv = rv ? rv : kvc__reply_tier(r, t);
		rv = rv ? rv : kvc__reply_uint(r, tr->cap);
		rv = rv ? rv : kvc__reply_uint(r, tr->used);
		rv = rv ? rv : kvc__reply_uint(r, tr->reserved);
		rv = rv ? rv : kvc__reply_uint(r, tr->nlocs);
	}
	return rv;
}

int kvc__exec_node_list(struct kvc *k, uint32_t argc,
			const struct kvc_arg *argv, struct kvc_reply *r)
{
	int rv = kvc__reply_array(r, k->nnodes);
	for (uint32_t id = 1; rv == 0 && id <= KVC__NODE_ID_MAX; id++) {
		uint32_t s = kvc__node_find(k, (uint16_t)id);
		if (s != KVC__NONE) {
			rv = list_one(k, &k->nodes[s], r);
		}
	}
	return rv;
}
