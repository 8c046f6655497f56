/* fabraft_client.h — the C client library inference stacks link: leader
 * discovery, retries within a deadline, typed KV-cache and KV calls. */
#ifndef FABRAFT_CLIENT_H
#define FABRAFT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h" /* the FR_* codes every call returns (fabraft_strerror) */

/*
 * Design notes (docs/client.md has the whole story)
 * ============
 * 1. One client = one blocking RESP connection to the node it believes
 *    leads, built on fabraft_respc (hiredis's encoder and reply parser).
 *    Opening parses the endpoint list only; the first call connects.
 * 2. Leader discovery: INFO of an endpoint names role and leader_client;
 *    the client then talks to the leader itself, not through a follower's
 *    forwarding.  -MOVED is followed.
 * 3. Every call has a deadline (options.deadline_ms).  Until it passes,
 *    connection failures, -TRYAGAIN and "no leader" are retried after a
 *    backoff (exponential, full jitter) -- subject to rule 4.
 * 4. Retry safety.  A write whose outcome is unknown (the connection broke
 *    after the request was sent, or -TRYAGAIN said "outcome unknown") is
 *    retried only when the command is idempotent (docs/client.md lists
 *    them) and options.retry_idempotent is on; otherwise the call returns
 *    FR_UNKNOWN.  A write that failed for certain ("not executed", "not
 *    committed", "no leader", connect refused) is always retried.
 * 5. Threads: a client is used by one thread at a time (no locks inside);
 *    separate clients share nothing and may be used concurrently.
 * 6. Errors: every call returns 0 or a positive FR_* code (err.h);
 *    fabraft_errmsg() says why.  An error reply of the server (a bad
 *    argument, a full table) is FR_REFUSED with the server's text.
 * 7. Ownership: inputs are borrowed for the call.  Results are allocated by
 *    the library and freed with the matching *_free(), which is safe on a
 *    zeroed result; a failed call leaves its result zeroed.
 */

#if defined(__GNUC__)
#define FABRAFT_API __attribute__((visibility("default")))
#define FABRAFT_WUR __attribute__((warn_unused_result))
#else
#define FABRAFT_API
#define FABRAFT_WUR
#endif

/** At most this many endpoints in one list. */
#define FABRAFT_ENDPOINTS_MAX 16
/** Longest block hash, in bytes (spec S1). */
#define FABRAFT_HASH_MAX 32
/** Buffer size for a hash as lowercase hex plus NUL. */
#define FABRAFT_HASH_HEX_SIZE (2 * FABRAFT_HASH_MAX + 1)

struct fabraft_client;

/** Options of fabraft_open(); fill with fabraft_options_default() first. */
struct fabraft_options {
	size_t size;		/* sizeof(struct fabraft_options) */
	const char *endpoints;	/* "host:port,host:port,..." (borrowed) */
	const char *password;	/* AUTH password, NULL = none (copied) */
	int deadline_ms;	/* whole call, retries included (10000) */
	int connect_timeout_ms; /* one connect attempt (1000) */
	int io_timeout_ms;	/* one reply, capped by the deadline (5000) */
	int backoff_min_ms;	/* first retry's backoff ceiling (10) */
	int backoff_max_ms;	/* largest backoff ceiling (500) */
	bool discover_leader;	/* INFO to find the leader (true) */
	bool retry_idempotent;	/* retry unknown-outcome idempotent writes */
	uint64_t seed;		/* backoff jitter seed, 0 = from the clock */
};

/** Counters of one client (for tests and monitoring). */
struct fabraft_client_stats {
	uint64_t calls;	      /* calls (a pipeline counts once) */
	uint64_t retries;     /* attempts after the first */
	uint64_t moved;	      /* -MOVED replies followed */
	uint64_t discoveries; /* INFO-based leader look-ups */
	uint64_t connects;    /* connections made */
};

