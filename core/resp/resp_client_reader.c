/* resp_client_reader.c — the incremental reply parser: hiredis's redisReader
 * building a respc_reply tree through heap.h, within bounds. */
#include <assert.h>
#include <hiredis/read.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "heap.h"
#include "resp_client.h"

/*
 * hiredis calls the functions below for each value it completes; a value
 * inside an array goes into its parent's slot task->idx, the top-level one
 * into a heap shell that respc_reader_next() empties into the caller's
 * reply.  Returning NULL makes hiredis fail the reader (it says "out of
 * memory"); rd->rv and rd->err say what really happened.  hiredis's own
 * buffer is allocated by hiredis, which aborts when memory runs out.
 */

/* Slots an array holds once its elements 0 .. @k - 1 are in: powers of two
 * from 4 (capped by the declared count), so a declared count costs nothing
 * until its elements arrive. */
static size_t slots_for(size_t k)
{
	size_t cap = 4;

	while (cap < k) {
		cap *= 2;
	}
	return k == 0 ? 0 : cap;
}

static void *fail(struct respc_reader *rd, int rv, const char *why)
{
	rd->rv = rv;
	snprintf(rd->err, sizeof(rd->err), "%s", why);
	return NULL;
}

/* Account @bytes more to the reply being parsed; false when over bounds. */
static bool charge(struct respc_reader *rd, size_t bytes)
{
	if (bytes > rd->bytes_max - rd->tree_bytes) {
		rd->rv = FR_TOOBIG;
		snprintf(rd->err, sizeof(rd->err),
			 "reply larger than %zu bytes", rd->bytes_max);
		return false;
	}
	rd->tree_bytes += bytes;
	return true;
}

/* The reply object for @task: the next slot of its parent, or a new shell. */
static struct respc_reply *place(const redisReadTask *task, char type)
{
	struct respc_reader *rd = task->privdata;
	struct respc_reply *r;

	if (!charge(rd, sizeof(*r))) {
		return NULL;
	}
	if (task->parent == NULL) {
		assert(rd->top == NULL);
		r = fr_calloc(1, sizeof(*r));
		if (r == NULL) {
			return fail(rd, FR_NOMEM, "out of memory");
		}
		rd->top = r;
	} else {
		struct respc_reply *p = task->parent->obj;
		size_t k = (size_t)task->idx;

		assert(p->type == '*' && k < (size_t)p->integer && k == p->n);
		if (k >= slots_for(k)) {
			size_t cap = slots_for(k + 1);
			struct respc_reply *e;

			if (cap > (size_t)p->integer) {
				cap = (size_t)p->integer;
			}
			e = fr_realloc(p->elem, cap * sizeof(*e));
			if (e == NULL) {
				return fail(rd, FR_NOMEM, "out of memory");
			}
			p->elem = e;
		}
		r = &p->elem[k];
		memset(r, 0, sizeof(*r));
		p->n = k + 1;
	}
	r->type = type;
	return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
	struct respc_reader *rd = task->privdata;
	char type = task->type == REDIS_REPLY_STATUS  ? '+'
		    : task->type == REDIS_REPLY_ERROR ? '-'
						      : '$';
	struct respc_reply *r;

