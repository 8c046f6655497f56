/* kvc_lookup.c — KVC.LOOKUP: the longest cached prefix of a hash chain. */
#include <string.h>

#include "kvc_int.h"

/*
 * KVC.LOOKUP ns h1 h2 ... hn [TOUCH]
 *
 * Walks h1, h2, ... and stops at the first block that is missing, whose
 * parent is not the previous hash (h1 must be a root), or that has no
 * location on a live node.  So every block in the answer has its parent
 * right before it (invariant 5).  Reply: one array per block,
 * [hash, tokens, [[node, addr, tier, offset, len], ...]] with only the
 * locations on live nodes.  TOUCH (a write) marks the blocks used now.
 */

static bool touch_opt(uint32_t argc, const struct kvc_arg *argv)
{
	return argc >= 3 && kvc__arg_eq(&argv[argc - 1], "TOUCH");
}

bool kvc__lookup_is_write(uint32_t argc, const struct kvc_arg *argv)
{
	return touch_opt(argc, argv);
}

/* Arity and namespace; the hashes are checked while they are parsed. */
static int check_head(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	uint32_t end = touch_opt(argc, argv) ? argc - 1 : argc;
	return kvc__check_ns_cmd(end >= 3, argv, err);
}

static int bad_hash(struct kvc_reply *err)
{
	return kvc__err(err, KVC__BAD_HASH);
}

int kvc__check_lookup(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	int rv = check_head(argc, argv, err);
	uint32_t end = touch_opt(argc, argv) ? argc - 1 : argc;
	struct kvc__hash h;
	for (uint32_t i = 2; rv == 0 && i < end; i++) {
		if (!kvc__parse_hash(&argv[i], &h)) {
			rv = bad_hash(err);
		}
	}
	return rv;
}

static uint32_t live_locs(const struct kvc *k, uint32_t b)
{
	uint32_t n = 0;
	for (uint32_t l = k->blocks[b].loc; l != KVC__NONE;
	     l = k->locs[l].next) {
		n += kvc__node_alive(k, &k->nodes[k->locs[l].node]);
	}
	return n;
}

/* Lookups answer with up to 64 blocks per call and must stay within a few
 * microseconds, so the reply is written directly after one reservation
 * per block instead of value by value. */