/** A block hash: 1..32 opaque bytes (spec S1). */
struct fabraft_hash {
	uint8_t len;			 /* 1..FABRAFT_HASH_MAX; 0 = none */
	uint8_t bytes[FABRAFT_HASH_MAX]; /* the first len are used */
};

/** A reply tree (RESP2), as the server sent it. */
struct fabraft_reply {
	char type;		    /* '+', '-', ':', '$', '*'; 0 when none */
	int64_t integer;	    /* ':' the value */
	char *str;		    /* '+', '-', '$': NUL-terminated, owned */
	size_t len;		    /* bytes in str; '$' nil: SIZE_MAX */
	size_t n;		    /* '*': elements; nil array: SIZE_MAX */
	struct fabraft_reply *elem; /* '*': n elements, owned */
};

/** One command of a pipeline. */
struct fabraft_cmd {
	int argc;		 /* >= 1 */
	const char *const *argv; /* borrowed */
	const size_t *lens;	 /* NULL = strlen of each */
};

/* ---- client ---------------------------------------------------------- */

/** Defaults (the values in parentheses above). */
FABRAFT_API void fabraft_options_default(struct fabraft_options *o);
/**
 * Make a client for the cluster in o->endpoints.  No connection is made
 * yet.  0; FR_INVALID for a bad endpoint list or option (@err, if not
 * NULL, says why: @err_size bytes); FR_NOMEM.  *@c is NULL on failure.
 */
FABRAFT_API FABRAFT_WUR int fabraft_open(struct fabraft_client **c,
					 const struct fabraft_options *o,
					 char *err, size_t err_size);
/** Close the connection and free @c (NULL is fine). */
FABRAFT_API void fabraft_close(struct fabraft_client *c);
/** Why the last failed call failed (never NULL). */
FABRAFT_API const char *fabraft_errmsg(const struct fabraft_client *c);
/** "host:port" of the node the client is connected to, "" if none. */
FABRAFT_API const char *fabraft_server(const struct fabraft_client *c);
/** Counters since fabraft_open(). */
FABRAFT_API void fabraft_client_stats(const struct fabraft_client *c,
				      struct fabraft_client_stats *s);
/** Connect (discovering the leader) now rather than at the first call. */
FABRAFT_API FABRAFT_WUR int fabraft_connect(struct fabraft_client *c);
/** Text of an FR_* code (fr_strerror). */
FABRAFT_API const char *fabraft_strerror(int rv);

/* ---- generic commands ------------------------------------------------ */

/**
 * Send any command; its reply (an error reply too) goes to @r, to free
 * with fabraft_reply_free().  The command's retry class comes from its name
 * (docs/client.md); a command the library does not know is treated as a
 * write that is not idempotent.  Returns 0 when a reply arrived.  MULTI is
 * refused (FR_INVALID): send MULTI ... EXEC with fabraft_pipeline().
 */
FABRAFT_API FABRAFT_WUR int fabraft_command(struct fabraft_client *c, int argc,
					    const char *const *argv,
					    const size_t *lens,
					    struct fabraft_reply *r);
/**
 * Send @n commands in one write and read their @n replies into @r (an
 * array of @n, each to free with fabraft_reply_free).  Commands answered
 * -MOVED or with a retriable -TRYAGAIN are sent again (after the others;
 * a pipeline is not a transaction).  A pipeline holding MULTI is sent
 * once: replies are returned as they came, and commands left unanswered by
 * a broken connection are FR_UNKNOWN.  @rvs (may be NULL) gets each command's
 * result: 0 (reply in r[i]) or an FR_* code.  Returns 0 when every command
 * has a reply, else the first failure's code.
 */
FABRAFT_API FABRAFT_WUR int fabraft_pipeline(struct fabraft_client *c, size_t n,
					     const struct fabraft_cmd *cmds,
					     struct fabraft_reply *r, int *rvs);
