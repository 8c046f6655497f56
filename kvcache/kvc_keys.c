/* kvc_keys.c — iterating the generic KV store: SCAN, DBSIZE, TYPE. */
#include <string.h>

#include "kvc_int.h"

/*
 * Design notes
 * ============
 * The KV table is open addressing with linear probing and a size fixed at
 * kvc_open() (kv_keys_max), so a key's home bucket (hash & kvmask) never
 * changes while it lives.  A SCAN cursor is a home bucket: one call returns
 * every key whose home lies in [cursor, next), and the next call starts at
 * `next`.  Hence, as Redis promises, a key present for the whole scan is
 * returned, and exactly once, whatever is inserted or deleted between
 * calls (backward-shift deletion moves keys between slots, never between
 * homes).  Cursors mean the same on every replica opened with the same
 * options (docs/kvcache.md asks for that anyway).
 *
 * Keys with home in [a, b) sit either in slots [a, b) at or after their
 * home, or past b in the probe run that crosses b (possibly wrapping past
 * the table's end); the table is at most half full, so every run ends.
 *
 * Work per call is bounded: it stops after COUNT keys (at most
 * KVC_ITEMS_MAX), after SCAN_SLOTS_MIN or 64 x COUNT buckets, or once the
 * worst-case cost of matching the keys seen, (pattern + 1) x (key + 1)
 * each, passes SCAN_MATCH_BUDGET.
 */

#define SCAN_SLOTS_MIN	  8192u
#define SCAN_MATCH_BUDGET (1u << 23)
#define SCAN_PATTERN_MAX  256u

struct scan_opts {
	uint64_t cursor;	     /* first home bucket */
	const struct kvc_arg *match; /* MATCH pattern or NULL */
	uint32_t count;		     /* keys to look at (COUNT) */
	bool type_ok;		     /* no TYPE, or TYPE string */
};

static int scan_parse(uint32_t argc, const struct kvc_arg *argv,
		      struct scan_opts *o, struct kvc_reply *err)
{
	if (argc < 2) {
		return kvc__err_arity(err, &argv[0]);
	}
	*o = (struct scan_opts){.count = 10, .type_ok = true};
	if (!kvc__parse_u64(&argv[1], &o->cursor)) {
		return kvc__err(err, "invalid cursor");
	}
	for (uint32_t i = 2; i < argc; i += 2) {
		if (i + 1 >= argc) {
			return kvc__err(err, "syntax error");
		}
		const struct kvc_arg *v = &argv[i + 1];
		int64_t n;
		if (kvc__arg_eq(&argv[i], "MATCH")) {
			if (v->len > SCAN_PATTERN_MAX) {
				return kvc__err(err, "MATCH pattern longer "
						     "than 256 bytes");
			}
			o->match = v;
		} else if (kvc__arg_eq(&argv[i], "COUNT")) {
			if (!kvc__parse_i64(v->base, v->len, &n)) {
				return kvc__err(err, "value is not an integer "
						     "or out of range");
			}
			if (n < 1) {
				return kvc__err(err, "syntax error");
			}
			o->count =
			    n > KVC_ITEMS_MAX ? KVC_ITEMS_MAX : (uint32_t)n;
		} else if (kvc__arg_eq(&argv[i], "TYPE")) {
			o->type_ok = kvc__arg_eq(v, "string");
		} else {
			return kvc__err(err, "syntax error");
		}
	}
	return 0;
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE type] */
int kvc__check_kv_scan(uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *err)
{
	struct scan_opts o;
	return scan_parse(argc, argv, &o, err);
}

static uint32_t home_of(const struct kvc *k, const struct kvc__kv *e)
{
	return (uint32_t)e->hash & k->kvmask;
}

/* Where this call stops: the first home bucket it leaves to the next. */
static uint64_t scan_end(const struct kvc *k, const struct scan_opts *o)
{
	uint64_t size = (uint64_t)k->kvmask + 1;
	uint64_t slots_max = (uint64_t)o->count * 64;
	uint64_t plen = o->match != NULL ? o->match->len : 0;
	uint64_t seen = 0;
	uint64_t cost = 0;
	uint64_t i = o->cursor;
	if (slots_max < SCAN_SLOTS_MIN) {
		slots_max = SCAN_SLOTS_MIN;
	}
	while (i < size && seen < o->count && i - o->cursor < slots_max &&
	       cost < SCAN_MATCH_BUDGET) {
		const struct kvc__kv *e = k->kv[i];
		if (e != NULL && home_of(k, e) >= o->cursor &&
		    home_of(k, e) <= i) {
			seen++;
			cost += (plen + 1) * ((uint64_t)e->klen + 1);
		}
		i++;
	}
	return i;
}

