/* client_hash.c — block hashes of 1..32 bytes (spec S1): hex, "i:N",
 * integers, comparison. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9') {
		return ch - '0';
	}
	if (ch >= 'a' && ch <= 'f') {
		return ch - 'a' + 10;
	}
	if (ch >= 'A' && ch <= 'F') {
		return ch - 'A' + 10;
	}
	return -1;
}

/* "i:N": N decimal, -2^63..2^64-1. */
static int parse_int(struct fabraft_hash *h, const char *s, size_t len)
{
	char buf[32];
	char *end;
	bool neg = len > 0 && s[0] == '-';

	if (len == 0 || len >= sizeof(buf) || (neg && len == 1)) {
		return FR_INVALID;
	}
	for (size_t i = neg ? 1 : 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return FR_INVALID;
		}
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	if (neg) {
		long long v = strtoll(buf, &end, 10);

		if (errno != 0) {
			return FR_INVALID;
		}
		fabraft_hash_from_i64(h, (int64_t)v);
	} else {
		unsigned long long v = strtoull(buf, &end, 10);

		if (errno != 0) {
			return FR_INVALID;
		}
		fabraft_hash_from_u64(h, (uint64_t)v);
	}
	return 0;
}

int fabraft_hash_parse(struct fabraft_hash *h, const char *s, size_t len)
{
	memset(h, 0, sizeof(*h));
	if (len >= 2 && s[0] == 'i' && s[1] == ':') {
		return parse_int(h, s + 2, len - 2);
	}
	if (len < 2 || len > FABRAFT_HASH_HEX_SIZE - 1 || len % 2 != 0) {
		return FR_INVALID;
	}
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(s[i]);
		int lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0) {
			memset(h, 0, sizeof(*h));
			return FR_INVALID;
		}
		h->bytes[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	h->len = (uint8_t)(len / 2);
	return 0;
}

void fabraft_hash_from_u64(struct fabraft_hash *h, uint64_t v)
{
	memset(h, 0, sizeof(*h));
	h->len = 8;
	for (int i = 7; i >= 0; i--) {
		h->bytes[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

void fabraft_hash_from_i64(struct fabraft_hash *h, int64_t v)
{
	fabraft_hash_from_u64(h, (uint64_t)v);
}

int fabraft_hash_from_bytes(struct fabraft_hash *h, const void *p, size_t n)
{
	memset(h, 0, sizeof(*h));
	if (n < 1 || n > FABRAFT_HASH_MAX) {
		return FR_INVALID;
	}
	memcpy(h->bytes, p, n);
	h->len = (uint8_t)n;
	return 0;
}

void fabraft_hash_to_hex(const struct fabraft_hash *h,
			 char out[FABRAFT_HASH_HEX_SIZE])
{
	static const char dig[] = "0123456789abcdef";
	size_t n = h->len <= FABRAFT_HASH_MAX ? h->len : FABRAFT_HASH_MAX;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = dig[h->bytes[i] >> 4];
		out[2 * i + 1] = dig[h->bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

bool fabraft_hash_equal(const struct fabraft_hash *a,
			const struct fabraft_hash *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}
