/* client_kv.c — typed calls of the generic key/value store. */
#include <string.h>

#include "client_int.h"
#include "heap.h"

/* A read whose reply is a bulk string (NUL-terminated, into *@val) or
 * nil (*@found false). */
static int read_bulk(struct fabraft_client *c, int argc, const char **argv,
		     char **val, size_t *vlen, bool *found)
{
	struct respc_reply r;
	int rv;

	*val = NULL;
	*vlen = 0;
	*found = false;
	rv = fabraft__run(c, argc, argv, NULL, FABRAFT__READ, &r);
	if (rv != 0) {
		return rv;
	}
	if (r.type == '$' && r.len != SIZE_MAX) {
		*val = r.str; /* NUL-terminated, from heap.h */
		*vlen = r.len;
		*found = true;
		r.str = NULL;
	} else if (r.type == '-') {
		rv = fabraft__fail(c, FR_REFUSED, "%s", r.str);
	} else if (!respc_reply_is_nil(&r)) {
		rv = fabraft__bad_reply(c, argv[0]);
	}
	respc_reply_free(&r);
	return rv;
}

int fabraft_get(struct fabraft_client *c, const char *key, char **val,
		size_t *vlen, bool *found)
{
	const char *argv[] = {"GET", key};

	return read_bulk(c, 2, argv, val, vlen, found);
}

int fabraft_info(struct fabraft_client *c, const char *section, char **text)
{
	const char *argv[] = {"INFO", section};
	size_t len;
	bool found;
	int rv =
	    read_bulk(c, section != NULL ? 2 : 1, argv, text, &len, &found);

	if (rv == 0 && !found) {
		rv = fabraft__bad_reply(c, "INFO");
	}
	return rv;
}

/* A command whose reply is +OK. */
int fabraft__ok(struct fabraft_client *c, struct fabraft__args *a,
		enum fabraft__class cls, const char *name)
{
	struct respc_reply r;
	int rv = fabraft__call(c, a, cls, &r);

	if (rv == 0 && r.type != '+') {
		rv = fabraft__bad_reply(c, name);
	}
	respc_reply_free(&r);
	return rv;
}

/* A command whose reply is a non-negative integer. */
int fabraft__count(struct fabraft_client *c, struct fabraft__args *a,
		   enum fabraft__class cls, const char *name, uint64_t *out)
{
	struct respc_reply r;
	int rv = fabraft__call(c, a, cls, &r);

	if (rv == 0) {
		rv = fabraft__want_int(c, &r, name, out);
	}
	respc_reply_free(&r);
	return rv;
}

int fabraft_set(struct fabraft_client *c, const char *key, const void *val,
		size_t vlen)
{
	struct fabraft__args a;

	fabraft__args_init(&a);
	fabraft__args_str(&a, "SET");
	fabraft__args_str(&a, key);
	fabraft__args_mem(&a, val, vlen);
	return fabraft__ok(c, &a, FABRAFT__IDEM, "SET");
}

int fabraft_set_ifeq(struct fabraft_client *c, const char *key, const void *val,
		     size_t vlen, const void *old, size_t oldlen, bool *set)
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	*set = false;
	fabraft__args_init(&a);
	fabraft__args_str(&a, "SET");
	fabraft__args_str(&a, key);
	fabraft__args_mem(&a, val, vlen);
	fabraft__args_str(&a, "IFEQ");
	fabraft__args_mem(&a, old, oldlen);
	rv = fabraft__call(c, &a, FABRAFT__UNSAFE, &r);
	if (rv == 0) {
		if (r.type == '+') {
			*set = true;
		} else if (!respc_reply_is_nil(&r)) {
			rv = fabraft__bad_reply(c, "SET IFEQ");
		}
	}
	respc_reply_free(&r);
	return rv;
}

/* @name followed by @n keys. */
static void keys_args(struct fabraft__args *a, const char *name,
		      const char *const *keys, size_t n)
{
	fabraft__args_init(a);
	fabraft__args_str(a, name);
	for (size_t i = 0; i < n; i++) {
		fabraft__args_str(a, keys[i]);
	}
}

int fabraft_del(struct fabraft_client *c, const char *const *keys, size_t n,
		uint64_t *removed)
{
	struct fabraft__args a;

	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "DEL needs a key");
	}
	keys_args(&a, "DEL", keys, n);
	return fabraft__count(c, &a, FABRAFT__IDEM, "DEL", removed);
}

int fabraft_exists(struct fabraft_client *c, const char *const *keys, size_t n,
		   uint64_t *count)
{
	struct fabraft__args a;

	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "EXISTS needs a key");
	}
	keys_args(&a, "EXISTS", keys, n);
	return fabraft__count(c, &a, FABRAFT__READ, "EXISTS", count);
}

int fabraft_mset(struct fabraft_client *c, const char *const *keys,
		 const void *const *vals, const size_t *vlens, size_t n)
{
	struct fabraft__args a;

	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "MSET needs a pair");
	}
	fabraft__args_init(&a);
	fabraft__args_str(&a, "MSET");
	for (size_t i = 0; i < n; i++) {
		fabraft__args_str(&a, keys[i]);
		fabraft__args_mem(&a, vals[i], vlens[i]);
	}
	return fabraft__ok(c, &a, FABRAFT__IDEM, "MSET");
}

void fabraft_values_free(struct fabraft_values *v)
{
	for (size_t i = 0; v->v != NULL && i < v->n; i++) {
		fr_free(v->v[i].data);
	}
	fr_free(v->v);
	memset(v, 0, sizeof(*v));
}

int fabraft_mget(struct fabraft_client *c, const char *const *keys, size_t n,
		 struct fabraft_values *out)
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		return fabraft__fail(c, FR_INVALID, "MGET needs a key");
	}
	keys_args(&a, "MGET", keys, n);
	rv = fabraft__call(c, &a, FABRAFT__READ, &r);
	if (rv == 0 && (r.type != '*' || r.n != n || r.elem == NULL)) {
		rv = fabraft__bad_reply(c, "MGET");
	}
	if (rv == 0 && (out->v = fr_calloc(n, sizeof(*out->v))) == NULL) {
		rv = fabraft__fail(c, FR_NOMEM, "out of memory");
	}
	for (size_t i = 0; rv == 0 && i < n; i++) {
		struct respc_reply *e = &r.elem[i];

		out->n = i + 1;
		if (e->type == '$' && e->len != SIZE_MAX) {
			out->v[i].data = e->str;
			out->v[i].len = e->len;
			out->v[i].found = true;
			e->str = NULL;
		}
	}
	respc_reply_free(&r);
	if (rv != 0) {
		fabraft_values_free(out);
	}
	return rv;
}

static int incr(struct fabraft_client *c, const char *name, const char *key,
		const int64_t *by, int64_t *value)
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	fabraft__args_init(&a);
	fabraft__args_str(&a, name);
	fabraft__args_str(&a, key);
	if (by != NULL) {
		fabraft__args_i64(&a, *by);
	}
	rv = fabraft__call(c, &a, FABRAFT__UNSAFE, &r);
	if (rv == 0 && r.type != ':') {
		rv = fabraft__bad_reply(c, name);
	}
	if (rv == 0 && value != NULL) {
		*value = r.integer;
	}
	respc_reply_free(&r);
	return rv;
}

int fabraft_incr(struct fabraft_client *c, const char *key, int64_t *value)
{
	return incr(c, "INCR", key, NULL, value);
}

int fabraft_incrby(struct fabraft_client *c, const char *key, int64_t by,
		   int64_t *value)
{
	return incr(c, "INCRBY", key, &by, value);
}
