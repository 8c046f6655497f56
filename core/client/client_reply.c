/* client_reply.c — reply trees handed to the caller, the generic command
 * and the helpers the typed calls share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "heap.h"

void fabraft_reply_free(struct fabraft_reply *r)
{
	if (r->type == '*' && r->n != SIZE_MAX) {
		for (size_t i = 0; i < r->n; i++) {
			fabraft_reply_free(&r->elem[i]);
		}
	}
	fr_free(r->elem);
	fr_free(r->str);
	memset(r, 0, sizeof(*r));
}

int fabraft__reply_move(struct fabraft_reply *dst, struct respc_reply *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->type = src->type;
	dst->integer = src->integer;
	dst->str = src->str;
	dst->len = src->len;
	dst->n = src->n;
	src->str = NULL;
	if (src->type == '*' && src->n != SIZE_MAX && src->n > 0) {
		dst->elem = fr_calloc(src->n, sizeof(*dst->elem));
		if (dst->elem == NULL) {
			dst->n = 0;
			respc_reply_free(src);
			return FR_NOMEM;
		}
		for (size_t i = 0; i < src->n; i++) {
			int rv =
			    fabraft__reply_move(&dst->elem[i], &src->elem[i]);

			if (rv != 0) {
				respc_reply_free(src);
				return rv;
			}
		}
	}
	respc_reply_free(src);
	return 0;
}

int fabraft_command(struct fabraft_client *c, int argc, const char *const *argv,
		    const size_t *lens, struct fabraft_reply *r)
{
	struct respc_reply rr;
	int rv;

	memset(r, 0, sizeof(*r));
	if (argc < 1 || argv == NULL || argv[0] == NULL) {
		return fabraft__fail(c, FR_INVALID, "empty command");
	}
	rv = fabraft__run(c, argc, argv, lens,
			  fabraft__classify(argc, argv, lens), &rr);
	if (rv != 0) {
		return rv;
	}
	rv = fabraft__reply_move(r, &rr);
	if (rv != 0) {
		fabraft_reply_free(r);
		return fabraft__fail(c, rv, "out of memory");
	}
	return 0;
}

int fabraft__bad_reply(struct fabraft_client *c, const char *name)
{
	return fabraft__fail(c, FR_MALFORMED, "unexpected reply to %s", name);
}

int fabraft__call(struct fabraft_client *c, struct fabraft__args *a,
		  enum fabraft__class cls, struct respc_reply *r)
{
	int rv = fabraft__args_done(a);

	memset(r, 0, sizeof(*r));
	if (rv != 0) {
		fabraft__args_free(a);
		return fabraft__fail(c, rv, "out of memory");
	}
	rv = fabraft__run(c, a->argc, a->v, a->lens, cls, r);
	fabraft__args_free(a);
	if (rv == 0 && r->type == '-') {
		rv = strncmp(r->str, "RESYNC", 6) == 0 ? FR_STALE : FR_REFUSED;
		fabraft__fail(c, rv, "%s", r->str);
		respc_reply_free(r);
	}
	return rv;
}

int fabraft__want_int(struct fabraft_client *c, const struct respc_reply *r,
		      const char *name, uint64_t *out)
{
	if (r->type != ':' || r->integer < 0) {
		return fabraft__bad_reply(c, name);
	}
	if (out != NULL) {
		*out = (uint64_t)r->integer;
	}
	return 0;
}

char *fabraft__strdup(const struct respc_reply *r)
{
	char *s;

	if ((r->type != '$' && r->type != '+') || r->len == SIZE_MAX) {
		return NULL;
	}
	s = fr_malloc(r->len + 1);
	if (s != NULL) {
		memcpy(s, r->str, r->len);
		s[r->len] = '\0';
	}
	return s;
}

int fabraft__reply_hash(const struct respc_reply *r, struct fabraft_hash *h)
{
	if ((r->type != '$' && r->type != '+') || r->len == SIZE_MAX) {
		return FR_MALFORMED;
	}
	if (r->len == 1 && r->str[0] == '-') {
		memset(h, 0, sizeof(*h));
		return 0;
	}
	return fabraft_hash_parse(h, r->str, r->len) == 0 ? 0 : FR_MALFORMED;
}

bool fabraft__reply_u64(const struct respc_reply *r, uint64_t *v)
{
	char *end;

	if (r->type == ':') {
		*v = (uint64_t)r->integer;
		return r->integer >= 0;
	}
	if ((r->type == '$' || r->type == '+') && r->len != SIZE_MAX &&
	    r->len > 0 && r->str[0] >= '0' && r->str[0] <= '9') {
		*v = strtoull(r->str, &end, 10);
		return *end == '\0';
	}
	return false;
}
