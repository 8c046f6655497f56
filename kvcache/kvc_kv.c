/* kvc_kv.c — the generic KV store: SET (IFEQ), GET, DEL, EXISTS, MSET, MGET,
 * INCR. */
#include <string.h>

#include "heap.h"
#include "kvc_int.h"

/*
 * Semantics follow Redis for the plain commands.  Compare-and-set is
 * `SET key value IFEQ old` (as in Redis 8.4): the value is replaced only
 * when the key exists and holds exactly `old`; the reply is +OK when set and
 * a nil bulk when not.  Keys are at most KVC_KEY_BYTES_MAX bytes, values at
 * most KVC_VALUE_BYTES_MAX, and there are at most kv_keys_max keys ("-ERR kv
 * store full" beyond, decided before anything changes).
 *
 * Each pair is one fr_malloc'd struct kvc__kv; the table of pointers uses
 * open addressing with backward-shift deletion.
 */

static uint64_t key_hash(const char *key, size_t len)
{
	return kvc__hash64(0x6b76u, key, len);
}

static uint32_t slot_of(const struct kvc *k, const char *key, size_t len,
			uint64_t h)
{
	for (uint32_t i = (uint32_t)h & k->kvmask;; i = (i + 1) & k->kvmask) {
		const struct kvc__kv *e = k->kv[i];
		if (e == NULL || (e->hash == h && e->klen == len &&
				  memcmp(e->data, key, len) == 0)) {
			return i;
		}
	}
}

const struct kvc__kv *kvc__kv_find(const struct kvc *k, const char *key,
				   size_t len)
{
	return k->kv[slot_of(k, key, len, key_hash(key, len))];
}

static struct kvc__kv *kv_new(const struct kvc_arg *key, const char *val,
			      size_t vlen)
{
	struct kvc__kv *e = fr_malloc(sizeof(*e) + key->len + vlen);
	if (e == NULL) {
		return NULL;
	}
	e->hash = key_hash(key->base, key->len);
	e->klen = (uint32_t)key->len;
	e->vlen = (uint32_t)vlen;
	if (key->len > 0) {
		memcpy(e->data, key->base, key->len);
	}
	if (vlen > 0) {
		memcpy(e->data + key->len, val, vlen);
	}
	return e;
}

/* Insert or replace; takes ownership of @e.  Precondition: room (the key
 * is present, or nkv < kv_keys_max). */
int kvc__kv_insert(struct kvc *k, struct kvc__kv *e)
{
	uint32_t i = slot_of(k, e->data, e->klen, e->hash);
	assert(k->kv[i] != NULL || k->nkv < k->o.kv_keys_max);
	if (k->kv[i] != NULL) {
		fr_free(k->kv[i]);
	} else {
		k->nkv++;
	}
	k->kv[i] = e;
	return 0;
}

static uint32_t kv_home(const void *ctx, const void *slot)
{
	(void)ctx;
	const struct kvc__kv *e = *(const struct kvc__kv *const *)slot;
	return (uint32_t)e->hash;
}

static void kv_remove(struct kvc *k, uint32_t i)
{
	fr_free(k->kv[i]);
	k->nkv--;
	/* The slots are pointers: sizeof(k->kv[0]) is meant. */
	const struct kvc__probe p = {
	    k->kv, sizeof(k->kv[0]), /* NOLINT(bugprone-sizeof-expression) */
	    k->kvmask, NULL, kv_home};
	kvc__probe_delete(&p, i);
}

void kvc__kv_clear(struct kvc *k)
{
	for (uint32_t i = 0; k->kv != NULL && i <= k->kvmask; i++) {
		fr_free(k->kv[i]);
		k->kv[i] = NULL;
	}
	k->nkv = 0;
}

static int check_key(const struct kvc_arg *a, struct kvc_reply *err)
{
	return a->len <= KVC_KEY_BYTES_MAX
		   ? 0
		   : kvc__err(err, "key longer than 1024 bytes");
}

static int check_value(const struct kvc_arg *a, struct kvc_reply *err)
{
	return a->len <= KVC_VALUE_BYTES_MAX
		   ? 0
		   : kvc__err(err, "value longer than 1048576 bytes");
}