	if (!charge(rd, len + 1)) {
		return NULL;
	}
	r = place(task, type);
	if (r == NULL) {
		return NULL;
	}
	r->str = fr_malloc(len + 1);
	if (r->str == NULL) {
		return fail(rd, FR_NOMEM, "out of memory");
	}
	memcpy(r->str, str, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
	struct respc_reply *r;

	if (elements < 0) {
		return fail(task->privdata, FR_MALFORMED, "bad array length");
	}
	r = place(task, '*');
	if (r != NULL) {
		r->integer = elements;
	}
	return r;
}

static void *create_integer(const redisReadTask *task, long long v)
{
	struct respc_reply *r = place(task, ':');

	if (r != NULL) {
		r->integer = v;
	}
	return r;
}

/* hiredis leaves the task's type as the '$' or '*' that said -1. */
static void *create_nil(const redisReadTask *task)
{
	bool array = task->type == REDIS_REPLY_ARRAY;
	struct respc_reply *r = place(task, array ? '*' : '$');

	if (r != NULL && array) {
		r->n = SIZE_MAX;
	} else if (r != NULL) {
		r->len = SIZE_MAX;
	}
	return r;
}

/* hiredis would free a top-level value it gives up on, but not on every
 * error path (a reply nested too deep leaks in 0.14), so the reader owns
 * the value being parsed (rd->top) and frees it itself. */
static void free_object(void *obj)
{
	(void)obj;
}

static redisReplyObjectFunctions respc_fns = {
    .createString = create_string,
    .createArray = create_array,
    .createInteger = create_integer,
    .createNil = create_nil,
    .freeObject = free_object,
};

int respc_reader_init(struct respc_reader *rd, size_t bytes_max)
{
	memset(rd, 0, sizeof(*rd));
	rd->bytes_max = bytes_max ? bytes_max : RESPC_BYTES_MAX;
	rd->r = redisReaderCreateWithFunctions(&respc_fns);
	if (rd->r == NULL) {
		return FR_NOMEM;
	}
	rd->r->privdata = rd;
	/* Keep the buffer between replies: hiredis frees it whenever it is
	 * empty with more than 16 KiB spare, which made every large reply
	 * grow it again (about twice the CPU per 64 KiB GET). */
	rd->r->maxbuf = 0;
	return 0;
}

/* Free the value being parsed, if any. */
static void drop_top(struct respc_reader *rd)
{
	if (rd->top != NULL) {
		respc_reply_free(rd->top);
		fr_free(rd->top);
		rd->top = NULL;
	}
}

void respc_reader_close(struct respc_reader *rd)
{
	if (rd->r != NULL) {
		redisReaderFree(rd->r);
	}
	drop_top(rd);
	memset(rd, 0, sizeof(*rd));
}

int respc_reader_feed(struct respc_reader *rd, const char *p, size_t len)
{
	assert(rd->r != NULL);
	if (rd->rv != 0) {
		return rd->rv;
	}
	if (redisReaderFeed(rd->r, p, len) != REDIS_OK) {
		fail(rd, FR_NOMEM, "out of memory");
		return rd->rv;
	}
	rd->fed += len;
	return 0;
}

int respc_reader_next(struct respc_reader *rd, struct respc_reply *r,
		      size_t *wire_len)
{
	struct respc_reply *top = NULL;
	size_t pending;

	assert(rd->r != NULL);
	memset(r, 0, sizeof(*r));
	if (rd->rv != 0) {
		return rd->rv;
	}
	if (redisReaderGetReply(rd->r, (void **)&top) != REDIS_OK) {
		if (rd->rv == 0) {
			fail(rd, FR_MALFORMED, rd->r->errstr);
		}
		drop_top(rd);
		return rd->rv;
	}
	pending = rd->r->len - rd->r->pos;
	if (top == NULL) {
		/* Every unparsed byte belongs to the reply in progress. */
		if (!charge(rd, pending)) {
			drop_top(rd);
			return rd->rv;
		}
		rd->tree_bytes -= pending;
		return FR_AGAIN;
	}
	assert(top == rd->top);
	*r = *top;
	fr_free(top);
	rd->top = NULL;
	rd->tree_bytes = 0;
	if (wire_len != NULL) {
		*wire_len = (size_t)(rd->fed - pending - rd->taken);
	}
	rd->taken = rd->fed - pending;
	return 0;
}

void respc_reply_free(struct respc_reply *r)
{
	if (r->type == '*' && r->n != SIZE_MAX) {
		for (size_t i = 0; i < r->n; i++) {
			respc_reply_free(&r->elem[i]);
		}
	}
	fr_free(r->elem);
	fr_free(r->str);
	memset(r, 0, sizeof(*r));
}

bool respc_reply_is_nil(const struct respc_reply *r)
{
	return (r->type == '$' && r->len == SIZE_MAX) ||
	       (r->type == '*' && r->n == SIZE_MAX);
}
