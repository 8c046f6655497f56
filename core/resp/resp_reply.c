/* resp_reply.c — RESP2 reply builders into a growable, bounded buffer. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"
#include "resp.h"

/* Smallest allocation: most replies fit, and growth doubles from here. */
#define BUF_MIN 256u

void resp_buf_init(struct resp_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void resp_buf_close(struct resp_buf *b)
{
	fr_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

void resp_buf_reset(struct resp_buf *b)
{
	b->len = 0;
	b->err = 0;
}

int resp_buf_err(const struct resp_buf *b)
{
	return b->err;
}

/* Make room for @n more bytes; returns NULL (and sets the sticky error) if
 * that would pass the limit or memory runs out. */
static char *reserve(struct resp_buf *b, size_t n)
{
	if (b->err != 0) {
		return NULL;
	}
	if (n > SIZE_MAX - b->len || (b->max != 0 && b->len + n > b->max)) {
		b->err = FR_TOOBIG;
		return NULL;
	}
	size_t need = b->len + n;
	if (need > b->cap) {
		size_t cap = b->cap < BUF_MIN ? BUF_MIN : b->cap;
		while (cap < need) {
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		}
		char *d = fr_realloc(b->data, cap);
		if (d == NULL) {
			b->err = FR_NOMEM;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	return b->data + b->len;
}

void resp_buf_raw(struct resp_buf *b, const void *p, size_t len)
{
	char *w = reserve(b, len);
	if (w != NULL && len > 0) {
		memcpy(w, p, len);
		b->len += len;
	}
}

/* Append @len bytes with CR and LF replaced by spaces: a simple string or
 * error must stay on one line or the client would misparse the stream. */
static void raw_line(struct resp_buf *b, const char *s, size_t len)
{
	char *w = reserve(b, len);
	if (w == NULL) {
		return;
	}
	for (size_t i = 0; i < len; i++) {
		w[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	}
	b->len += len;
}

void resp_buf_simple(struct resp_buf *b, const char *s)
{
	resp_buf_raw(b, "+", 1);
	raw_line(b, s, strlen(s));
	resp_buf_raw(b, "\r\n", 2);
}

static void verror(struct resp_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void verror(struct resp_buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		n = 0;
		small[0] = '\0';
	}
	resp_buf_raw(b, "-", 1);
	if ((size_t)n < sizeof(small)) {
		raw_line(b, small, (size_t)n);
	} else {
		char *big = fr_malloc((size_t)n + 1);
		if (big == NULL) {
			if (b->err == 0) {
				b->err = FR_NOMEM;
			}
		} else {
			vsnprintf(big, (size_t)n + 1, fmt, ap2);
			raw_line(b, big, (size_t)n);
			fr_free(big);
		}
	}
	va_end(ap2);
	resp_buf_raw(b, "\r\n", 2);
}

void resp_buf_error(struct resp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(b, fmt, ap);
	va_end(ap);
}

/* "<type><decimal>\r\n" */
static void header(struct resp_buf *b, char type, int64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%c%" PRId64 "\r\n", type, v);
	resp_buf_raw(b, tmp, (size_t)n);
}

void resp_buf_int(struct resp_buf *b, int64_t v)
{
	header(b, ':', v);
}

void resp_buf_bulk(struct resp_buf *b, const void *p, size_t len)
{
	header(b, '$', (int64_t)len);
	resp_buf_raw(b, p, len);
	resp_buf_raw(b, "\r\n", 2);
}

void resp_buf_bulk_str(struct resp_buf *b, const char *s)
{
	resp_buf_bulk(b, s, strlen(s));
}

void resp_buf_null(struct resp_buf *b)
{
	resp_buf_raw(b, "$-1\r\n", 5);
}

void resp_buf_null_array(struct resp_buf *b)
{
	resp_buf_raw(b, "*-1\r\n", 5);
}

void resp_buf_array(struct resp_buf *b, size_t n)
{
	header(b, '*', (int64_t)n);
}

bool resp_arg_is(const struct resp_arg *a, const char *s)
{
	size_t n = strlen(s);
	if (a->len != n) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = a->ptr[i];
		if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
		}
		char d = s[i];
		if (d >= 'A' && d <= 'Z') {
			d = (char)(d - 'A' + 'a');
		}
		if (c != d) {
			return false;
		}
	}
	return true;
}

/* Redis cuts the name and the quoted args to 128 bytes each way
 * (server.c processCommand, "%.128s" and "sdslen(args) < 128"). */
#define SHOW_MAX 128

void resp_buf_unknown_command(struct resp_buf *b, uint32_t argc,
			      const struct resp_arg *argv)
{
	size_t nlen = argv[0].len < SHOW_MAX ? argv[0].len : SHOW_MAX;
	/* The name is a C string in Redis: it ends at the first NUL. */
	const char *nul = memchr(argv[0].ptr, '\0', nlen);
	if (nul != NULL) {
		nlen = (size_t)(nul - argv[0].ptr);
	}
	resp_buf_raw(b, "-ERR unknown command '", 22);
	raw_line(b, argv[0].ptr, nlen);
	resp_buf_raw(b, "', with args beginning with: ", 29);
	size_t shown = 0;
	for (uint32_t i = 1; i < argc && shown < SHOW_MAX; i++) {
		size_t room = SHOW_MAX - shown;
		size_t alen = argv[i].len < room ? argv[i].len : room;
		resp_buf_raw(b, "'", 1);
		raw_line(b, argv[i].ptr, alen);
		resp_buf_raw(b, "' ", 2);
		shown += alen + 3;
	}
	resp_buf_raw(b, "\r\n", 2);
}

void resp_buf_wrong_arity(struct resp_buf *b, const struct resp_arg *name)
{
	char low[SHOW_MAX + 1];
	size_t n = name->len < SHOW_MAX ? name->len : SHOW_MAX;
	for (size_t i = 0; i < n; i++) {
		char c = name->ptr[i];
		low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	resp_buf_raw(b, "-ERR wrong number of arguments for '", 36);
	raw_line(b, low, n);
	resp_buf_raw(b, "' command\r\n", 11);
}
