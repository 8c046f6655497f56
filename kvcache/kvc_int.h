/* kvc_int.h — kvcache's private types and module-internal functions. */
#ifndef FABRAFT_KVC_INT_H
#define FABRAFT_KVC_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvc.h"

#define KVC__NONE	 UINT32_MAX /* no index */
#define KVC__TIERS	 4u	    /* hbm, dram, cxl, nvme: fastest first */
#define KVC__NODE_ID_MAX 65535u

/* Default capacities (struct kvc_options field = 0). */
#define KVC__DEF_BLOCKS	  (1u << 20)
#define KVC__DEF_NODES	  256u
#define KVC__DEF_NS	  1024u
#define KVC__DEF_RES	  65536u
#define KVC__DEF_KV	  (1u << 16)
#define KVC__DEF_LEASE_MS 30000u /* KVC.ALLOC without LEASE */
#define KVC__DEF_EVENTS	  65536u

/* Event types (KVC.EVENTS; docs/kvcache.md "Event feed").  The numbers are
 * in the snapshot: never renumber. */
enum kvc__ev_type {
	KVC__EV_STORED = 1,  /* ns hash node tier offset len tokens parent */
	KVC__EV_EVICTED = 2, /* ns hash node tier */
	KVC__EV_REVOKED = 3, /* rid ns node tier bytes */
	KVC__EV_NODE_JOINED = 4,  /* node addr */
	KVC__EV_NODE_EXPIRED = 5, /* node */
	KVC__EV_NODE_LEFT = 6,	  /* node */
	KVC__EV_NS_CLEARED = 7,	  /* ns */
	KVC__EV_TYPES = 8	  /* one past the last */
};

/* One event: a fixed-size record, self-contained (the namespace name and
 * the node address are copied, not referred to by slot: a namespace's
 * slot is reused once its last block goes, a node id may come back with
 * another address, and the event must still say what happened).  The seq
 * is not stored: the event of seq s lives at ev[s % o.events_max]. */
struct kvc__event {
	uint64_t index;			/* Raft log index of the entry */
	uint64_t a;			/* stored: offset; revoked: rid */
	uint64_t b;			/* stored: len; revoked: bytes */
	uint32_t tokens;		/* stored: tokens */
	uint16_t node;			/* node id (0 for ns_cleared) */
	uint8_t type;			/* enum kvc__ev_type */
	uint8_t tier;			/* 0..3 where the type has one */
	uint8_t text_len;		/* bytes of text */
	uint8_t hash[KVC_HASH_BYTES];	/* stored, evicted: block hash */
	uint8_t parent[KVC_HASH_BYTES]; /* stored: parent (zero = root) */
	char text[KVC_ADDR_BYTES_MAX];	/* namespace name, or node_joined's
					   address */
};

/* One block: 64 bytes, so 1M blocks with one location each cost
 * 64 + 32 (location) + 16 (two table slots) = 112 bytes. */
struct kvc__block {
	uint8_t hash[KVC_HASH_BYTES];	/* identity within the namespace */
	uint8_t parent[KVC_HASH_BYTES]; /* previous block; all zero = root */
	uint64_t last_access_ms;	/* LRU clock (entry time) */
	uint64_t pin_expiry_ms;		/* pins count only while now < this */
	uint32_t ns;			/* namespace index */
	uint32_t tokens;		/* tokens the block covers */
	uint32_t pins;			/* pin count (see pin_expiry_ms) */
	uint32_t loc;			/* first location, KVC__NONE = free */
};
static_assert(sizeof(struct kvc__block) == 64, "block is 64 bytes");

/* Cache line: blocks and locations start on one (kvc_open.c). */
#define KVC__LINE 64

/* One location of a block; also an element of its tier's LRU list.
 * A block's locations are kept sorted by (node id, tier). */
struct kvc__loc {
	uint64_t offset;   /* byte offset in the tier (the node's business) */
	uint32_t len;	   /* bytes */
	uint32_t block;	   /* owning block index */
	uint32_t next;	   /* next location of the same block; free-list link */
	uint32_t lru_prev; /* towards least recently used */
	uint32_t lru_next; /* towards most recently used */
	uint16_t node;	   /* node slot */
	uint8_t tier;	   /* 0..3 */
	uint8_t pad;	   /* zero */
};
static_assert(sizeof(struct kvc__loc) == 32, "location is 32 bytes");