static char *put_num(char *p, char prefix, uint64_t v)
{
	*p++ = prefix;
	if (v < 10) {
		/* Location counts: no call for the common case. */
		*p++ = (char)('0' + v);
	} else {
		p += kvc__fmt_u64(p, v);
	}
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* The last ":<v>\r\n" line written for a value that mostly repeats from
 * block to block (token count, block length): the next equal one is a
 * fixed 24-byte copy instead of a conversion. */
struct line_memo {
	uint64_t v; /* UINT64_MAX: none (the values are 32-bit) */
	size_t len; /* bytes of the line at s */
	char s[24]; /* the line; the rest is slack */
};

/* Precondition: 24 bytes of room at @p before @limit (a number's share of
 * the room): the memo is copied whole. */
static char *put_int_memo(char *p, const char *limit, uint64_t v,
			  struct line_memo *m)
{
	assert(limit - p >= (ptrdiff_t)sizeof(m->s));
	if (v == m->v) {
		memcpy(p, m->s, sizeof(m->s));
		return p + m->len;
	}
	char *end = put_num(p, ':', v);
	m->v = v;
	m->len = (size_t)(end - p);
	memcpy(m->s, p, m->len);
	return end;
}

/* A location's tier as a whole bulk string, padded to 16 bytes: one fixed
 * copy instead of formatting the length and copying the name. */
static const char tier_resp[KVC__TIERS][16] = {
    "$3\r\nhbm\r\n", "$4\r\ndram\r\n", "$3\r\ncxl\r\n", "$4\r\nnvme\r\n"};
static const uint8_t tier_resp_len[KVC__TIERS] = {9, 10, 9, 10};

#define BLOCK_BYTES_MAX (10 + 2 * KVC_HASH_BYTES_MAX + 2 + 3 * 24)
#define LOC_BYTES_MAX	(4 + 3 * 24 + 24 + KVC_ADDR_BYTES_MAX + 2 + 24 + 22)
static_assert(sizeof(((struct kvc__node *)0)->loc_prefix) % 16 == 0 &&
		  sizeof(((struct kvc__node *)0)->loc_prefix) + 16 + 2 * 24 <=
		      LOC_BYTES_MAX,
	      "loc_prefix and the tier are copied 16 at a time into a "
	      "location's room");

/* Room the reply of a block with @nlive live locations may need. */
static size_t block_room(uint32_t nlive)
{
	return BLOCK_BYTES_MAX + (size_t)nlive * LOC_BYTES_MAX;
}

/* A block's reply header and hash, "*3\r\n$<2 len>\r\n<hex>" (without
 * the CRLF after it); 16- and 8-byte hashes, the common ones, are spelled
 * from the block itself with a constant length. */
static char *put_hash(const struct kvc *k, const struct kvc__block *blk,
		      char *p)
{
	/* Headers without a NUL: copied as they are, then the digits. */
	static const char head16[9] = "*3\r\n$32\r\n";
	static const char head8[9] = "*3\r\n$16\r\n";
	unsigned hlen = kvc__blk_hlen(blk);
	if (hlen == KVC__HASH_INLINE || hlen == 8) {
		memcpy(p, hlen == 8 ? head8 : head16, sizeof(head16));
		p += sizeof(head16);
		if (hlen == 8) { /* constant counts: unrolled */
			kvc__fmt_hex(p, blk->hash, 8);
		} else {
			kvc__fmt_hex(p, blk->hash, KVC__HASH_INLINE);
		}
		return p + (size_t)hlen * 2;
	}
	struct kvc__hash h;
	kvc__block_hash(k, blk, &h);
	*p++ = '*';
	*p++ = '3';
	*p++ = '\r';
	*p++ = '\n';
	p = put_num(p, '$', (uint64_t)hlen * 2);
	kvc__fmt_hash(p, h.b, hlen);
	return p + (size_t)hlen * 2;
}

/* Precondition: the reply has block_room(nlive) bytes free.  @memo: the
 * token count's and the length's lines, kept across the blocks of a
 * reply. */
static void reply_block(const struct kvc *k, uint32_t b, uint32_t nlive,
			struct line_memo memo[2], struct kvc_reply *r)
{
	assert(r->cap - r->len >= block_room(nlive));
	const char *limit = r->buf + r->cap;
	const struct kvc__block *blk = &k->blocks[b];
	char *p = r->buf + r->len;
	p = put_hash(k, blk, p);
	*p++ = '\r';
	*p++ = '\n';
	p = put_int_memo(p, limit, blk->tokens, &memo[0]);
	p = put_num(p, '*', nlive);
	for (uint32_t l = blk->loc; l != KVC__NONE; l = k->locs[l].next) {
		const struct kvc__loc *loc = &k->locs[l];
		const struct kvc__node *n = &k->nodes[loc->node];
		if (!kvc__node_alive(k, n)) {
			continue;
		}
		for (size_t i = 0; i < n->loc_len; i += 16) {
			memcpy(p + i, n->loc_prefix + i, 16);
		}
		p += n->loc_len;
		memcpy(p, tier_resp[loc->tier], 16);
		p += tier_resp_len[loc->tier];
		p = put_num(p, ':', loc->offset);
		p = put_int_memo(p, limit, loc->len, &memo[1]);
	}
	r->len = (size_t)(p - r->buf);
}

/* Per-lookup scratch (kvc__scratch: no allocation once it has grown). */
struct chain {
	uint64_t *key;	     /* [n] table hash of each hash */
	uint32_t *found;     /* [n] block of each hash, in order */
	uint32_t *nlive;     /* [n] live locations of each */
	struct kvc__hash *h; /* [n] the parsed hashes */
};

/* Carve the scratch for @n hashes; false = FR_NOMEM. */
static bool chain_init(struct kvc *k, uint32_t n, struct chain *c)
{
	size_t each =
	    sizeof(uint64_t) + 2 * sizeof(uint32_t) + sizeof(struct kvc__hash);
	c->key = kvc__scratch(k, (size_t)n * each);
	if (c->key == NULL) {
		return false;
	}
	c->found = (uint32_t *)(c->key + n);
	c->nlive = c->found + n;
	c->h = (struct kvc__hash *)(void *)(c->nlive + n);
	return true;
}

/* Is block @b the live block (ns, h)?  A free block has no location. */
static bool block_is(const struct kvc *k, uint32_t b, uint32_t ns,
		     const struct kvc__hash *h)
{
	if (b >= k->blocks_hw) {
		return false;
	}
	const struct kvc__block *blk = &k->blocks[b];
	return blk->loc != KVC__NONE && kvc__block_is(k, blk, ns, h);
}

/*
 * Finding the blocks.  KVC.PUT gives a batch's new blocks adjacent indices
 * in argument order, so a chain stored by one PUT (a prompt's blocks,
 * written together after prefill) sits at consecutive indices.  After the
 * first block, each is looked for at the index after the previous one
 * before the table: one sequential cache line instead of a random table
 * slot and a page walk.  The check compares namespace and hash, so a wrong
 * guess costs a comparison, never a wrong answer.  A chain made of a few
 * such runs (a shared prefix put by one request, the rest by another) costs
 * one table probe per run; where no run follows a probed block, the chain
 * is scattered and the rest go through the table together (find_chain()).
 *
 * follow(): from hash @from (block from - 1 known) while the next index
 * matches; returns the first hash not found that way.
 */
static uint32_t follow(const struct kvc *k, uint32_t ns, struct chain *c,
		       uint32_t from, uint32_t n)
{
	uint32_t i = from;
	for (; i < n; i++) {
		uint32_t g = c->found[i - 1] + 1;
		if (!block_is(k, g, ns, &c->h[i])) {
			break;
		}
		c->found[i] = g;
		__builtin_prefetch(&k->locs[k->blocks[g].loc]);
	}
	return i;
}

/* Hashes [@from, @n) through the table: every slot is prefetched, then
 * every block, so the misses of a scattered chain overlap instead of
 * queueing.  Returns how many blocks from the start are found. */
static uint32_t probe(const struct kvc *k, uint32_t ns, struct chain *c,
		      uint32_t from, uint32_t n)
{
	for (uint32_t i = from; i < n; i++) {
		c->key[i] = kvc__block_key(ns, &c->h[i]);
		kvc__block_prefetch(k, c->key[i]);
	}
	for (uint32_t i = from; i < n; i++) {
		uint32_t b = kvc__block_guess(k, c->key[i]);
		if (b != KVC__NONE) {
			__builtin_prefetch(&k->blocks[b]);
		}
	}
	uint32_t i = from;
	for (; i < n; i++) {
		uint32_t b = kvc__block_find_key(k, c->key[i], ns, &c->h[i]);
		if (b == KVC__NONE) {
			break;
		}
		c->found[i] = b;
		__builtin_prefetch(&k->locs[k->blocks[b].loc]);
	}
	return i;
}

/* Hashes parsed between the first block's table slot prefetch and its read
 * (so the miss overlaps them); also the blocks prefetched from the guessed
 * index at that point, two more following per hash parsed after it. */
#define EARLY_BLOCKS 8u

/* Parse every hash (a bad one is an error before any output).  The first
 * block is fetched meanwhile: its table slot once its hash is parsed, and
 * a few hashes later the block the slot names and the ones after it (the
 * chain's next blocks, if one PUT stored it). */
static bool parse_chain(const struct kvc *k, const struct kvc_arg *argv,
			uint32_t n, uint32_t ns, struct chain *c)
{
	uint32_t early = n > EARLY_BLOCKS ? EARLY_BLOCKS : n - 1;
	uint32_t g = KVC__NONE; /* the first block's guessed index */
	uint32_t pf = 0;	/* blocks from g prefetched */
	uint32_t lim = 0;	/* blocks from g that may be prefetched */
	for (uint32_t i = 0; i < n; i++) {
		if (!kvc__parse_hash(&argv[i], &c->h[i])) {
			return false;
		}
		if (ns == KVC__NONE) {
			continue;
		}
		if (i == 0) {
			c->key[0] = kvc__block_key(ns, &c->h[0]);
			kvc__block_prefetch(k, c->key[0]);
		}
		if (i == early) {
			g = kvc__block_guess(k, c->key[0]);
			lim = g == KVC__NONE ? 0 : k->blocks_hw - g;
			lim = lim < n ? lim : n;
		}
		uint32_t e =
		    i < early ? 0 : pf + (i == early ? EARLY_BLOCKS : 2);
		for (; pf < lim && pf < e; pf++) {
			__builtin_prefetch(&k->blocks[g + pf]);
		}
	}
	return true;
}

/* How many of the @n hashes are blocks, from the start (c->found). */
static uint32_t find_chain(const struct kvc *k, uint32_t ns, struct chain *c,
			   uint32_t n)
{
	uint32_t b = kvc__block_find_key(k, c->key[0], ns, &c->h[0]);
	if (b == KVC__NONE) {
		return 0;
	}
	c->found[0] = b;
	for (uint32_t i = 1; i < n;) {
		uint32_t j = follow(k, ns, c, i, n);
		if (j == n) {
			return n;
		}
		if (j == i) {
			return probe(k, ns, c, j, n); /* no run: scattered */
		}
		c->key[j] = kvc__block_key(ns, &c->h[j]);
		b = kvc__block_find_key(k, c->key[j], ns, &c->h[j]);
		if (b == KVC__NONE) {
			return j;
		}
		c->found[j] = b;
		i = j + 1;
	}
	return n;
}

/* Keep the blocks that form a chain from a root, each with a location on
 * a live node; returns how many, and the reply room they need. */
static uint32_t keep_valid(const struct kvc *k, struct chain *c,
			   uint32_t nfound, size_t *room)
{
	static const struct kvc__hash root;
	const struct kvc__hash *prev = &root;
	uint32_t m = 0;
	for (; m < nfound; m++) {
		uint32_t b = c->found[m];
		if (!kvc__block_parent_is(k, &k->blocks[b], prev) ||
		    (c->nlive[m] = live_locs(k, b)) == 0) {
			break;
		}
		*room += block_room(c->nlive[m]);
		prev = &c->h[m];
	}
	return m;
}

/* Validates its arguments itself (the dispatcher skips the check): the
 * hashes are parsed once, not once to check and once to use. */
int kvc__exec_lookup(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	int rv = check_head(argc, argv, r);
	if (rv != 0) {
		return rv;
	}
	bool touch = touch_opt(argc, argv);
	uint32_t n = (touch ? argc - 1 : argc) - 2;
	uint32_t ns = kvc__ns_find(k, argv[1].base, argv[1].len);
	struct chain c;
	if (!chain_init(k, n, &c)) {
		return FR_NOMEM;
	}
	if (!parse_chain(k, argv + 2, n, ns, &c)) {
		return bad_hash(r);
	}
	uint32_t nfound = ns == KVC__NONE ? 0 : find_chain(k, ns, &c, n);
	size_t room = 0;
	uint32_t m = keep_valid(k, &c, nfound, &room);
	rv = kvc__reply_array(r, m);
	if (rv == 0) {
		rv = kvc__reply_reserve(r, room);
	}
	struct line_memo memo[2] = {{.v = UINT64_MAX}, {.v = UINT64_MAX}};
	for (uint32_t i = 0; rv == 0 && i < m; i++) {
		reply_block(k, c.found[i], c.nlive[i], memo, r);
	}
	/* Touch the chain's tail first: its head ends up most recent, so LRU
	 * eviction takes the end of a prefix before its start. */
	for (uint32_t i = m; touch && i-- > 0;) {
		kvc__block_touch(k, c.found[i]);
	}
	return rv;
}
