/* resp_parse.c — incremental, zero-copy RESP2 request parser (no I/O). */
#include "resp_parse.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"

/* Arrays above this many entries are freed between requests, so one huge
 * request does not pin its argument arrays for the connection's life. */
#define ARGS_KEEP 1024u

/* Digits of the longest accepted length: 10^18 - 1 fits an int64 and is
 * far over any limit, so "2^62" is refused on its digits alone. */
#define NUM_DIGITS_MAX 18

void resp_parser_init(struct resp_parser *p,
		      const struct resp_parse_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim = *lim;
}

void resp_parser_close(struct resp_parser *p)
{
	fr_free(p->argv);
	fr_free(p->offs);
	p->argv = NULL;
	p->offs = NULL;
	p->cap = 0;
}

static int fail(struct resp_parser *p, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct resp_parser *p, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
	va_end(ap);
	return rv;
}

static int ensure_cap(struct resp_parser *p, uint32_t n)
{
	if (n <= p->cap) {
		return 0;
	}
	uint64_t want = p->cap < 16 ? 16 : (uint64_t)p->cap * 2;
	if (want < n) {
		want = n;
	}
	if (want > p->lim.args_max && p->lim.args_max >= n) {
		want = p->lim.args_max;
	}
	struct resp_arg *argv = fr_realloc(p->argv, want * sizeof(*argv));
	if (argv == NULL) {
		return FR_NOMEM;
	}
	p->argv = argv;
	size_t *offs = fr_realloc(p->offs, want * sizeof(*offs));
	if (offs == NULL) {
		return FR_NOMEM;
	}
	p->offs = offs;
	p->cap = (uint32_t)want;
	return 0;
}

/*
 * Parse "<digits>\r\n" at @buf[@at] (just after the type byte).  Rejects at
 * the first byte that cannot belong to a valid number: a sign where none is
 * allowed, a leading zero, a 19th digit, anything but CR after the digits,
 * or CR not followed by LF.  On success *@end is the offset after the LF.
 */
static int parse_num(const char *buf, size_t len, size_t at, bool allow_neg,
		     int64_t *val, size_t *end)
{
	size_t i = at;
	bool neg = false;
	int64_t v = 0;
	int digits = 0;
	if (i < len && allow_neg && buf[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < len; i++) {
		char c = buf[i];
		if (c >= '0' && c <= '9') {
			if (digits == NUM_DIGITS_MAX ||
			    (digits == 1 && v == 0)) {
				return FR_MALFORMED;
			}
			v = v * 10 + (c - '0');
			digits++;
			continue;
		}
		if (c != '\r' || digits == 0) {
			return FR_MALFORMED;
		}
		break;
	}
	if (i + 1 >= len) {
		return FR_AGAIN;
	}
	if (buf[i + 1] != '\n' || (neg && v == 0)) {
		return FR_MALFORMED;
	}
	*val = neg ? -v : v;
	*end = i + 2;
	return 0;
}

/* Show a protocol byte in an error message without breaking the line. */
static void show_byte(char *out, size_t n, unsigned char c)
{
	if (c >= 0x20 && c < 0x7f && c != '\'') {
		snprintf(out, n, "%c", c);
	} else {
		snprintf(out, n, "\\x%02x", c);
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* The byte a backslash escape inside "..." stands for (sdssplitargs). */
static char unescape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'b':
		return '\b';
	case 'a':
		return '\a';
	default:
		return c;
	}
}

/*
 * Read one word of an inline line starting at @p (not a space), unescaping
 * it in place.  Returns the offset after the word, or 0 on unbalanced
 * quotes.  *@wlen is the unescaped length; the word starts at @p.
 */
static size_t inline_word(char *line, size_t p, size_t end, size_t *wlen)
{
	size_t w = p;
	size_t start = p;
	bool dq = false;
	bool sq = false;
	for (;;) {
		if (dq) {
			if (p >= end) {
				return 0;
			}
			if (line[p] == '\\' && p + 3 < end &&
			    line[p + 1] == 'x' && hex_val(line[p + 2]) >= 0 &&
			    hex_val(line[p + 3]) >= 0) {
				line[w++] = (char)(hex_val(line[p + 2]) * 16 +
						   hex_val(line[p + 3]));
				p += 4;
			} else if (line[p] == '\\' && p + 1 < end) {
				line[w++] = unescape(line[p + 1]);
				p += 2;
			} else if (line[p] == '"') {
				/* A closing quote must end the word. */
				p++;
				if (p < end && !is_space(line[p])) {
					return 0;
				}
				dq = false;
				break;
			} else {
				line[w++] = line[p++];
			}
		} else if (sq) {
			if (p >= end) {
				return 0;
			}
			if (line[p] == '\\' && p + 1 < end &&
			    line[p + 1] == '\'') {
				line[w++] = '\'';
				p += 2;
			} else if (line[p] == '\'') {
				p++;
				if (p < end && !is_space(line[p])) {
					return 0;
				}
				sq = false;
				break;
			} else {
				line[w++] = line[p++];
			}
		} else {
			if (p >= end || is_space(line[p])) {
				break;
			}
			if (line[p] == '"') {
				dq = true;
				p++;
			} else if (line[p] == '\'') {
				sq = true;
				p++;
			} else {
				line[w++] = line[p++];
			}
		}
	}
	*wlen = w - start;
	return p;
}

/* Raw control bytes never appear in a typed command; rejecting them makes a
 * binary flood fail at once instead of dribbling "unknown command" replies. */
static bool inline_bad_byte(const char *line, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			*at = i;
			return true;
		}
	}
	return false;
}

