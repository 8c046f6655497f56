/* client_kvc_events.c — the event feed (spec S2): KVC.EVENTS and
 * KVC.SCAN, parsed generically (seq, index, type, then fields). */
#include <string.h>

#include "client_int.h"
#include "heap.h"

void fabraft_events_free(struct fabraft_events *e)
{
	for (size_t i = 0; e->events != NULL && i < e->n; i++) {
		struct fabraft_event *v = &e->events[i];

		for (size_t j = 0; v->fields != NULL && j < v->n_fields; j++) {
			fr_free(v->fields[j].str);
		}
		fr_free(v->fields);
		fr_free(v->type);
	}
	fr_free(e->events);
	memset(e, 0, sizeof(*e));
}

static int parse_field(const struct respc_reply *r, struct fabraft_field *f)
{
	if (r->type == ':') {
		f->is_int = true;
		f->integer = r->integer;
		return 0;
	}
	f->str = fabraft__strdup(r);
	f->len = f->str != NULL ? r->len : 0;
	return f->str != NULL ? 0 : FR_MALFORMED;
}

/* [seq, index, type, field...] */
static int parse_event(const struct respc_reply *r, struct fabraft_event *v)
{
	if (r->type != '*' || r->n == SIZE_MAX || r->n < 3 ||
	    !fabraft__reply_u64(&r->elem[0], &v->seq) ||
	    !fabraft__reply_u64(&r->elem[1], &v->index)) {
		return FR_MALFORMED;
	}
	v->type = fabraft__strdup(&r->elem[2]);
	if (v->type == NULL) {
		return FR_MALFORMED;
	}
	v->fields = fr_calloc(r->n - 3 + 1, sizeof(*v->fields));
	if (v->fields == NULL) {
		return FR_NOMEM;
	}
	for (size_t i = 3; i < r->n; i++) {
		v->n_fields = i - 2;
		if (parse_field(&r->elem[i], &v->fields[i - 3]) != 0) {
			return FR_MALFORMED;
		}
	}
	return 0;
}

static int parse_events(const struct respc_reply *r, struct fabraft_events *o)
{
	const struct respc_reply *l;

	if (r->type != '*' || r->n != 2 ||
	    !fabraft__reply_u64(&r->elem[0], &o->next_seq) ||
	    r->elem[1].type != '*' || r->elem[1].n == SIZE_MAX) {
		return FR_MALFORMED;
	}
	l = &r->elem[1];
	o->events = fr_calloc(l->n ? l->n : 1, sizeof(*o->events));
	if (o->events == NULL) {
		return FR_NOMEM;
	}
	for (size_t i = 0; i < l->n; i++) {
		int rv;

		o->n = i + 1;
		rv = parse_event(&l->elem[i], &o->events[i]);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

int fabraft_kvc_events(struct fabraft_client *c, uint64_t from_seq,
		       uint32_t count, int block_ms, struct fabraft_events *out)
{
	struct fabraft_options saved;
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	memset(out, 0, sizeof(*out));
	if (block_ms > 60000) {
		return fabraft__fail(c, FR_INVALID,
				     "BLOCK must be 0..60000 ms");
	}
	fabraft__args_init(&a);
	fabraft__args_str(&a, "KVC.EVENTS");
	fabraft__args_u64(&a, from_seq);
	if (count != 0) {
		fabraft__args_str(&a, "COUNT");
		fabraft__args_u64(&a, count);
	}
	if (block_ms >= 0) {
		fabraft__args_str(&a, "BLOCK");
		fabraft__args_u64(&a, (uint64_t)block_ms);
	}
	/* A long poll must not time out as a lost reply: this call's reply
	 * wait and deadline cover the BLOCK time. */
	saved = c->o;
	if (block_ms >= 0 && c->o.io_timeout_ms < block_ms + 1000) {
		c->o.io_timeout_ms = block_ms + 1000;
	}
	if (block_ms >= 0 && c->o.deadline_ms < block_ms + 2000) {
		c->o.deadline_ms = block_ms + 2000;
	}
	rv = fabraft__call(c, &a, FABRAFT__READ, &r);
	c->o = saved;
	if (rv != 0) {
		return rv;
	}
	rv = parse_events(&r, out);
	respc_reply_free(&r);
	if (rv != 0) {
		fabraft_events_free(out);
		return rv == FR_NOMEM ? fabraft__fail(c, rv, "out of memory")
				      : fabraft__bad_reply(c, "KVC.EVENTS");
	}
	return 0;
}

void fabraft_scan_free(struct fabraft_scan *s)
{
	fabraft_blocks_free(&s->b);
	memset(s, 0, sizeof(*s));
}

int fabraft_kvc_scan(struct fabraft_client *c, const char *ns, uint64_t cursor,
		     uint32_t count, struct fabraft_scan *out)
{
	struct fabraft__args a;
	struct respc_reply r;
	int rv;

	memset(out, 0, sizeof(*out));
	fabraft__args_init(&a);
	fabraft__args_str(&a, "KVC.SCAN");
	fabraft__args_str(&a, ns != NULL ? ns : "*");
	fabraft__args_u64(&a, cursor);
	if (count != 0) {
		fabraft__args_str(&a, "COUNT");
		fabraft__args_u64(&a, count);
	}
	rv = fabraft__call(c, &a, FABRAFT__READ, &r);
	if (rv != 0) {
		return rv;
	}
	if (r.type != '*' || r.n != 3 ||
	    !fabraft__reply_u64(&r.elem[0], &out->next_cursor) ||
	    !fabraft__reply_u64(&r.elem[1], &out->seq)) {
		rv = FR_MALFORMED;
	} else {
		rv = fabraft__parse_blocks(&r.elem[2], true, &out->b);
	}
	respc_reply_free(&r);
	if (rv != 0) {
		fabraft_scan_free(out);
		return rv == FR_NOMEM ? fabraft__fail(c, rv, "out of memory")
				      : fabraft__bad_reply(c, "KVC.SCAN");
	}
	return 0;
}
