/* kvc_int.h — kvcache's private types and module-internal functions. */
#ifndef FABRAFT_KVC_INT_H
#define FABRAFT_KVC_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Hash bytes kept in a block itself; a longer hash or parent puts its
 * other bytes in the long-hash pool (struct kvc__ext). */
#define KVC__HASH_INLINE 16u
/* nsw: namespace index | hash length << 20 | parent length << 26. */
#define KVC__NS_BITS  20u
#define KVC__NS_MASK  ((1u << KVC__NS_BITS) - 1)
#define KVC__KEY_MASK ((1u << (KVC__NS_BITS + 6)) - 1) /* ns + hash len */
#define KVC__DEF_LONG 65536u /* long-hash pool entries */

/* A parsed block hash: @len bytes (1..32; 0 = none, a root's parent), the
 * rest of @b zero, so fixed-size compares of the padded bytes are exact. */
struct kvc__hash {
	uint8_t b[KVC_HASH_BYTES_MAX]; /* bytes, zero after len */
	uint8_t len;		       /* 0..32 */
};

/* One event: a fixed-size record, self-contained (the namespace name and
 * the node address are copied, not referred to by slot: a namespace's
 * slot is reused once its last block goes, a node id may come back with
 * another address, and the event must still say what happened).  A
 * node_joined event has no hashes and no namespace, so its address shares
 * their room.  The seq is not stored: the event of seq s lives at
 * ev[s % o.events_max]. */
struct kvc__event {
	uint64_t index;	  /* Raft log index of the entry */
	uint64_t a;	  /* stored: offset; revoked: rid */
	uint64_t b;	  /* stored: len; revoked: bytes */
	uint32_t tokens;  /* stored: tokens */
	uint16_t node;	  /* node id (0 for ns_cleared) */
	uint8_t type;	  /* enum kvc__ev_type */
	uint8_t tier;	  /* 0..3 where the type has one */
	uint8_t text_len; /* bytes of the namespace or the address */
	union {
		struct {
			struct kvc__hash hash;	   /* stored, evicted */
			struct kvc__hash parent;   /* stored (len 0 = root) */
			char ns[KVC_NS_BYTES_MAX]; /* namespace name */
		} blk;			       /* every type but node_joined */
		char addr[KVC_ADDR_BYTES_MAX]; /* node_joined: the address */
	} u;
};
static_assert(sizeof(struct kvc__event) == 168, "event is 168 bytes");

/*
 * One block: 64 bytes, so 1M blocks with one location each cost
 * 64 + 32 (location) + 16 (two table slots) = 112 bytes when hash and
 * parent are at most 16 bytes ("short" block).  A "long" block (hash or
 * parent over 16 bytes) also holds one long-hash pool entry (36 bytes):
 * hash[0..16) stays here, parent[0..12) too with the pool index in
 * parent[12..16), and the pool entry holds hash[16..32) and
 * parent[12..32).  So a lookup of short hashes compares one 16-byte run
 * and the length bits of nsw, as before variable lengths.
 */
struct kvc__block {
	uint8_t hash[KVC__HASH_INLINE];	  /* hash, zero-padded (see above) */
	uint8_t parent[KVC__HASH_INLINE]; /* parent (short) or 12 + index */
	uint64_t last_access_ms;	  /* LRU clock (entry time) */
	uint64_t pin_expiry_ms;		  /* pins count only while now < this */
	uint32_t nsw;	 /* namespace | hash len << 20 | parent len << 26 */
	uint32_t tokens; /* tokens the block covers; free-list link */
	uint32_t pins;	 /* pin count (see pin_expiry_ms) */
	uint32_t loc;	 /* first location, KVC__NONE = free */
};
static_assert(sizeof(struct kvc__block) == 64, "block is 64 bytes");

/* The bytes of a long block that do not fit in it (see kvc__block). */
struct kvc__ext {
	uint8_t hash_tail[KVC_HASH_BYTES_MAX - KVC__HASH_INLINE]; /* [16..32) */
	uint8_t parent_tail[KVC_HASH_BYTES_MAX - 12];		  /* [12..32) */
};
static_assert(sizeof(struct kvc__ext) == 36, "pool entry is 36 bytes");

static inline uint32_t kvc__blk_ns(const struct kvc__block *b)
{
	return b->nsw & KVC__NS_MASK;
}

static inline unsigned kvc__blk_hlen(const struct kvc__block *b)
{
	return (b->nsw >> KVC__NS_BITS) & 63u;
}

static inline unsigned kvc__blk_plen(const struct kvc__block *b)
{
	return b->nsw >> (KVC__NS_BITS + 6);
}

static inline bool kvc__blk_long(const struct kvc__block *b)
{
	return kvc__blk_hlen(b) > KVC__HASH_INLINE ||
	       kvc__blk_plen(b) > KVC__HASH_INLINE;
}