/** Free what @r owns (safe on a zeroed reply). */
FABRAFT_API void fabraft_reply_free(struct fabraft_reply *r);
/** Print @r to stdout the way redis-cli does (@indent: 0). */
FABRAFT_API void fabraft_reply_print(const struct fabraft_reply *r, int indent);
/** Value of "key:" in INFO text @info, copied into @out ("" if none). */
FABRAFT_API void fabraft_info_field(const char *info, const char *key,
				    char *out, size_t cap);
/** INFO of the node @c is connected to (all sections, or @section) into
 * *@text, to free with fabraft_free().  0, or an FR_* code. */
FABRAFT_API FABRAFT_WUR int fabraft_info(struct fabraft_client *c,
					 const char *section, char **text);
/** Free memory the library returned (values of fabraft_get, fabraft_info). */
FABRAFT_API void fabraft_free(void *p);

/* ---- hashes (spec S1) ------------------------------------------------ */

/** @s (@len bytes): 2..64 hex digits (even count, any case) or "i:N".
 * 0 or FR_INVALID. */
FABRAFT_API FABRAFT_WUR int fabraft_hash_parse(struct fabraft_hash *h,
					       const char *s, size_t len);
/** The 8 bytes of @v, big-endian (what "i:N" means). */
FABRAFT_API void fabraft_hash_from_u64(struct fabraft_hash *h, uint64_t v);
/** The 8 bytes of @v as two's complement, big-endian. */
FABRAFT_API void fabraft_hash_from_i64(struct fabraft_hash *h, int64_t v);
/** @n (1..32) bytes at @p.  0 or FR_INVALID. */
FABRAFT_API FABRAFT_WUR int fabraft_hash_from_bytes(struct fabraft_hash *h,
						    const void *p, size_t n);
/** Lowercase hex of @h into @out (FABRAFT_HASH_HEX_SIZE bytes). */
FABRAFT_API void fabraft_hash_to_hex(const struct fabraft_hash *h,
				     char out[FABRAFT_HASH_HEX_SIZE]);
/** True when lengths and bytes are equal. */
FABRAFT_API bool fabraft_hash_equal(const struct fabraft_hash *a,
				    const struct fabraft_hash *b);

/* ---- generic key/value store ------------------------------------------ */

/** GET @key: *@found says whether it exists; the value (NUL-terminated,
 * @vlen bytes) goes to *@val, to free with fabraft_free (NULL if none). */
FABRAFT_API FABRAFT_WUR int fabraft_get(struct fabraft_client *c,
					const char *key, char **val,
					size_t *vlen, bool *found);
/** SET @key to @vlen bytes at @val (idempotent: retried). */
FABRAFT_API FABRAFT_WUR int fabraft_set(struct fabraft_client *c,
					const char *key, const void *val,
					size_t vlen);
/** SET @key @val IFEQ @old: *@set says whether it was replaced (not
 * retried on an unknown outcome). */
FABRAFT_API FABRAFT_WUR int fabraft_set_ifeq(struct fabraft_client *c,
					     const char *key, const void *val,
					     size_t vlen, const void *old,
					     size_t oldlen, bool *set);
/** DEL @n keys; *@removed (may be NULL) gets how many existed. */
FABRAFT_API FABRAFT_WUR int fabraft_del(struct fabraft_client *c,
					const char *const *keys, size_t n,
					uint64_t *removed);
/** EXISTS @n keys: *@count of them exist. */
FABRAFT_API FABRAFT_WUR int fabraft_exists(struct fabraft_client *c,
					   const char *const *keys, size_t n,
					   uint64_t *count);
/** MSET @n pairs: keys[i] gets vals[i] (@vlens[i] bytes). */
FABRAFT_API FABRAFT_WUR int fabraft_mset(struct fabraft_client *c,
					 const char *const *keys,
					 const void *const *vals,
					 const size_t *vlens, size_t n);
