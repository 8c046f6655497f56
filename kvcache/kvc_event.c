/* kvc_event.c — the event log (a bounded ring) and KVC.EVENTS. */
#include <string.h>

#include "kvc_int.h"

/*
 * Design notes
 * ============
 * Every apply path that changes where blocks are, which reservations hold
 * capacity or which storage nodes exist appends events here, in the order
 * the changes happen, so the feed is in commit order and equal on every
 * replica (it is a function of the applied entries only).
 *
 * Invariants:
 *  1. the kept events are seqs ev_next - ev_count .. ev_next - 1, with
 *     ev_count <= events_max; the event of seq s is ev[s % events_max];
 *  2. seq numbers are never reused or skipped: ev_next only grows, by one
 *     per event, and a snapshot carries it (with the kept events);
 *  3. an event's index is the log index of the entry that produced it, so
 *     the indices of consecutive events never decrease.
 *
 * A record is 168 bytes whatever its type: the namespace name (<= 64
 * bytes) or a node's address (<= 128) is copied in, so an event never
 * depends on a slot that may be reused later.  The ring is allocated by
 * kvc_open() (events_max records) and never grows.
 */

struct kvc__event *kvc__ev_add(struct kvc *k, uint8_t type)
{
	struct kvc__event *e = kvc__ev_at(k, k->ev_next);
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->index = k->ev_index;
	k->ev_next++;
	if (k->ev_count < k->o.events_max) {
		k->ev_count++;
	}
	return e;
}

static void set_ns(struct kvc__event *e, const struct kvc__ns *ns)
{
	e->text_len = ns->len;
	memcpy(e->u.blk.ns, ns->name, ns->len);
}

/* One location's event (stored or evicted); @l is still linked. */
static struct kvc__event *loc_event(struct kvc *k, uint8_t type, uint32_t l)
{
	const struct kvc__loc *loc = &k->locs[l];
	const struct kvc__block *b = &k->blocks[loc->block];
	struct kvc__event *e = kvc__ev_add(k, type);
	set_ns(e, &k->ns[kvc__blk_ns(b)]);
	kvc__block_hash(k, b, &e->u.blk.hash);
	e->node = k->nodes[loc->node].id;
	e->tier = loc->tier;
	return e;
}

void kvc__ev_stored(struct kvc *k, uint32_t l)
{
	struct kvc__event *e = loc_event(k, KVC__EV_STORED, l);
	e->a = k->locs[l].offset;
	e->b = k->locs[l].len;
	e->tokens = k->blocks[k->locs[l].block].tokens;
	kvc__block_parent(k, &k->blocks[k->locs[l].block], &e->u.blk.parent);
}

void kvc__ev_evicted(struct kvc *k, uint32_t l)
{
	(void)loc_event(k, KVC__EV_EVICTED, l);
}

void kvc__ev_revoked(struct kvc *k, const struct kvc__res *r)
{
	struct kvc__event *e = kvc__ev_add(k, KVC__EV_REVOKED);
	set_ns(e, &k->ns[r->ns]);
	e->a = r->rid;
	e->b = r->bytes;
	e->node = k->nodes[r->node].id;
	e->tier = r->tier;
}

void kvc__ev_node(struct kvc *k, uint8_t type, const struct kvc__node *n)
{
	struct kvc__event *e = kvc__ev_add(k, type);
	e->node = n->id;
	if (type == KVC__EV_NODE_JOINED) {
		e->text_len = n->addr_len;
		memcpy(e->u.addr, n->addr, n->addr_len);
	}
}

void kvc__ev_ns_cleared(struct kvc *k, uint32_t ns)
{
	set_ns(kvc__ev_add(k, KVC__EV_NS_CLEARED), &k->ns[ns]);
}

/* ---- KVC.EVENTS from_seq [COUNT n] [BLOCK ms] ---- */

#define EV_COUNT_DEF	  256u
#define EV_COUNT_MAX	  4096u
#define EV_BLOCK_MS_MAX	  60000u
#define EV_REPLY_BYTES	  512u /* an upper bound on one event's reply */
#define EV_REPLY_HEADROOM 64u  /* the outer arrays and next_seq */
/* stored, the largest: array header, 7 numbers of at most 24 bytes (":",
 * 20 digits, CRLF), the type, the namespace, two hashes. */
static_assert(EV_REPLY_BYTES >= 16 + 7 * 24 + 20 + (KVC_NS_BYTES_MAX + 8) +
				    2 * (KVC_HASH_BYTES_MAX * 2 + 8),
	      "EV_REPLY_BYTES bounds a stored event's reply");

struct ev_args {
	uint64_t from;	/* first seq wanted */
	uint64_t count; /* most events in the reply */
	bool block;	/* BLOCK given */
};

static int parse_events(uint32_t argc, const struct kvc_arg *argv,
			struct ev_args *a, struct kvc_reply *err)
{
	if (argc < 2 || argc % 2 != 0) {
		return kvc__err_arity(err, &argv[0]);
	}
	if (!kvc__parse_u64(&argv[1], &a->from) || a->from == 0) {
		return kvc__err(err, "from_seq must be a positive integer");
	}
	a->count = EV_COUNT_DEF;
	a->block = false;
	for (uint32_t i = 2; i < argc; i += 2) {
		uint64_t v;
		bool num = kvc__parse_u64(&argv[i + 1], &v);
		if (kvc__arg_eq(&argv[i], "COUNT")) {
			if (!num || v == 0 || v > EV_COUNT_MAX) {
				return kvc__err(err, "COUNT must be 1..4096");
			}
			a->count = v;
		} else if (kvc__arg_eq(&argv[i], "BLOCK")) {
			if (!num || v > EV_BLOCK_MS_MAX) {
				return kvc__err(err,
						"BLOCK must be 0..60000 ms");
			}
			a->block = true;
		} else {
			return kvc__err3(err, "unknown option '", &argv[i],
					 "' (COUNT or BLOCK)");
		}
	}
	return 0;
}