static bool wanted(const struct scan_opts *o, const struct kvc__kv *e)
{
	uint64_t steps = 0;
	return o->type_ok && (o->match == NULL ||
			      kvc__glob_match(o->match->base, o->match->len,
					      e->data, e->klen, &steps));
}

/* The wanted keys with home in [a, b) into @out (NULL: only count them);
 * returns how many. */
static uint32_t scan_visit(const struct kvc *k, uint64_t a, uint64_t b,
			   const struct scan_opts *o,
			   const struct kvc__kv **out)
{
	uint32_t n = 0;
	for (uint64_t i = a; i < b; i++) {
		const struct kvc__kv *e = k->kv[i];
		if (e != NULL && home_of(k, e) >= a && home_of(k, e) <= i &&
		    wanted(o, e)) {
			if (out != NULL) {
				out[n] = e;
			}
			n++;
		}
	}
	/* The probe run that crosses b: keys of [a, b) stored past it. */
	for (uint32_t i = (uint32_t)(b & k->kvmask); k->kv[i] != NULL;
	     i = (i + 1) & k->kvmask) {
		const struct kvc__kv *e = k->kv[i];
		uint32_t h = home_of(k, e);
		bool done_above = i >= a && i < b && h <= i;
		if (h >= a && h < b && !done_above && wanted(o, e)) {
			if (out != NULL) {
				out[n] = e;
			}
			n++;
		}
	}
	return n;
}

int kvc__exec_kv_scan(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *r)
{
	struct scan_opts o = {0};
	int rv = scan_parse(argc, argv, &o, r);
	if (rv != 0) {
		return rv;
	}
	uint64_t size = (uint64_t)k->kvmask + 1;
	uint64_t a = o.cursor < size ? o.cursor : size;
	o.cursor = a;
	uint64_t b = a < size ? scan_end(k, &o) : size;
	uint32_t n = a < size ? scan_visit(k, a, b, &o, NULL) : 0;
	const struct kvc__kv **keys = NULL;
	if (n > 0) {
		/* An array of pointers: sizeof(*keys) is meant. */
		keys = kvc__scratch(
		    k,
		    n * sizeof(*keys)); /* NOLINT(bugprone-sizeof-expression) */
		if (keys == NULL) {
			return FR_NOMEM;
		}
		(void)scan_visit(k, a, b, &o, keys);
	}
	rv = kvc__reply_array(r, 2);
	rv = rv != 0 ? rv : kvc__reply_bulk_uint(r, b < size ? b : 0);
	rv = rv != 0 ? rv : kvc__reply_array(r, n);
	for (uint32_t i = 0; rv == 0 && i < n; i++) {
		rv = kvc__reply_bulk(r, keys[i]->data, keys[i]->klen);
	}
	return rv;
}

/* DBSIZE */
int kvc__check_kv_dbsize(uint32_t argc, const struct kvc_arg *argv,
			 struct kvc_reply *err)
{
	return argc == 1 ? 0 : kvc__err_arity(err, &argv[0]);
}

int kvc__exec_kv_dbsize(struct kvc *k, uint32_t argc,
			const struct kvc_arg *argv, struct kvc_reply *r)
{
	return kvc__reply_int(r, k->nkv);
}

/* TYPE key: every generic key is a string. */
int kvc__check_kv_type(uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *err)
{
	if (argc != 2) {
		return kvc__err_arity(err, &argv[0]);
	}
	return argv[1].len <= KVC_KEY_BYTES_MAX
		   ? 0
		   : kvc__err(err, "key longer than 1024 bytes");
}

int kvc__exec_kv_type(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *r)
{
	bool found = kvc__kv_find(k, argv[1].base, argv[1].len) != NULL;
	return kvc__reply_str(r, found ? "+string\r\n" : "+none\r\n");
}