/** One value of fabraft_mget. */
struct fabraft_value {
	char *data; /* NUL-terminated, owned; NULL when missing */
	size_t len; /* bytes */
	bool found; /* the key exists */
};
/** Values of fabraft_mget. */
struct fabraft_values {
	size_t n;		 /* as many as keys asked for */
	struct fabraft_value *v; /* owned */
};
/** MGET @n keys into @out (free with fabraft_values_free). */
FABRAFT_API FABRAFT_WUR int fabraft_mget(struct fabraft_client *c,
					 const char *const *keys, size_t n,
					 struct fabraft_values *out);
FABRAFT_API void fabraft_values_free(struct fabraft_values *v);
/** INCR @key; the new value in *@value (may be NULL).  Not idempotent. */
FABRAFT_API FABRAFT_WUR int fabraft_incr(struct fabraft_client *c,
					 const char *key, int64_t *value);
/** INCRBY @key @by; the new value in *@value (may be NULL). */
FABRAFT_API FABRAFT_WUR int fabraft_incrby(struct fabraft_client *c,
					   const char *key, int64_t by,
					   int64_t *value);

/* ---- KV-cache placement (KVC.*, docs/kvcache.md) ----------------------- */

/** Tier names are "hbm", "dram", "cxl", "nvme". */
#define FABRAFT_TIER_SIZE 8

/** One tier of KVC.NODE.ADD. */
struct fabraft_tier_cap {
	const char *tier; /* borrowed */
	uint64_t bytes;	  /* capacity, > 0 */
};
/** KVC.NODE.ADD @id @addr @numa tiers... [LEASE @lease_ms] (0 = none). */
FABRAFT_API FABRAFT_WUR int
fabraft_kvc_node_add(struct fabraft_client *c, uint32_t id, const char *addr,
		     uint32_t numa, const struct fabraft_tier_cap *tiers,
		     size_t n_tiers, uint64_t lease_ms);
/** KVC.NODE.DEL @n ids; *@removed (may be NULL). */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_node_del(struct fabraft_client *c,
						 const uint32_t *ids, size_t n,
						 uint64_t *removed);
/** KVC.NODE.HEARTBEAT @lease_ms @n ids; *@renewed (may be NULL). */
FABRAFT_API FABRAFT_WUR int
fabraft_kvc_node_heartbeat(struct fabraft_client *c, uint64_t lease_ms,
			   const uint32_t *ids, size_t n, uint64_t *renewed);

/** One tier of a listed node. */
struct fabraft_tier_info {
	char tier[FABRAFT_TIER_SIZE]; /* name */
	uint64_t capacity;	      /* bytes */
	uint64_t used;		      /* bytes */
	uint64_t reserved;	      /* bytes */
	uint64_t locations;	      /* blocks stored there */
};
/** One storage node of KVC.NODE.LIST. */
struct fabraft_node_info {
	uint32_t id;			   /* 1..65535 */
	char *addr;			   /* owned */
	uint32_t numa;			   /* NUMA node */
	bool alive;			   /* lease holds (or none) */
	uint64_t lease_expiry_ms;	   /* 0 = no lease */
	size_t n_tiers;			   /* 1..4 */
	struct fabraft_tier_info tiers[4]; /* fastest first */
};
struct fabraft_node_list {
	size_t n;			 /* nodes */
	struct fabraft_node_info *nodes; /* owned, by id */
};
FABRAFT_API FABRAFT_WUR int
fabraft_kvc_node_list(struct fabraft_client *c, struct fabraft_node_list *out);
FABRAFT_API void fabraft_node_list_free(struct fabraft_node_list *l);

/** One block of KVC.PUT (placements). */
struct fabraft_put {
	const char *tier;	    /* borrowed */
	uint64_t offset;	    /* in the tier */
	uint32_t tokens;	    /* tokens in the block */
	uint32_t node;		    /* storage node */
	uint32_t len;		    /* bytes, >= 1 */
	struct fabraft_hash hash;   /* the block */
	struct fabraft_hash parent; /* len 0 = a root ("-") */
};
/** KVC.PUT @ns with @n blocks; *@created (may be NULL).  Idempotent. */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_put(struct fabraft_client *c,
					    const char *ns,
					    const struct fabraft_put *b,
					    size_t n, uint64_t *created);