struct kvc__tier {
	uint64_t cap;	   /* capacity in bytes; 0 and !present = no tier */
	uint64_t used;	   /* sum of location lengths */
	uint64_t reserved; /* sum of live reservations */
	uint32_t lru_head; /* least recently used location */
	uint32_t lru_tail; /* most recently used location */
	uint32_t nlocs;	   /* locations on this tier */
	bool present;	   /* the node has this tier */
};

struct kvc__node {
	uint64_t lease_expiry_ms;	   /* 0 = no lease (never expires) */
	struct kvc__tier tier[KVC__TIERS]; /* indexed by tier */
	uint16_t id;			   /* 1..65535; 0 = slot free */
	uint8_t numa;			   /* NUMA node of the storage */
	bool down;	  /* lease expired and locations reclaimed */
	uint8_t addr_len; /* bytes of addr */
	char addr[KVC_ADDR_BYTES_MAX]; /* "host:port" or any opaque string */
	uint8_t loc_len;	       /* bytes of loc_prefix */
	/* RESP of a location's first fields,
	 * "*5\r\n:<id>\r\n$<n>\r\n<addr>\r\n", built once: lookups copy it
	 * instead of formatting it. */
	char loc_prefix[KVC_ADDR_BYTES_MAX + 32];
};

struct kvc__ns {
	uint64_t hash;		     /* kvc__hash64 of the name */
	uint32_t refs;		     /* blocks + reservations; 0 = slot free */
	uint32_t blocks;	     /* blocks in this namespace */
	uint8_t len;		     /* name bytes */
	char name[KVC_NS_BYTES_MAX]; /* not NUL-terminated */
};

struct kvc__res {
	uint64_t rid;	    /* reservation id, never reused */
	uint64_t bytes;	    /* reserved on (node, tier) */
	uint64_t expiry_ms; /* released when the clock reaches this */
	uint32_t ns;	    /* namespace index */
	uint16_t node;	    /* node slot */
	uint8_t tier;	    /* 0..3 */
};

/* One generic KV pair: one allocation holding key then value. */
struct kvc__kv {
	uint64_t hash; /* kvc__hash64 of the key */
	uint32_t klen; /* key bytes */
	uint32_t vlen; /* value bytes */
	char data[];   /* key, then value */
};

struct kvc {
	struct kvc_options o; /* capacities, defaults filled in */
	uint64_t now_ms;      /* largest entry time applied */
	uint64_t next_rid;    /* next reservation id (starts at 1) */
	uint64_t sweep_ms;    /* earliest lease expiry; UINT64_MAX = none */
	uint64_t applied;     /* entries applied (counted in the digest) */

	struct kvc__block *blocks; /* [blocks_max], 64-byte aligned */
	void *blocks_mem;	   /* what fr_calloc returned for blocks */
	uint32_t blocks_hw;	   /* high-water mark of used indices */
	uint32_t blocks_free;	   /* free list, linked through .ns */
	uint32_t nblocks;	   /* live blocks */
	uint64_t *btab; /* [bmask + 1]: tag << 32 | (index + 1), 0 = empty */
	uint32_t bmask; /* table size - 1 (power of two) */

	struct kvc__loc *locs; /* [locations_max], 64-byte aligned */
	void *locs_mem;	       /* what fr_calloc returned for locs */
	uint32_t locs_hw;      /* high-water mark */
	uint32_t locs_free;    /* free list through .next */
	uint32_t nlocs;	       /* live locations */

	struct kvc__node *nodes; /* [nodes_max] */
	uint32_t nnodes;	 /* registered nodes */
	uint16_t *node_slot;	 /* [65536]: id -> slot + 1, 0 = unknown */

	struct kvc__ns *ns; /* [namespaces_max] */
	uint32_t *nstab;    /* [nsmask + 1]: index + 1 */
	uint32_t nsmask;    /* table size - 1 */
	uint32_t nns;	    /* live namespaces */