int kvc__check_events(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	struct ev_args a = {0};
	int rv = parse_events(argc, argv, &a, err);
	if (rv == 0 && a.block) {
		return kvc__err(err, "KVC.EVENTS BLOCK is not implemented by "
				     "this server: poll without BLOCK");
	}
	return rv;
}

static const char *const type_names[KVC__EV_TYPES] = {
    NULL,	   "stored",	   "evicted",	"revoked",
    "node_joined", "node_expired", "node_left", "ns_cleared",
};

/* The fields after [seq, index, type] (docs/kvcache.md "Event feed"). */
static uint64_t field_count(uint8_t type)
{
	static const uint8_t n[KVC__EV_TYPES] = {0, 8, 4, 5, 2, 1, 1, 1};
	return n[type];
}

static int reply_ns_hash(struct kvc_reply *r, const struct kvc__event *e)
{
	int rv = kvc__reply_bulk(r, e->u.blk.ns, e->text_len);
	return rv ? rv : kvc__reply_bulk_hash(r, &e->u.blk.hash);
}

static int reply_fields(struct kvc_reply *r, const struct kvc__event *e)
{
	int rv = 0;
	switch (e->type) {
	case KVC__EV_STORED:
		rv = reply_ns_hash(r, e);
		rv = rv ? rv : kvc__reply_uint(r, e->node);
		rv = rv ? rv : kvc__reply_tier(r, e->tier);
		rv = rv ? rv : kvc__reply_uint(r, e->a);
		rv = rv ? rv : kvc__reply_uint(r, e->b);
		rv = rv ? rv : kvc__reply_uint(r, e->tokens);
		if (e->u.blk.parent.len == 0) {
			return rv ? rv : kvc__reply_bulk(r, "-", 1);
		}
		return rv ? rv : kvc__reply_bulk_hash(r, &e->u.blk.parent);
	case KVC__EV_EVICTED:
		rv = reply_ns_hash(r, e);
		rv = rv ? rv : kvc__reply_uint(r, e->node);
		return rv ? rv : kvc__reply_tier(r, e->tier);
	case KVC__EV_REVOKED:
		rv = kvc__reply_uint(r, e->a);
		rv = rv ? rv : kvc__reply_bulk(r, e->u.blk.ns, e->text_len);
		rv = rv ? rv : kvc__reply_uint(r, e->node);
		rv = rv ? rv : kvc__reply_tier(r, e->tier);
		return rv ? rv : kvc__reply_uint(r, e->b);
	case KVC__EV_NODE_JOINED:
		rv = kvc__reply_uint(r, e->node);
		return rv ? rv : kvc__reply_bulk(r, e->u.addr, e->text_len);
	case KVC__EV_NODE_EXPIRED:
	case KVC__EV_NODE_LEFT:
		return kvc__reply_uint(r, e->node);
	default:
		assert(e->type == KVC__EV_NS_CLEARED);
		return kvc__reply_bulk(r, e->u.blk.ns, e->text_len);
	}
}

static int reply_event(struct kvc_reply *r, const struct kvc *k, uint64_t seq)
{
	const struct kvc__event *e = kvc__ev_at(k, seq);
	assert(e->type > 0 && e->type < KVC__EV_TYPES);
	int rv = kvc__reply_array(r, 3 + field_count(e->type));
	rv = rv ? rv : kvc__reply_uint(r, seq);
	rv = rv ? rv : kvc__reply_uint(r, e->index);
	rv = rv ? rv
		: kvc__reply_bulk(r, type_names[e->type],
				  strlen(type_names[e->type]));
	return rv ? rv : reply_fields(r, e);
}

int kvc__exec_events(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	struct ev_args a = {0};
	int rv = parse_events(argc, argv, &a, r);
	if (rv != 0) {
		return rv;
	}
	uint64_t oldest = k->ev_next - k->ev_count;
	if (a.from < oldest) {
		char msg[160];
		size_t n = 0;
		static const char pre[] = "-RESYNC oldest kept seq is ";
		static const char post[] =
		    "; list the state with KVC.SCAN and follow from the seq "
		    "it returns\r\n";
		memcpy(msg, pre, sizeof(pre) - 1);
		n = sizeof(pre) - 1;
		n += kvc__fmt_u64(msg + n, oldest);
		memcpy(msg + n, post, sizeof(post) - 1);
		n += sizeof(post) - 1;
		rv = kvc__reply_raw(r, msg, n);
		return rv ? rv : FR_INVALID;
	}
	if (a.from > k->ev_next) {
		return kvc__err_num(r, "from_seq is beyond the next seq ",
				    k->ev_next, "");
	}
	uint64_t n = k->ev_next - a.from;
	n = n < a.count ? n : a.count;
	if (r->max != 0) {
		/* Stop where the reply is sure to fit (every event has a
		 * bounded size), rather than fail the read. */
		uint64_t fit =
		    r->max > EV_REPLY_HEADROOM
			? (r->max - EV_REPLY_HEADROOM) / EV_REPLY_BYTES
			: 0;
		fit = fit > 0 ? fit : 1; /* one at least: FR_TOOBIG if not */
		n = n < fit ? n : fit;
	}
	rv = kvc__reply_array(r, 2);
	rv = rv ? rv : kvc__reply_uint(r, a.from + n);
	rv = rv ? rv : kvc__reply_array(r, n);
	for (uint64_t s = a.from; rv == 0 && s < a.from + n; s++) {
		rv = reply_event(r, k, s);
	}
	return rv;
}