/* Does (hash @h, parent @p) need a long-hash pool entry? */
static inline bool kvc__hash_long(const struct kvc__hash *h,
				  const struct kvc__hash *p)
{
	return h->len > KVC__HASH_INLINE || p->len > KVC__HASH_INLINE;
}

/* The nsw bits a table probe compares: namespace and hash length. */
static inline uint32_t kvc__nsw_key(uint32_t ns, const struct kvc__hash *h)
{
	return ns | (uint32_t)h->len << KVC__NS_BITS;
}

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
	uint32_t blocks_free;	   /* free list, linked through .tokens */
	uint32_t nblocks;	   /* live blocks */
	uint64_t *btab; /* [bmask + 1]: tag << 32 | (index + 1), 0 = empty */
	uint32_t bmask; /* table size - 1 (power of two) */

	struct kvc__ext *ext; /* [long_hashes_max] long-hash pool */
	uint32_t ext_hw;      /* high-water mark */
	uint32_t ext_free;    /* free list through hash_tail[0..4) */
	uint32_t nlong;	      /* entries in use */

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
#define SNAP_MAGIC	      "KVCSNAP1"
#define SNAP_END	      "KVCEND!!"
#define SNAP_VERSION	      3u /* 1: 16-byte hashes; 2: 1..32; 3: events */
#define KVC__SNAP_GROUP_BYTES 65536u /* version 2: block record group */
#define KVC__SNAP_REC_FIXED   30u    /* version 2 block record before ids */
#define KVC__SNAP_REC_MAX     (KVC__SNAP_REC_FIXED + 2 * KVC_HASH_BYTES_MAX)
#define KVC__SNAP_REC_V1      60u /* version 1 block record */

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
/* A hash as a bulk string of lower-case hex (len 1..32). */
int kvc__reply_bulk_hash(struct kvc_reply *r, const struct kvc__hash *h);
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
/* 2 * @n lower-case hex digits of the @n bytes at @h, at @out.
 * Branch-free, so with a constant @n (8, 16) it unrolls and vectorises;
 * inline: a 64-block lookup reply spells 64 hashes. */
static inline void kvc__fmt_hex(char *out, const uint8_t *h, size_t n)
{
	uint8_t nib[2 * KVC_HASH_BYTES_MAX];
	assert(n <= KVC_HASH_BYTES_MAX);
	for (size_t i = 0; i < n; i++) {
		nib[i * 2] = h[i] >> 4;
		nib[i * 2 + 1] = h[i] & 15;
	}
	for (size_t i = 0; i < n * 2; i++) {
		out[i] = (char)(nib[i] + '0' + (nib[i] > 9) * ('a' - '0' - 10));
	}
}

/* 2 * @len lower-case hex digits of @h at @out. */
void kvc__fmt_hash(char *out, const uint8_t *h, unsigned len);

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
/* A block hash (S1): an even number 2..64 of hex digits, or i:<decimal>
 * (-2^63..2^64-1, 8 bytes big-endian). */
bool kvc__parse_hash(const struct kvc_arg *a, struct kvc__hash *out);
/* The portable hex parser kvc__parse_hash() uses for lengths other than
 * 32 digits (32 digits may go through SIMD); for tests. */
bool kvc__parse_hash_scalar(const struct kvc_arg *a, struct kvc__hash *out);
/* A block hash, or "-" for a root block (len 0). */
bool kvc__parse_parent(const struct kvc_arg *a, struct kvc__hash *out);
#define KVC__BAD_HASH                                                          \
	"block hash must be 2..64 hex digits (even) or i:<64-bit integer>"
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
uint32_t kvc__block_find(const struct kvc *k, uint32_t ns,
			 const struct kvc__hash *h);
/* The table hash of (ns, h); the _key variants take it precomputed.
 * These and the cache hints for batched lookups (the table slot, then the
 * block) are inline: a 64-block lookup calls each 64 times.  The length
 * is hashed with the namespace, so i:1 and 01 land apart. */