/** One block of KVC.PUT ns RES (commits a reservation). */
struct fabraft_put_res {
	uint64_t rid;		    /* reservation id from KVC.ALLOC */
	uint64_t offset;	    /* in the reserved tier */
	uint32_t tokens;	    /* tokens in the block */
	struct fabraft_hash hash;   /* the block */
	struct fabraft_hash parent; /* len 0 = a root */
};
/** KVC.PUT @ns RES ...; *@created (may be NULL).  Not idempotent (the
 * reservation is consumed). */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_put_res(struct fabraft_client *c,
						const char *ns,
						const struct fabraft_put_res *b,
						size_t n, uint64_t *created);

/** One place a block is stored. */
struct fabraft_location {
	uint32_t node;		      /* storage node id */
	char *addr;		      /* its address, owned */
	char tier[FABRAFT_TIER_SIZE]; /* tier name */
	uint64_t offset;	      /* in the tier */
	uint64_t len;		      /* bytes */
};
/** One block of a lookup (parent unused) or a scan. */
struct fabraft_block {
	char *ns;			    /* scan only: owned; else NULL */
	struct fabraft_hash hash;	    /* the block */
	struct fabraft_hash parent;	    /* scan only; len 0 = a root */
	uint64_t tokens;		    /* tokens */
	size_t n_locations;		    /* >= 1 */
	struct fabraft_location *locations; /* owned */
};
struct fabraft_blocks {
	size_t n;		      /* blocks */
	struct fabraft_block *blocks; /* owned */
};
/** KVC.LOOKUP @ns over a chain of @n hashes [TOUCH]: the longest cached
 * prefix into @out (free with fabraft_blocks_free). */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_lookup(struct fabraft_client *c,
					       const char *ns,
					       const struct fabraft_hash *chain,
					       size_t n, bool touch,
					       struct fabraft_blocks *out);
FABRAFT_API void fabraft_blocks_free(struct fabraft_blocks *b);

/** KVC.EVICT @ns @n hashes [AT @at_node @at_tier] (@at_node 0 = every
 * location); *@removed (may be NULL).  Idempotent. */
FABRAFT_API FABRAFT_WUR int
fabraft_kvc_evict(struct fabraft_client *c, const char *ns,
		  const struct fabraft_hash *h, size_t n, uint32_t at_node,
		  const char *at_tier, uint64_t *removed);
/** KVC.DEL @ns; *@removed blocks (may be NULL).  Idempotent. */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_del(struct fabraft_client *c,
					    const char *ns, uint64_t *removed);

/** A block evicted to make room (KVC.ALLOC). */
struct fabraft_victim {
	char *ns;		      /* owned */
	struct fabraft_hash hash;     /* the block */
	uint32_t node;		      /* where it was */
	char tier[FABRAFT_TIER_SIZE]; /* tier */
};
/** One size's reservation (or its error) of KVC.ALLOC. */
struct fabraft_alloc {
	int rv;				/* 0, or FR_REFUSED: see err */
	char *err;			/* server's error text, owned */
	uint64_t rid;			/* reservation id */
	uint32_t node;			/* storage node */
	char *addr;			/* its address, owned */
	char tier[FABRAFT_TIER_SIZE];	/* tier */
	uint64_t bytes;			/* reserved */
	uint64_t expiry_ms;		/* lease end (cluster clock) */
	size_t n_victims;		/* evicted to make room */
	struct fabraft_victim *victims; /* owned */
};
struct fabraft_allocs {
	size_t n;		      /* one per size asked */
	struct fabraft_alloc *allocs; /* owned */
};
/** KVC.ALLOC @ns @n sizes [NEAR @near (0 = none)] [LEASE @lease_ms (0 =
 * default)] into @out (free with fabraft_allocs_free).  Not idempotent. */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_alloc(struct fabraft_client *c,
					      const char *ns,
					      const uint64_t *sizes, size_t n,
					      uint32_t near, uint64_t lease_ms,
					      struct fabraft_allocs *out);
