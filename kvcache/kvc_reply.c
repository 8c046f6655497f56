/* kvc_reply.c — appending RESP2 values to a growable reply buffer. */
#include <string.h>

#include "heap.h"
#include "kvc_int.h"

void kvc_reply_free(struct kvc_reply *r)
{
	fr_free(r->buf);
	r->buf = NULL;
	r->len = 0;
	r->cap = 0;
}

int kvc__reply_reserve(struct kvc_reply *r, size_t more)
{
	/* Checked before growing, so a reply over the limit is never built
	 * (nor allocated) in full. */
	if (r->max != 0 && (more > r->max || r->len > r->max - more)) {
		return FR_TOOBIG;
	}
	if (r->cap - r->len >= more) {
		return 0;
	}
	size_t cap = r->cap < 256 ? 256 : r->cap;
	while (cap - r->len < more) {
		if (cap > SIZE_MAX / 2) {
			return FR_NOMEM;
		}
		cap *= 2;
	}
	if (r->max != 0 && cap > r->max) {
		cap = r->max; /* >= len + more, checked above */
	}
	char *buf = fr_realloc(r->buf, cap);
	if (buf == NULL) {
		return FR_NOMEM;
	}
	r->buf = buf;
	r->cap = cap;
	return 0;
}

int kvc__reply_raw(struct kvc_reply *r, const void *buf, size_t len)
{
	int rv = kvc__reply_reserve(r, len);
	if (rv != 0) {
		return rv;
	}
	if (len > 0) {
		memcpy(r->buf + r->len, buf, len);
	}
	r->len += len;
	return 0;
}

int kvc__reply_str(struct kvc_reply *r, const char *s)
{
	return kvc__reply_raw(r, s, strlen(s));
}

/* 2 * @len lower-case hex digits of @h at @out (the common lengths with
 * a constant count, so they vectorise). */
void kvc__fmt_hash(char *out, const uint8_t *h, unsigned len)
{
	switch (len) {
	case 8:
		kvc__fmt_hex(out, h, 8);
		break;
	case 16:
		kvc__fmt_hex(out, h, 16);
		break;
	case 32:
		kvc__fmt_hex(out, h, 16);
		kvc__fmt_hex(out + 32, h + 16, 16);
		break;
	default:
		kvc__fmt_hex(out, h, len);
		break;
	}
}

/* Prefix byte, number, CRLF. */
static int line(struct kvc_reply *r, char prefix, bool neg, uint64_t v)
{
	int rv = kvc__reply_reserve(r, 24);
	if (rv != 0) {
		return rv;
	}
	char *p = r->buf + r->len;
	*p++ = prefix;
	if (neg) {
		*p++ = '-';
	}
	p += kvc__fmt_u64(p, v);
	*p++ = '\r';
	*p++ = '\n';
	r->len = (size_t)(p - r->buf);
	return 0;
}

int kvc__reply_int(struct kvc_reply *r, int64_t v)
{
	if (v < 0) {
		return line(r, ':', true, (uint64_t)0 - (uint64_t)v);
	}
	return line(r, ':', false, (uint64_t)v);
}

int kvc__reply_uint(struct kvc_reply *r, uint64_t v)
{
	/* RESP integers are signed 64-bit; larger values go as bulk. */
	if (v > (uint64_t)INT64_MAX) {
		return kvc__reply_bulk_uint(r, v);
	}
	return line(r, ':', false, v);
}

int kvc__reply_array(struct kvc_reply *r, uint64_t n)
{
	return line(r, '*', false, n);
}

int kvc__reply_bulk(struct kvc_reply *r, const void *buf, size_t len)
{
	int rv = kvc__reply_reserve(r, len + 26);
	if (rv != 0) {
		return rv;
	}
	rv = line(r, '$', false, len);
	assert(rv == 0);
	memcpy(r->buf + r->len, buf, len);
	r->len += len;
	r->buf[r->len++] = '\r';
	r->buf[r->len++] = '\n';
	return 0;
}

int kvc__reply_bulk_uint(struct kvc_reply *r, uint64_t v)
{
	char tmp[20];
	size_t n = kvc__fmt_u64(tmp, v);
	return kvc__reply_bulk(r, tmp, n);
}

int kvc__reply_bulk_hash(struct kvc_reply *r, const struct kvc__hash *h)
{
	char tmp[2 * KVC_HASH_BYTES_MAX];
	if (h->len == 0) {
		return kvc__reply_bulk(r, "-", 1);
	}
	kvc__fmt_hash(tmp, h->b, h->len);
	return kvc__reply_bulk(r, tmp, (size_t)h->len * 2);
}

int kvc__reply_nil(struct kvc_reply *r)
{
	return kvc__reply_raw(r, "$-1\r\n", 5);
}

int kvc__reply_ok(struct kvc_reply *r)
{
	return kvc__reply_raw(r, "+OK\r\n", 5);
}

int kvc__err(struct kvc_reply *r, const char *msg)
{
	int rv = kvc__reply_raw(r, "-ERR ", 5);
	if (rv == 0) {
		rv = kvc__reply_str(r, msg);
	}
	if (rv == 0) {
		rv = kvc__reply_raw(r, "\r\n", 2);
	}
	return rv != 0 ? rv : FR_INVALID;
}

int kvc__err3(struct kvc_reply *r, const char *a, const struct kvc_arg *name,
	      const char *b)
{
	int rv = kvc__reply_raw(r, "-ERR ", 5);
	if (rv == 0) {
		rv = kvc__reply_str(r, a);
	}
	/* Echo at most 64 bytes, lower-cased, control bytes as '?'. */
	size_t n = name->len < 64 ? name->len : 64;
	for (size_t i = 0; rv == 0 && i < n; i++) {
		char c = name->base[i];
		if ((unsigned char)c < 0x20 || c == 0x7f) {
			c = '?';
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
		}
		rv = kvc__reply_raw(r, &c, 1);
	}
	if (rv == 0) {
		rv = kvc__reply_str(r, b);
	}
	if (rv == 0) {
		rv = kvc__reply_raw(r, "\r\n", 2);
	}
	return rv != 0 ? rv : FR_INVALID;
}

int kvc__err_arity(struct kvc_reply *r, const struct kvc_arg *cmd)
{
	return kvc__err3(r, "wrong number of arguments for '", cmd,
			 "' command");
}

int kvc__reply_tier(struct kvc_reply *r, unsigned tier)
{
	const char *name = kvc__tier_name(tier);
	return kvc__reply_bulk(r, name, strlen(name));
}

int kvc__err_num(struct kvc_reply *r, const char *a, uint64_t v, const char *b)
{
	char num[24];
	size_t n = kvc__fmt_u64(num, v);
	struct kvc_arg arg = {num, n};
	return kvc__err3(r, a, &arg, b);
}
