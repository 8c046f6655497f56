/* kvc_digest.c — the state digest, KVC.DIGEST and KVC.STATS. */
#include <string.h>

#include "kvc_int.h"
#include "le.h"

/*
 * The digest hashes the logical state only, never indices or table layout:
 * each block, node, reservation and KV pair is hashed on its own and the
 * results are added (so iteration order does not matter), while each LRU
 * list is hashed in order (eviction order is state).  Two replicas, or a
 * replica and one restored from its snapshot, have equal digests exactly
 * when these agree (up to hash collisions).  The clock (now_ms) and the
 * next reservation id are included; the count of applied entries is not,
 * nor is the event feed (its next seq and kept events): like the applied
 * count it records history, not state (two histories can reach one state,
 * test_kvc_prop relies on that), and how many events are kept is a local
 * option.  Replicas number the feed alike because they apply the same
 * entries; test_kvc_events and e2e_events check it.
 */

struct acc {
	uint64_t h;
};

static void add(struct acc *a, const void *buf, size_t len)
{
	a->h = kvc__hash64(a->h, buf, len);
}

static void add64(struct acc *a, uint64_t v)
{
	a->h = kvc__mix64(a->h ^ kvc__mix64(v + 0x632be59bd9b4e019ull));
}

/*
 * Variable-length hashes: a block's hash enters as its bytes through
 * kvc__hash64(), which seeds with the length, so 01 and i:1 differ.  A
 * root's parent enters as 16 zero bytes, as in version 1 (where that was
 * the root marker and no hash could be all zero); a real parent of 16
 * zero bytes, possible since hashes are opaque, also adds a marker word.
 * So a state that version 1 could hold has the digest version 1 gave it,
 * and replicas of both versions agree while they hold such states.
 */
static void add_parent(struct acc *a, const struct kvc__hash *p)
{
	static const uint8_t zero[KVC__HASH_INLINE];
	if (p->len == 0) {
		add(a, zero, sizeof(zero));
		return;
	}
	add(a, p->b, p->len);
	if (p->len == KVC__HASH_INLINE && memcmp(p->b, zero, 16) == 0) {
		add64(a, 0x7a65726f706172ull); /* "zeropar" */
	}
}

/* A block's hash in an LRU order word: version 1 took the first 8 bytes
 * (little-endian) of its 16; other lengths hash all their bytes. */
static uint64_t lru_word(const struct kvc *k, const struct kvc__block *b)
{
	if (kvc__blk_hlen(b) == KVC__HASH_INLINE) {
		return le_get_u64(b->hash);
	}
	struct kvc__hash h;
	kvc__block_hash(k, b, &h);
	return kvc__hash64(0x6c7275u, h.b, h.len);
}

static uint64_t block_digest(const struct kvc *k, const struct kvc__block *b)
{
	struct acc a = {k->ns[kvc__blk_ns(b)].hash};
	struct kvc__hash h;
	kvc__block_hash(k, b, &h);
	add(&a, h.b, h.len);
	kvc__block_parent(k, b, &h);
	add_parent(&a, &h);
	add64(&a, b->tokens);
	add64(&a, b->last_access_ms);
	add64(&a, b->pins);
	add64(&a, b->pin_expiry_ms);
	for (uint32_t l = b->loc; l != KVC__NONE; l = k->locs[l].next) {
		const struct kvc__loc *loc = &k->locs[l];
		add64(&a, (uint64_t)k->nodes[loc->node].id << 8 | loc->tier);
		add64(&a, loc->offset);
		add64(&a, loc->len);
	}
	return a.h;
}

static uint64_t node_digest(const struct kvc *k, const struct kvc__node *n)
{
	struct acc a = {n->id};
	add(&a, n->addr, n->addr_len);
	add64(&a, n->numa);
	add64(&a, n->down);
	add64(&a, n->lease_expiry_ms);
	for (unsigned t = 0; t < KVC__TIERS; t++) {
		const struct kvc__tier *tr = &n->tier[t];
		add64(&a, tr->present);
		add64(&a, tr->cap);
		add64(&a, tr->used);
		add64(&a, tr->reserved);
		/* The LRU order, from least recent. */
		for (uint32_t l = tr->present ? tr->lru_head : KVC__NONE;
		     l != KVC__NONE; l = k->locs[l].lru_next) {
			const struct kvc__block *b =
			    &k->blocks[k->locs[l].block];
			add64(&a, lru_word(k, b) ^ k->ns[kvc__blk_ns(b)].hash);
		}
	}
	return a.h;
}