	struct kvc__res *res; /* [reservations_max], dense */
	uint32_t nres;	      /* live reservations */
	uint32_t *rtab;	      /* [rmask + 1]: dense index + 1 */
	uint32_t rmask;	      /* table size - 1 */

	struct kvc__kv **kv; /* [kvmask + 1] open addressing, NULL = empty */
	uint32_t kvmask;     /* table size - 1 */
	uint32_t nkv;	     /* live keys */

	struct kvc__event *ev; /* [o.events_max] ring, see struct kvc__event */
	uint64_t ev_next;      /* seq of the next event (starts at 1) */
	uint64_t ev_count;     /* events kept: seqs ev_next - ev_count .. */
	uint64_t ev_index;     /* log index of the entry being applied */

	struct kvc_arg *argv; /* decode scratch: [KVC_ARGC_MAX] */
	int64_t *acc;	      /* [nodes_max * 4] capacity deltas, kept zero */
	void *scratch;	      /* per-command scratch (see kvc_block.c) */
	size_t scratch_bytes; /* bytes allocated at scratch */
};

/* Snapshot stream framing (kvc_snapshot.c writes, kvc_restore.c reads). */
#define SNAP_MAGIC   "KVCSNAP1"
#define SNAP_END     "KVCEND!!"
#define SNAP_VERSION 2u /* 2: namespace slots, event ring */

/* ---- kvc_hash.c ---- */
uint64_t kvc__hash64(uint64_t seed, const void *buf, size_t len);

/* MurmurHash3's fmix64 finaliser; inline: every table probe uses it. */
static inline uint64_t kvc__mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* ---- kvc_reply.c ---- */
int kvc__reply_raw(struct kvc_reply *r, const void *buf, size_t len);
int kvc__reply_str(struct kvc_reply *r, const char *s);
int kvc__reply_int(struct kvc_reply *r, int64_t v);
int kvc__reply_uint(struct kvc_reply *r, uint64_t v);
int kvc__reply_bulk(struct kvc_reply *r, const void *buf, size_t len);
int kvc__reply_bulk_uint(struct kvc_reply *r, uint64_t v);
int kvc__reply_bulk_hash(struct kvc_reply *r, const uint8_t *h);
int kvc__reply_array(struct kvc_reply *r, uint64_t n);
int kvc__reply_nil(struct kvc_reply *r);
int kvc__reply_tier(struct kvc_reply *r, unsigned tier); /* bulk name */
/* Make room for @more bytes at r->buf + r->len (FR_NOMEM). */
int kvc__reply_reserve(struct kvc_reply *r, size_t more);
int kvc__reply_ok(struct kvc_reply *r);
/* "-ERR <msg>\r\n" (msg must not hold CR/LF); returns FR_INVALID or
 * FR_NOMEM so callers can `return kvc__err(r, "...")`. */
int kvc__err(struct kvc_reply *r, const char *msg);
/* "-ERR <a><name><b>\r\n", name made safe (no CR/LF). */
int kvc__err3(struct kvc_reply *r, const char *a, const struct kvc_arg *name,
	      const char *b);
int kvc__err_arity(struct kvc_reply *r, const struct kvc_arg *cmd);
/* "-ERR <a><v><b>\r\n" */
int kvc__err_num(struct kvc_reply *r, const char *a, uint64_t v, const char *b);
void kvc__fmt_hash(char *out, const uint8_t *h);

/* Decimal digits of @v at @out (no NUL); returns how many.  Two digits
 * per step: replies are mostly numbers. */
