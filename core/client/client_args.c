/* client_args.c — building a command's argument list: borrowed strings and
 * numbers or hashes formatted into one owned text buffer. */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "heap.h"

void fabraft__args_init(struct fabraft__args *a)
{
	memset(a, 0, sizeof(*a));
}

void fabraft__args_free(struct fabraft__args *a)
{
	fr_free(a->v);
	fr_free(a->lens);
	fr_free(a->off);
	fr_free(a->text);
	memset(a, 0, sizeof(*a));
}

void fabraft__args_reserve(struct fabraft__args *a, size_t argc,
			   size_t text_bytes)
{
	const char **v;
	size_t *l;
	size_t *o;
	char *t;

	assert(a->argc == 0 && a->cap == 0 && argc < INT_MAX);
	v = fr_malloc(argc * sizeof(*v));
	l = fr_malloc(argc * sizeof(*l));
	o = fr_malloc(argc * sizeof(*o));
	t = text_bytes ? fr_malloc(text_bytes) : NULL;
	if (v == NULL || l == NULL || o == NULL || (text_bytes && t == NULL)) {
		fr_free(v);
		fr_free(l);
		fr_free(o);
		fr_free(t);
		return; /* slot() grows them as it goes instead */
	}
	a->v = v;
	a->lens = l;
	a->off = o;
	a->cap = (int)argc;
	a->text = t;
	a->tcap = text_bytes;
}

/* Room for one more argument. */
static bool slot(struct fabraft__args *a)
{
	if (a->rv != 0) {
		return false;
	}
	if (a->argc == a->cap) {
		int cap = a->cap ? a->cap * 2 : 16;
		const char **v = fr_realloc(a->v, (size_t)cap * sizeof(*v));
		size_t *l;
		size_t *o;

		if (v != NULL) {
			a->v = v;
		}
		l = v ? fr_realloc(a->lens, (size_t)cap * sizeof(*l)) : NULL;
		if (l != NULL) {
			a->lens = l;
		}
		o = l ? fr_realloc(a->off, (size_t)cap * sizeof(*o)) : NULL;
		if (o == NULL) {
			a->rv = FR_NOMEM;
			return false;
		}
		a->off = o;
		a->cap = cap;
	}
	return true;
}

void fabraft__args_mem(struct fabraft__args *a, const void *p, size_t len)
{
	if (!slot(a)) {
		return;
	}
	a->v[a->argc] = p;
	a->lens[a->argc] = len;
	a->off[a->argc] = SIZE_MAX;
	a->argc++;
}

void fabraft__args_str(struct fabraft__args *a, const char *s)
{
	fabraft__args_mem(a, s, strlen(s));
}

/* Copy @len bytes into the text buffer as the next argument. */
static void args_copy(struct fabraft__args *a, const char *p, size_t len)
{
	if (!slot(a)) {
		return;
	}
	if (a->tcap - a->tlen < len) {
		size_t cap = a->tcap ? a->tcap : 256;
		char *t;

		while (cap - a->tlen < len) {
			cap *= 2;
		}
		t = fr_realloc(a->text, cap);
		if (t == NULL) {
			a->rv = FR_NOMEM;
			return;
		}
		a->text = t;
		a->tcap = cap;
	}
	memcpy(a->text + a->tlen, p, len);
	a->v[a->argc] = NULL;
	a->lens[a->argc] = len;
	a->off[a->argc] = a->tlen;
	a->tlen += len;
	a->argc++;
}

void fabraft__args_u64(struct fabraft__args *a, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);

	args_copy(a, b, (size_t)n);
}

void fabraft__args_i64(struct fabraft__args *a, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);

	args_copy(a, b, (size_t)n);
}

void fabraft__args_hash(struct fabraft__args *a, const struct fabraft_hash *h)
{
	char hex[FABRAFT_HASH_HEX_SIZE];

	if (h->len == 0) {
		args_copy(a, "-", 1);
		return;
	}
	fabraft_hash_to_hex(h, hex);
	args_copy(a, hex, 2 * (size_t)h->len);
}

int fabraft__args_done(struct fabraft__args *a)
{
	if (a->rv != 0) {
		return a->rv;
	}
	for (int i = 0; i < a->argc; i++) {
		if (a->off[i] != SIZE_MAX) {
			a->v[i] = a->text + a->off[i];
		}
	}
	return 0;
}
