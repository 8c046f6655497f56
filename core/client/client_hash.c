/* client_hash.c — block hashes of 1..32 bytes (spec S1): hex, "i:N",
 * integers, comparison. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* Value of each hex digit, 0xff for any other byte: a lookup parses a
 * 64-block answer's 2048 hex digits, a table keeps that to a load each. */
static const uint8_t hexval[256] = {
    ['0'] = 0,	['1'] = 1,  ['2'] = 2,	['3'] = 3,  ['4'] = 4,	['5'] = 5,
    ['6'] = 6,	['7'] = 7,  ['8'] = 8,	['9'] = 9,  ['a'] = 10, ['b'] = 11,
    ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15, ['A'] = 10, ['B'] = 11,
    ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
};

/* hexval with the non-digits marked (designated initializers leave 0). */
static bool is_hex(unsigned char ch)
{
	return hexval[ch] != 0 || ch == '0';
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
		unsigned char hi = (unsigned char)s[i];
		unsigned char lo = (unsigned char)s[i + 1];

		if (!is_hex(hi) || !is_hex(lo)) {
			memset(h, 0, sizeof(*h));
			return FR_INVALID;
		}
		h->bytes[i / 2] = (uint8_t)(hexval[hi] << 4 | hexval[lo]);
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