uint64_t kvc_digest(const struct kvc *k)
{
	uint64_t blocks = 0;
	uint64_t nodes = 0;
	uint64_t res = 0;
	uint64_t kv = 0;
	for (uint32_t b = 0; b < k->blocks_hw; b++) {
		if (k->blocks[b].loc != KVC__NONE) {
			blocks += block_digest(k, &k->blocks[b]);
		}
	}
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		if (k->nodes[s].id != 0) {
			nodes += node_digest(k, &k->nodes[s]);
		}
	}
	for (uint32_t i = 0; i < k->nres; i++) {
		const struct kvc__res *r = &k->res[i];
		struct acc a = {r->rid};
		add64(&a, r->bytes);
		add64(&a, r->expiry_ms);
		add64(&a, k->ns[r->ns].hash);
		add64(&a, (uint64_t)k->nodes[r->node].id << 8 | r->tier);
		res += a.h;
	}
	for (uint32_t i = 0; i <= k->kvmask; i++) {
		const struct kvc__kv *e = k->kv[i];
		if (e != NULL) {
			struct acc a = {e->hash};
			add(&a, e->data, (size_t)e->klen + e->vlen);
			add64(&a, e->klen);
			kv += a.h;
		}
	}
	struct acc a = {0x6b7663u};
	add64(&a, k->now_ms);
	add64(&a, k->next_rid);
	add64(&a, blocks);
	add64(&a, nodes);
	add64(&a, res);
	add64(&a, kv);
	return a.h;
}

int kvc__check_digest(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	return argc == 1 ? 0 : kvc__err_arity(err, &argv[0]);
}

int kvc__exec_digest(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t d = kvc_digest(k);
	char buf[16];
	for (unsigned i = 0; i < 16; i++) {
		buf[i] = hex[(d >> (60 - 4 * i)) & 15];
	}
	return kvc__reply_bulk(r, buf, sizeof(buf));
}

int kvc__check_stats(uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *err)
{
	return argc == 1 ? 0 : kvc__err_arity(err, &argv[0]);
}

int kvc__exec_stats(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		    struct kvc_reply *r)
{
	uint64_t cap = 0;
	uint64_t used = 0;
	uint64_t reserved = 0;
	uint64_t alive = 0;
	for (uint32_t s = 0; s < k->o.nodes_max; s++) {
		const struct kvc__node *n = &k->nodes[s];
		alive += kvc__node_alive(k, n);
		for (unsigned t = 0; n->id != 0 && t < KVC__TIERS; t++) {
			cap += n->tier[t].cap;
			used += n->tier[t].used;
			reserved += n->tier[t].reserved;
		}
	}
	const struct {
		const char *name;
		uint64_t v;
	} f[] = {
	    {"blocks", k->nblocks},
	    {"blocks_max", k->o.blocks_max},
	    {"locations", k->nlocs},
	    {"locations_max", k->o.locations_max},
	    {"long_hashes", k->nlong},
	    {"long_hashes_max", k->o.long_hashes_max},
	    {"namespaces", k->nns},
	    {"nodes", k->nnodes},
	    {"nodes_alive", alive},
	    {"reservations", k->nres},
	    {"kv_keys", k->nkv},
	    {"bytes_capacity", cap},
	    {"bytes_used", used},
	    {"bytes_reserved", reserved},
	    {"now_ms", k->now_ms},
	    {"applied", k->applied},
	};
	size_t n = sizeof(f) / sizeof(f[0]);
	int rv = kvc__reply_array(r, 2 * n);
	for (size_t i = 0; rv == 0 && i < n; i++) {
		rv = kvc__reply_bulk(r, f[i].name, strlen(f[i].name));
		rv = rv ? rv : kvc__reply_uint(r, f[i].v);
	}
	return rv;
}