static inline size_t kvc__fmt_u64(char *out, uint64_t v)
{
	static const char pairs[201] =
	    "000102030405060708091011121314151617181920212223242526272829303132"
	    "33"
	    "343536373839404142434445464748495051525354555657585960616263646566"
	    "67"
	    "6869707172737475767778798081828384858687888990919293949596979899";
	if (v < 10) {
		out[0] = (char)('0' + v);
		return 1;
	}
	if (v < 100) {
		out[0] = pairs[2 * v];
		out[1] = pairs[2 * v + 1];
		return 2;
	}
	if (v < 10000) {
		unsigned hi = (unsigned)v / 100;
		unsigned lo = (unsigned)v % 100;
		size_t n = 0;
		if (hi >= 10) {
			out[n++] = pairs[2 * hi];
		}
		out[n++] = pairs[2 * hi + 1];
		out[n++] = pairs[2 * lo];
		out[n++] = pairs[2 * lo + 1];
		return n;
	}
	/* Count the digits, then write them from the end: no temporary
	 * buffer and no variable-length copy. */
	static const uint64_t pow10[20] = {1ull,
					   10ull,
					   100ull,
					   1000ull,
					   10000ull,
					   100000ull,
					   1000000ull,
					   10000000ull,
					   100000000ull,
					   1000000000ull,
					   10000000000ull,
					   100000000000ull,
					   1000000000000ull,
					   10000000000000ull,
					   100000000000000ull,
					   1000000000000000ull,
					   10000000000000000ull,
					   100000000000000000ull,
					   1000000000000000000ull,
					   10000000000000000000ull};
	/* bits * log10(2) (1233 / 4096) is the digit count or one more;
	 * one comparison decides. */
	unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233 >> 12;
	size_t n = t + 1 - (v < pow10[t]);
	char *end = out + n;
	/* Eight digits at a time, split into four independent pairs: byte
	 * offsets have ten or more digits, and a chain of divisions by 100
	 * would be one long dependency. */
	while (v >= 100000000) {
		uint32_t c = (uint32_t)(v % 100000000);
		v /= 100000000;
		uint32_t hi = c / 10000;
		uint32_t lo = c % 10000;
		const char *d[4] = {
		    &pairs[2 * (hi / 100)], &pairs[2 * (hi % 100)],
		    &pairs[2 * (lo / 100)], &pairs[2 * (lo % 100)]};
		end -= 8;
		for (unsigned i = 0; i < 4; i++) {
			end[2 * i] = d[i][0];
			end[2 * i + 1] = d[i][1];
		}
	}
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100);
		v /= 100;
		*--end = pairs[2 * d + 1];
		*--end = pairs[2 * d];
	}
	if (v >= 10) {
		*--end = pairs[2 * v + 1];
		*--end = pairs[2 * v];
	} else {
		*--end = (char)('0' + v);
	}
	assert(end == out);
	return n;
}

/* ---- kvc_parse.c ---- */
bool kvc__arg_eq(const struct kvc_arg *a, const char *word);
bool kvc__parse_u64(const struct kvc_arg *a, uint64_t *v);
bool kvc__parse_i64(const char *s, size_t len, int64_t *v);
bool kvc__parse_hash(const struct kvc_arg *a, uint8_t out[KVC_HASH_BYTES]);
/* The portable kvc__parse_hash() (which may use SIMD); for tests. */
bool kvc__parse_hash_scalar(const struct kvc_arg *a,
			    uint8_t out[KVC_HASH_BYTES]);
bool kvc__parse_parent(const struct kvc_arg *a, uint8_t out[KVC_HASH_BYTES]);
int kvc__parse_tier(const struct kvc_arg *a); /* 0..3 or -1 */
const char *kvc__tier_name(unsigned tier);
bool kvc__parse_node_id(const struct kvc_arg *a, uint16_t *id);
bool kvc__parse_lease(const struct kvc_arg *a, uint64_t *ms);
bool kvc__ns_valid(const struct kvc_arg *a);
/* The checks every command on a namespace starts with, in the order the
 * replies promise: the arity (@arity_ok, judged by the caller), then the
 * namespace argv[1].  0 or the error reply's code. */
int kvc__check_ns_cmd(bool arity_ok, const struct kvc_arg *argv,
		      struct kvc_reply *err);
bool kvc__hash_is_zero(const uint8_t *h);

/* ---- kvc_codec.c ---- */
int kvc__decode(const void *entry, size_t len, uint64_t *now_ms, uint32_t *argc,
		struct kvc_arg *argv);

/* ---- kvc_probe.c: deletion from a linear-probing table ---- */

/* One open-addressing table as kvc__probe_delete() sees it: mask + 1 slots
 * of @size bytes each, all-zero bytes marking an empty slot. */
