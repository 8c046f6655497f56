/* client_reply.c — reply trees handed to the caller, the generic command
 * and the helpers the typed calls share. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "heap.h"

/*
 * Reply trees are walked with an explicit stack, not recursion: respc's
 * parser refuses arrays nested deeper than hiredis's 8 levels, so a tree
 * is at most 9 levels deep (DEPTH_MAX leaves room).
 */
#define DEPTH_MAX 16

void fabraft_reply_free(struct fabraft_reply *r)
{
	struct {
		struct fabraft_reply *r; /* node */
		size_t i;		 /* next child */
	} st[DEPTH_MAX] = {{r, 0}};
	int d = 0;

	while (d >= 0) {
		struct fabraft_reply *x = st[d].r;

		if (x->type == '*' && x->n != SIZE_MAX && st[d].i < x->n) {
			assert(d + 1 < DEPTH_MAX);
			st[d + 1].r = &x->elem[st[d].i++];
			st[d + 1].i = 0;
			d++;
			continue;
		}
		fr_free(x->elem);
		fr_free(x->str);
		memset(x, 0, sizeof(*x));
		d--;
	}
}

/* Copy @src's own fields into @dst, its string moved; an array gets its
 * (zeroed) element slots.  0 or FR_NOMEM. */
static int move_node(struct fabraft_reply *dst, struct respc_reply *src)
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
			return FR_NOMEM;
		}
	}
	return 0;
}

int fabraft__reply_move(struct fabraft_reply *dst, struct respc_reply *src)
{
	struct {
		struct fabraft_reply *d; /* copy */
		struct respc_reply *s;	 /* original */
		size_t i;		 /* next child */
	} st[DEPTH_MAX] = {{dst, src, 0}};
	int d = 0;
	int rv = move_node(dst, src);

	while (rv == 0 && d >= 0) {
		if (st[d].d->type == '*' && st[d].d->n != SIZE_MAX &&
		    st[d].i < st[d].d->n) {
			size_t i = st[d].i++;

			assert(d + 1 < DEPTH_MAX);
			st[d + 1].d = &st[d].d->elem[i];
			st[d + 1].s = &st[d].s->elem[i];
			st[d + 1].i = 0;
			rv = move_node(st[d + 1].d, st[d + 1].s);
			d++;
			continue;
		}
		d--;
	}
	respc_reply_free(src);
	if (rv != 0) {
		fabraft_reply_free(dst);
	}
	return rv;
}

/* The first line of @r (its value, or nothing for a non-empty array). */
static void print_node(const struct fabraft_reply *r)
{
	switch (r->type) {
	case '+':
		printf("%s\n", r->str);
		break;
	case '-':
		printf("(error) %s\n", r->str);
		break;
	case ':':
		printf("(integer) %lld\n", (long long)r->integer);
		break;
	case '$':
		if (r->len == SIZE_MAX) {
			printf("(nil)\n");
		} else {
			printf("\"%.*s\"\n", (int)r->len, r->str);
		}
		break;
	case '*':
		if (r->n == SIZE_MAX) {
			printf("(nil)\n");
		} else if (r->n == 0) {
			printf("(empty array)\n");
		}
		break;
	default:
		break;
	}
}

void fabraft_reply_print(const struct fabraft_reply *r, int indent)
{
	struct {
		const struct fabraft_reply *r; /* array */
		size_t i;		       /* next element */
		int indent;		       /* of its elements */
	} st[DEPTH_MAX];
	int d = -1;

	print_node(r);
	if (r->type == '*' && r->n != SIZE_MAX) {
		st[++d].r = r;
		st[d].i = 0;
		st[d].indent = indent + 3;
	}
	while (d >= 0) {
		const struct fabraft_reply *x;

		if (st[d].i == st[d].r->n) {
			d--;
			continue;
		}
		x = &st[d].r->elem[st[d].i];
		printf("%*s%zu) ", st[d].i ? st[d].indent - 3 : 0, "",
		       st[d].i + 1);
		st[d].i++;
		print_node(x);
		if (x->type == '*' && x->n != SIZE_MAX) {
			assert(d + 1 < DEPTH_MAX);
			d++;
			st[d].r = x;
			st[d].i = 0;
			st[d].indent = st[d - 1].indent + 3;
		}
	}
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
	if (fabraft__is_multi(argc, argv, lens)) {
		/* A reconnect would silently end the transaction and run
		 * what follows on its own. */
		return fabraft__fail(c, FR_INVALID,
				     "send MULTI ... EXEC as one "
				     "fabraft_pipeline()");
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

void fabraft_info_field(const char *info, const char *key, char *out,
			size_t cap)
{
	respc_info_field(info, key, out, cap);
}