FABRAFT_API void fabraft_allocs_free(struct fabraft_allocs *a);
/** KVC.REVOKE @n rids; *@released (may be NULL).  Idempotent. */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_revoke(struct fabraft_client *c,
					       const uint64_t *rids, size_t n,
					       uint64_t *released);
/** KVC.PIN @ns @lease_ms @n hashes; *@pinned (may be NULL).  Not
 * idempotent (pins count). */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_pin(struct fabraft_client *c,
					    const char *ns, uint64_t lease_ms,
					    const struct fabraft_hash *h,
					    size_t n, uint64_t *pinned);
/** KVC.UNPIN @ns @n hashes; *@unpinned (may be NULL).  Not idempotent. */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_unpin(struct fabraft_client *c,
					      const char *ns,
					      const struct fabraft_hash *h,
					      size_t n, uint64_t *unpinned);

/** One counter of KVC.STATS. */
struct fabraft_stat {
	char *name;    /* owned */
	int64_t value; /* its value */
};
struct fabraft_stats {
	size_t n;		/* counters */
	struct fabraft_stat *v; /* owned, in the server's order */
};
FABRAFT_API FABRAFT_WUR int fabraft_kvc_stats(struct fabraft_client *c,
					      struct fabraft_stats *out);
/** The value of @name in @s into *@value.  0 or FR_NOTFOUND. */
FABRAFT_API FABRAFT_WUR int fabraft_stats_get(const struct fabraft_stats *s,
					      const char *name, int64_t *value);
FABRAFT_API void fabraft_stats_free(struct fabraft_stats *s);
/** KVC.DIGEST: 16 hex digits and a NUL into @out. */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_digest(struct fabraft_client *c,
					       char out[17]);

/* ---- event feed (spec S2) ---------------------------------------------- */

/** One field of an event: an integer or a string (parse generically). */
struct fabraft_field {
	bool is_int;	 /* integer reply */
	int64_t integer; /* when is_int */
	char *str;	 /* otherwise: owned, NUL-terminated */
	size_t len;	 /* bytes in str */
};
/** One event: seq, Raft index, type ("stored", "evicted", ...), fields. */
struct fabraft_event {
	uint64_t seq;		      /* 1, 2, 3, ... */
	uint64_t index;		      /* Raft log index that produced it */
	char *type;		      /* owned */
	size_t n_fields;	      /* after the type */
	struct fabraft_field *fields; /* owned */
};
struct fabraft_events {
	uint64_t next_seq;	      /* pass to the next call */
	size_t n;		      /* events */
	struct fabraft_event *events; /* owned */
};
/**
 * KVC.EVENTS @from_seq [COUNT @count (0 = default)] [BLOCK @block_ms (< 0 =
 * none, else 0..60000)]; with BLOCK the call's reply wait and deadline are
 * raised to cover it.  FR_STALE when @from_seq is older than the oldest
 * kept (resync with fabraft_kvc_scan, errmsg has the server's text).
 */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_events(struct fabraft_client *c,
					       uint64_t from_seq,
					       uint32_t count, int block_ms,
					       struct fabraft_events *out);
FABRAFT_API void fabraft_events_free(struct fabraft_events *e);

/** One page of KVC.SCAN. */
struct fabraft_scan {
	uint64_t next_cursor;	 /* 0 = done */
	uint64_t seq;		 /* next event seq when the page was made */
	struct fabraft_blocks b; /* blocks with ns, parent and locations */
};
/** KVC.SCAN @ns (NULL = every namespace, "*") @cursor [COUNT @count]. */
FABRAFT_API FABRAFT_WUR int fabraft_kvc_scan(struct fabraft_client *c,
					     const char *ns, uint64_t cursor,
					     uint32_t count,
					     struct fabraft_scan *out);
FABRAFT_API void fabraft_scan_free(struct fabraft_scan *s);

#endif /* FABRAFT_CLIENT_H */