struct kvc__probe {
	void *slots;	 /* the slot array */
	size_t size;	 /* bytes per slot */
	uint32_t mask;	 /* slots - 1 (a power of two minus one) */
	const void *ctx; /* passed to @home */
	/* Hash of the (non-empty) slot's entry; its low bits are its home. */
	uint32_t (*home)(const void *ctx, const void *slot);
};

/** Empty slot @i of @p's table, keeping every other entry findable. */
void kvc__probe_delete(const struct kvc__probe *p, uint32_t i);

/* ---- kvc_table.c: blocks, locations, LRU ---- */
uint32_t kvc__block_find(const struct kvc *k, uint32_t ns, const uint8_t *h);
/* The table hash of (ns, h); the _key variants take it precomputed.
 * These and the cache hints for batched lookups (the table slot, then the
 * block) are inline: a 64-block lookup calls each 64 times. */
static inline uint64_t kvc__block_key(uint32_t ns, const uint8_t *h)
{
	uint64_t a;
	uint64_t b;
	memcpy(&a, h, 8);
	memcpy(&b, h + 8, 8);
	return kvc__mix64(a ^ kvc__mix64(b ^ ((uint64_t)ns << 32 | 0x2545u)));
}

static inline uint32_t kvc__tag_of(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

static inline void kvc__block_prefetch(const struct kvc *k, uint64_t key)
{
	__builtin_prefetch(&k->btab[kvc__tag_of(key) & k->bmask]);
}

/* Second stage: read the (prefetched) slot and return the first block
 * whose tag matches, without comparing keys: a guess to prefetch, not an
 * answer (KVC__NONE when no tag matches). */
static inline uint32_t kvc__block_guess(const struct kvc *k, uint64_t key)
{
	uint32_t tag = kvc__tag_of(key);
	for (uint32_t i = tag & k->bmask;; i = (i + 1) & k->bmask) {
		uint64_t s = k->btab[i];
		if (s == 0) {
			return KVC__NONE;
		}
		if ((uint32_t)(s >> 32) == tag) {
			return (uint32_t)s - 1;
		}
	}
}

static inline uint32_t kvc__block_find_key(const struct kvc *k, uint64_t key,
					   uint32_t ns, const uint8_t *h)
{
	uint32_t tag = kvc__tag_of(key);
	for (uint32_t i = tag & k->bmask;; i = (i + 1) & k->bmask) {
		uint64_t s = k->btab[i];
		if (s == 0) {
			return KVC__NONE;
		}
		if ((uint32_t)(s >> 32) != tag) {
			continue;
		}
		uint32_t b = (uint32_t)s - 1;
		const struct kvc__block *blk = &k->blocks[b];
		if (blk->ns == ns &&
		    memcmp(blk->hash, h, KVC_HASH_BYTES) == 0) {
			return b;
		}
	}
}

uint32_t kvc__block_new(struct kvc *k, uint32_t ns, const uint8_t *h);
uint32_t kvc__block_insert(struct kvc *k, uint32_t ns, const uint8_t *h);
void kvc__block_delete(struct kvc *k, uint32_t b);
uint32_t kvc__loc_find(const struct kvc *k, uint32_t b, uint16_t node,
		       uint8_t tier);
uint32_t kvc__loc_add(struct kvc *k, uint32_t b, uint16_t node, uint8_t tier,
		      uint64_t offset, uint32_t len);
void kvc__loc_remove(struct kvc *k, uint32_t l);
void kvc__block_touch(struct kvc *k, uint32_t b);
bool kvc__block_pinned(const struct kvc *k, const struct kvc__block *b);

/* ---- kvc_ns.c ---- */
uint32_t kvc__ns_find(const struct kvc *k, const char *name, size_t len);
/* Find or create; KVC__NONE when the table is full. */
uint32_t kvc__ns_get(struct kvc *k, const char *name, size_t len);
/* Create @name (not present) at free slot @idx (snapshot restore). */
void kvc__ns_put(struct kvc *k, uint32_t idx, const char *name, size_t len);
void kvc__ns_ref(struct kvc *k, uint32_t ns);
void kvc__ns_unref(struct kvc *k, uint32_t ns);

/* ---- kvc_node.c ---- */
uint32_t kvc__node_find(const struct kvc *k, uint16_t id); /* slot or NONE */
void kvc__sweep(struct kvc *k);
void kvc__sweep_recompute(struct kvc *k);
void kvc__node_prefix(struct kvc__node *n); /* fill loc_prefix from id/addr */

/* ---- kvc_lookup.c ---- */
bool kvc__lookup_is_write(uint32_t argc, const struct kvc_arg *argv);

/* ---- kvc_alloc.c ---- */
uint32_t kvc__res_find(const struct kvc *k, uint64_t rid);
void kvc__res_remove(struct kvc *k, uint32_t i);
int kvc__res_insert(struct kvc *k, const struct kvc__res *r);

/* ---- kvc_event.c: the event ring ---- */
/* Append one event (the oldest goes when the ring is full). */
struct kvc__event *kvc__ev_add(struct kvc *k, uint8_t type);
void kvc__ev_stored(struct kvc *k, uint32_t loc);
void kvc__ev_evicted(struct kvc *k, uint32_t loc);
void kvc__ev_revoked(struct kvc *k, const struct kvc__res *r);
void kvc__ev_node(struct kvc *k, uint8_t type, const struct kvc__node *n);
void kvc__ev_ns_cleared(struct kvc *k, uint32_t ns);
/* The kept event of seq @seq (ev_next - ev_count <= seq < ev_next). */
static inline struct kvc__event *kvc__ev_at(const struct kvc *k, uint64_t seq)
{
	return &k->ev[seq % k->o.events_max];
}

/* ---- kvc_kv.c ---- */
const struct kvc__kv *kvc__kv_find(const struct kvc *k, const char *key,
				   size_t len);
int kvc__kv_insert(struct kvc *k, struct kvc__kv *e); /* takes ownership */
void kvc__kv_clear(struct kvc *k);

/* ---- scratch ---- */
void *kvc__scratch(struct kvc *k, size_t bytes); /* NULL = FR_NOMEM */

/* now + lease, saturating: a leader clock near 2^64 must not wrap a lease
 * into the past. */
static inline uint64_t kvc__deadline(const struct kvc *k, uint64_t lease_ms)
{
	return k->now_ms > UINT64_MAX - lease_ms ? UINT64_MAX
						 : k->now_ms + lease_ms;
}

/* Alive: registered, not reclaimed, lease (if any) not yet expired. */
static inline bool kvc__node_alive(const struct kvc *k,
				   const struct kvc__node *n)
{
	return n->id != 0 && !n->down &&
	       (n->lease_expiry_ms == 0 || k->now_ms < n->lease_expiry_ms);
}

/* ---- command handlers (kvc_cmd.c dispatches) ----
 * check: validate without state; exec: validate against state, then act.
 * Both receive argv with argv[0] the command name. */
typedef int (*kvc__check_fn)(uint32_t argc, const struct kvc_arg *argv,
			     struct kvc_reply *err);
typedef int (*kvc__exec_fn)(struct kvc *k, uint32_t argc,
			    const struct kvc_arg *argv, struct kvc_reply *r);

/* clang-format off */
#define KVC__HANDLERS(X)                                                       \
	X(kv_set) X(kv_get) X(kv_del) X(kv_exists) X(kv_mset) X(kv_mget)      \
	X(kv_incr) X(node_add) X(node_del) X(node_list) X(node_heartbeat)     \
	X(put) X(evict) X(nsdel) X(lookup) X(alloc) X(revoke) X(pin) X(unpin) \
	X(stats) X(digest) X(events) X(scan)
/* clang-format on */
#define KVC__DECL(n)                                                           \
	int kvc__check_##n(uint32_t argc, const struct kvc_arg *argv,          \
			   struct kvc_reply *err);                             \
	int kvc__exec_##n(struct kvc *k, uint32_t argc,                        \
			  const struct kvc_arg *argv, struct kvc_reply *r);
KVC__HANDLERS(KVC__DECL)
#undef KVC__DECL

#endif /* FABRAFT_KVC_INT_H */