/* SET key value [IFEQ old] */
int kvc__check_kv_set(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	if (argc != 3 && argc != 5) {
		return kvc__err_arity(err, &argv[0]);
	}
	if (argc == 5 && !kvc__arg_eq(&argv[3], "IFEQ")) {
		return kvc__err(err, "syntax error (SET key value [IFEQ old])");
	}
	int rv = check_key(&argv[1], err);
	return rv != 0 ? rv : check_value(&argv[2], err);
}

static bool room_for(const struct kvc *k, const struct kvc_arg *key)
{
	return k->nkv < k->o.kv_keys_max ||
	       kvc__kv_find(k, key->base, key->len) != NULL;
}

int kvc__exec_kv_set(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	if (argc == 5) {
		const struct kvc__kv *e =
		    kvc__kv_find(k, argv[1].base, argv[1].len);
		if (e == NULL || e->vlen != argv[4].len ||
		    memcmp(e->data + e->klen, argv[4].base, e->vlen) != 0) {
			return kvc__reply_nil(r);
		}
	}
	if (!room_for(k, &argv[1])) {
		return kvc__err(r, "kv store full");
	}
	struct kvc__kv *e = kv_new(&argv[1], argv[2].base, argv[2].len);
	if (e == NULL) {
		return FR_NOMEM;
	}
	(void)kvc__kv_insert(k, e);
	return kvc__reply_ok(r);
}

/* GET key */
int kvc__check_kv_get(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	return argc == 2 ? check_key(&argv[1], err)
			 : kvc__err_arity(err, &argv[0]);
}

static int reply_value(const struct kvc__kv *e, struct kvc_reply *r)
{
	return e == NULL ? kvc__reply_nil(r)
			 : kvc__reply_bulk(r, e->data + e->klen, e->vlen);
}

int kvc__exec_kv_get(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	return reply_value(kvc__kv_find(k, argv[1].base, argv[1].len), r);
}