static int parse_inline(struct resp_parser *p, char *buf, size_t len,
			struct resp_request *req)
{
	size_t max = RESP_INLINE_MAX;
	if (p->lim.request_bytes_max < max) {
		max = (size_t)p->lim.request_bytes_max;
	}
	size_t scan = len < max ? len : max;
	char *nl = memchr(buf, '\n', scan);
	if (nl == NULL) {
		if (len >= max) {
			return fail(p, FR_TOOBIG,
				    "Protocol error: too big inline request");
		}
		p->need = len + 1;
		return FR_AGAIN;
	}
	size_t end = (size_t)(nl - buf);
	size_t bad;
	if (inline_bad_byte(buf, end, &bad)) {
		char b[8];
		show_byte(b, sizeof(b), (unsigned char)buf[bad]);
		return fail(p, FR_MALFORMED,
			    "Protocol error: unexpected byte '%s' in inline "
			    "request",
			    b);
	}
	uint32_t n = 0;
	size_t i = 0;
	for (;;) {
		while (i < end && is_space(buf[i])) {
			i++;
		}
		if (i >= end) {
			break;
		}
		if (n >= p->lim.args_max) {
			return fail(p, FR_TOOBIG,
				    "Protocol error: too many arguments in "
				    "inline request");
		}
		size_t wlen;
		size_t next = inline_word(buf, i, end, &wlen);
		if (next == 0) {
			return fail(p, FR_MALFORMED,
				    "Protocol error: unbalanced quotes in "
				    "request");
		}
		int rv = ensure_cap(p, n + 1);
		if (rv != 0) {
			return rv;
		}
		p->argv[n].ptr = buf + i;
		p->argv[n].len = wlen;
		n++;
		i = next;
	}
	req->argc = n;
	req->argv = p->argv;
	req->bytes = end + 1;
	return 0;
}

static int multibulk_start(struct resp_parser *p, const char *buf, size_t len,
			   struct resp_request *req)
{
	int64_t n;
	size_t end;
	int rv = parse_num(buf, len, 1, true, &n, &end);
	if (rv == FR_AGAIN) {
		p->need = len + 1;
		return rv;
	}
	if (rv != 0 || n < -1 || (n > 0 && (uint64_t)n > p->lim.args_max)) {
		return fail(p, rv != 0 || n < -1 ? FR_MALFORMED : FR_TOOBIG,
			    "Protocol error: invalid multibulk length");
	}
	if (n <= 0) {
		/* "*0" and "*-1" are empty requests, skipped as Redis does. */
		req->argc = 0;
		req->argv = p->argv;
		req->bytes = end;
		return 0;
	}
	p->kind = '*';
	p->argc = (uint32_t)n;
	p->nargs = 0;
	p->pos = end;
	return FR_AGAIN; /* not a result: the caller goes on with the args */
}

/* Parse one "$<len>\r\n<bytes>\r\n" at p->pos. */
static int multibulk_arg(struct resp_parser *p, const char *buf, size_t len)
{
	size_t at = p->pos;
	if (at >= len) {
		p->need = at + 1;
		return FR_AGAIN;
	}
	if (buf[at] != '$') {
		char b[8];
		show_byte(b, sizeof(b), (unsigned char)buf[at]);
		return fail(p, FR_MALFORMED,
			    "Protocol error: expected '$', got '%s'", b);
	}
	int64_t blen;
	size_t end;
	int rv = parse_num(buf, len, at + 1, false, &blen, &end);
	if (rv == FR_AGAIN) {
		p->need = len + 1;
		return rv;
	}
	if (rv != 0 || (uint64_t)blen > p->lim.bulk_bytes_max) {
		return fail(p, rv != 0 ? FR_MALFORMED : FR_TOOBIG,
			    "Protocol error: invalid bulk length");
	}
	uint64_t total = (uint64_t)end + (uint64_t)blen + 2;
	if (total > p->lim.request_bytes_max) {
		return fail(p, FR_TOOBIG,
			    "Protocol error: request larger than %llu bytes",
			    (unsigned long long)p->lim.request_bytes_max);
	}
	if (total > len) {
		p->need = (size_t)total;
		return FR_AGAIN;
	}
	size_t data_end = end + (size_t)blen;
	if (buf[data_end] != '\r' || buf[data_end + 1] != '\n') {
		return fail(p, FR_MALFORMED,
			    "Protocol error: expected CRLF after bulk data");
	}
	rv = ensure_cap(p, p->nargs + 1);
	if (rv != 0) {
		return rv;
	}
	p->offs[p->nargs] = end;
	p->argv[p->nargs].len = (size_t)blen;
	p->nargs++;
	p->pos = (size_t)total;
	return 0;
}

int resp_parse(struct resp_parser *p, char *buf, size_t len,
	       struct resp_request *req)
{
	int rv;
	if (p->kind == 0) {
		if (len == 0) {
			p->need = 1;
			return FR_AGAIN;
		}
		if (p->cap > ARGS_KEEP) {
			resp_parser_close(p);
		}
		if (buf[0] != '*') {
			return parse_inline(p, buf, len, req);
		}
		rv = multibulk_start(p, buf, len, req);
		if (rv != FR_AGAIN || p->kind == 0) {
			return rv;
		}
	}
	assert(p->kind == '*');
	while (p->nargs < p->argc) {
		rv = multibulk_arg(p, buf, len);
		if (rv != 0) {
			return rv;
		}
	}
	for (uint32_t i = 0; i < p->nargs; i++) {
		p->argv[i].ptr = buf + p->offs[i];
	}
	req->argc = p->nargs;
	req->argv = p->argv;
	req->bytes = p->pos;
	p->kind = 0;
	p->argc = 0;
	p->nargs = 0;
	p->pos = 0;
	return 0;
}