static inline uint64_t kvc__block_key(uint32_t ns, const struct kvc__hash *h)
{
	uint64_t a;
	uint64_t b;
	memcpy(&a, h->b, 8);
	memcpy(&b, h->b + 8, 8);
	uint64_t s = (uint64_t)kvc__nsw_key(ns, h) << 32 | 0x2545u;
	if (h->len > KVC__HASH_INLINE) {
		uint64_t c;
		uint64_t d;
		memcpy(&c, h->b + 16, 8);
		memcpy(&d, h->b + 24, 8);
		s ^= kvc__mix64(c ^ kvc__mix64(d));
	}
	return kvc__mix64(a ^ kvc__mix64(b ^ s));
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

/* A long block's pool index (parent[12..16)). */
static inline uint32_t kvc__blk_ext(const struct kvc__block *b)
{
	uint32_t e;
	memcpy(&e, b->parent + 12, 4);
	return e;
}

/* Is @blk (live or not) the block (ns, h)?  Exact: namespace, length and
 * every byte. */
static inline bool kvc__block_is(const struct kvc *k,
				 const struct kvc__block *blk, uint32_t ns,
				 const struct kvc__hash *h)
{
	if ((blk->nsw & KVC__KEY_MASK) != kvc__nsw_key(ns, h) ||
	    memcmp(blk->hash, h->b, KVC__HASH_INLINE) != 0) {
		return false;
	}
	return h->len <= KVC__HASH_INLINE ||
	       memcmp(k->ext[kvc__blk_ext(blk)].hash_tail,
		      h->b + KVC__HASH_INLINE,
		      KVC_HASH_BYTES_MAX - KVC__HASH_INLINE) == 0;
}

static inline uint32_t kvc__block_find_key(const struct kvc *k, uint64_t key,
					   uint32_t ns,
					   const struct kvc__hash *h)
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
		if (kvc__block_is(k, &k->blocks[b], ns, h)) {
			return b;
		}
	}
}

/* The hash and the parent of block @b, in full. */
void kvc__block_hash(const struct kvc *k, const struct kvc__block *b,
		     struct kvc__hash *out);
void kvc__block_parent(const struct kvc *k, const struct kvc__block *b,
		       struct kvc__hash *out);
/* Is @b's parent @p (len 0: a root)?  Inline: every lookup block. */
static inline bool kvc__block_parent_is(const struct kvc *k,
					const struct kvc__block *b,
					const struct kvc__hash *p)
{
	if (kvc__blk_plen(b) != p->len) {
		return false;
	}
	if (!kvc__blk_long(b)) {
		return memcmp(b->parent, p->b, KVC__HASH_INLINE) == 0;
	}
	return memcmp(b->parent, p->b, 12) == 0 &&
	       memcmp(k->ext[kvc__blk_ext(b)].parent_tail, p->b + 12,
		      sizeof(k->ext[0].parent_tail)) == 0;
}
/* Preconditions of both: not present, nblocks < blocks_max, and a pool
 * entry free when kvc__hash_long(h, parent).  The block gets its hash,
 * parent and tokens but no location yet: the caller adds one before
 * returning to the dispatcher. */
uint32_t kvc__block_new(struct kvc *k, uint32_t ns, const struct kvc__hash *h,
			const struct kvc__hash *parent);
uint32_t kvc__block_insert(struct kvc *k, uint32_t ns,
			   const struct kvc__hash *h,
			   const struct kvc__hash *parent);
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

/* ---- kvc_glob.c ---- */
/* Redis' MATCH: does @s (@slen bytes) match the glob @pat?  Adds the
 * token steps taken to *@steps (at most (plen + 1) x (slen + 1)). */
bool kvc__glob_match(const char *pat, size_t plen, const char *s, size_t slen,
		     uint64_t *steps);

/* ---- kvc_cmd.c: the command table, for kvc_txn.c ---- */
struct kvc__cmd;
/* The table's command named @name, or NULL (TXN is not in the table). */
const struct kvc__cmd *kvc__cmd_find(const struct kvc_arg *name);
/* Stateless check of @c's arguments; with @client also the per-command
 * work limits.  Sets *@kind and *@work (its weight in a transaction). */
int kvc__cmd_check(const struct kvc__cmd *c, uint32_t argc,
		   const struct kvc_arg *argv, bool client, enum kvc_kind *kind,
		   uint32_t *work, struct kvc_reply *err);
enum kvc_kind kvc__cmd_kind(const struct kvc__cmd *c, uint32_t argc,
			    const struct kvc_arg *argv);
/* Run a checked command: 0, FR_INVALID (error reply), FR_NOMEM, FR_TOOBIG
 * (reply past r->max). */
int kvc__cmd_exec(struct kvc *k, const struct kvc__cmd *c, uint32_t argc,
		  const struct kvc_arg *argv, struct kvc_reply *r);

/* ---- kvc_txn.c ---- */
bool kvc__is_txn(const struct kvc_arg *name);
/* Validate a whole TXN (@client: also the work limits); *@kind is WRITE
 * when any of its commands writes.  0 or the error reply's code. */
int kvc__txn_check(uint32_t argc, const struct kvc_arg *argv, bool client,
		   enum kvc_kind *kind, struct kvc_reply *err);
/* Run a TXN: applying an entry (@apply: validated here, reads bounded by
 * @read_max) or a checked read-only one for kvc_read() (bounded by
 * r->max: FR_TOOBIG).  0, FR_INVALID (refused, no change) or FR_NOMEM. */
int kvc__txn_exec(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		  bool apply, size_t read_max, struct kvc_reply *r);

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
	X(kv_incr) X(kv_incrby) X(kv_decr) X(kv_decrby) X(kv_scan)         \
	X(kv_dbsize) X(kv_type) X(node_add) X(node_del) X(node_list) X(node_heartbeat)     \
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