/* DEL / EXISTS / MGET key [key ...] */
static int check_keys(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	if (argc < 2) {
		return kvc__err_arity(err, &argv[0]);
	}
	for (uint32_t i = 1; i < argc; i++) {
		int rv = check_key(&argv[i], err);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

int kvc__check_kv_del(uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	return check_keys(argc, argv, err);
}

int kvc__exec_kv_del(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		     struct kvc_reply *r)
{
	int64_t n = 0;
	for (uint32_t i = 1; i < argc; i++) {
		uint64_t h = key_hash(argv[i].base, argv[i].len);
		uint32_t s = slot_of(k, argv[i].base, argv[i].len, h);
		if (k->kv[s] != NULL) {
			kv_remove(k, s);
			n++;
		}
	}
	return kvc__reply_int(r, n);
}

int kvc__check_kv_exists(uint32_t argc, const struct kvc_arg *argv,
			 struct kvc_reply *err)
{
	return check_keys(argc, argv, err);
}

int kvc__exec_kv_exists(struct kvc *k, uint32_t argc,
			const struct kvc_arg *argv, struct kvc_reply *r)
{
	int64_t n = 0;
	for (uint32_t i = 1; i < argc; i++) {
		n += kvc__kv_find(k, argv[i].base, argv[i].len) != NULL;
	}
	return kvc__reply_int(r, n);
}

int kvc__check_kv_mget(uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *err)
{
	return check_keys(argc, argv, err);
}

int kvc__exec_kv_mget(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *r)
{
	int rv = kvc__reply_array(r, argc - 1);
	for (uint32_t i = 1; rv == 0 && i < argc; i++) {
		rv = reply_value(kvc__kv_find(k, argv[i].base, argv[i].len), r);
	}
	return rv;
}

/* MSET key value [key value ...] */
int kvc__check_kv_mset(uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *err)
{
	if (argc < 3 || argc % 2 == 0) {
		return kvc__err_arity(err, &argv[0]);
	}
	for (uint32_t i = 1; i < argc; i += 2) {
		int rv = check_key(&argv[i], err);
		rv = rv != 0 ? rv : check_value(&argv[i + 1], err);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

int kvc__exec_kv_mset(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *r)
{
	uint32_t n = (argc - 1) / 2;
	uint32_t fresh = 0; /* counts a key repeated in the batch twice */
	for (uint32_t i = 1; i < argc; i += 2) {
		fresh += kvc__kv_find(k, argv[i].base, argv[i].len) == NULL;
	}
	if (fresh > k->o.kv_keys_max - k->nkv) {
		return kvc__err(r, "kv store full");
	}
	/* Allocate every pair first: all or nothing. */
	struct kvc__kv **e = kvc__scratch(k, n * sizeof(*e));
	if (e == NULL) {
		return FR_NOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		e[i] = kv_new(&argv[1 + 2 * i], argv[2 + 2 * i].base,
			      argv[2 + 2 * i].len);
		if (e[i] == NULL) {
			while (i-- > 0) {
				fr_free(e[i]);
			}
			return FR_NOMEM;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		(void)kvc__kv_insert(k, e[i]);
	}
	return kvc__reply_ok(r);
}

/* INCR key, DECR key, INCRBY key n, DECRBY key n (Redis' texts: a bad
 * increment or stored value is "not an integer or out of range"). */
int kvc__check_kv_incr(uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *err)
{
	return argc == 2 ? check_key(&argv[1], err)
			 : kvc__err_arity(err, &argv[0]);
}

int kvc__check_kv_decr(uint32_t argc, const struct kvc_arg *argv,
		       struct kvc_reply *err)
{
	return kvc__check_kv_incr(argc, argv, err);
}

static int check_by(uint32_t argc, const struct kvc_arg *argv,
		    struct kvc_reply *err, int64_t *by)
{
	if (argc != 3) {
		return kvc__err_arity(err, &argv[0]);
	}
	int rv = check_key(&argv[1], err);
	if (rv == 0 && !kvc__parse_i64(argv[2].base, argv[2].len, by)) {
		rv = kvc__err(err, "value is not an integer or out of range");
	}
	return rv;
}

int kvc__check_kv_incrby(uint32_t argc, const struct kvc_arg *argv,
			 struct kvc_reply *err)
{
	int64_t by = 0;
	return check_by(argc, argv, err, &by);
}

int kvc__check_kv_decrby(uint32_t argc, const struct kvc_arg *argv,
			 struct kvc_reply *err)
{
	int64_t by = 0;
	int rv = check_by(argc, argv, err, &by);
	if (rv == 0 && by == INT64_MIN) {
		rv = kvc__err(err, "decrement would overflow");
	}
	return rv;
}

/* Add @by to the integer at @key (0 when missing), as Redis'
 * incrDecrCommand: refused, changing nothing, when the stored value is not
 * a 64-bit integer or the sum would overflow. */
static int incr_by(struct kvc *k, const struct kvc_arg *key, int64_t by,
		   struct kvc_reply *r)
{
	const struct kvc__kv *old = kvc__kv_find(k, key->base, key->len);
	int64_t v = 0;
	if (old != NULL &&
	    !kvc__parse_i64(old->data + old->klen, old->vlen, &v)) {
		return kvc__err(r, "value is not an integer or out of range");
	}
	if ((by < 0 && v < 0 && by < INT64_MIN - v) ||
	    (by > 0 && v > 0 && by > INT64_MAX - v)) {
		return kvc__err(r, "increment or decrement would overflow");
	}
	if (old == NULL && k->nkv == k->o.kv_keys_max) {
		return kvc__err(r, "kv store full");
	}
	v += by;
	char buf[24];
	size_t len = 0;
	if (v < 0) {
		buf[len++] = '-';
	}
	len += kvc__fmt_u64(buf + len,
			    v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
	struct kvc__kv *e = kv_new(key, buf, len);
	if (e == NULL) {
		return FR_NOMEM;
	}
	(void)kvc__kv_insert(k, e);
	return kvc__reply_int(r, v);
}

int kvc__exec_kv_incr(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *r)
{
	return incr_by(k, &argv[1], 1, r);
}

int kvc__exec_kv_decr(struct kvc *k, uint32_t argc, const struct kvc_arg *argv,
		      struct kvc_reply *r)
{
	return incr_by(k, &argv[1], -1, r);
}

/* The increment was checked (kvc_apply runs the check first). */
int kvc__exec_kv_incrby(struct kvc *k, uint32_t argc,
			const struct kvc_arg *argv, struct kvc_reply *r)
{
	int64_t by = 0;
	(void)kvc__parse_i64(argv[2].base, argv[2].len, &by);
	return incr_by(k, &argv[1], by, r);
}

int kvc__exec_kv_decrby(struct kvc *k, uint32_t argc,
			const struct kvc_arg *argv, struct kvc_reply *r)
{
	int64_t by = 0;
	(void)kvc__parse_i64(argv[2].base, argv[2].len, &by);
	assert(by != INT64_MIN);
	return incr_by(k, &argv[1], -by, r);
}
