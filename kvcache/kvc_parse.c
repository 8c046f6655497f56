/* kvc_parse.c — strict parsers for command arguments (never trust input). */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kvc_int.h"

static const char *const tier_names[KVC__TIERS] = {"hbm", "dram", "cxl",
						   "nvme"};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool kvc__arg_eq(const struct kvc_arg *a, const char *word)
{
	/* Walk @word to its NUL instead of strlen() first: most calls fail
	 * on the first byte or on the length. */
	size_t i = 0;
	for (; word[i] != '\0'; i++) {
		if (i == a->len || lower(a->base[i]) != lower(word[i])) {
			return false;
		}
	}
	return i == a->len;
}

/* Decimal digits only: no sign, no spaces, no leading '+', at most 20. */
bool kvc__parse_u64(const struct kvc_arg *a, uint64_t *v)
{
	if (a->len == 0 || a->len > 20) {
		return false;
	}
	uint64_t x = 0;
	for (size_t i = 0; i < a->len; i++) {
		unsigned d = (unsigned)(unsigned char)a->base[i] - '0';
		if (d > 9) {
			return false;
		}
		if (x > (UINT64_MAX - d) / 10) {
			return false;
		}
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* Redis integer syntax: optional '-', digits, no leading zeros, fits. */
bool kvc__parse_i64(const char *s, size_t len, int64_t *v)
{
	bool neg = len > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	if (len == i || len - i > 19 || (s[i] == '0' && len - i > 1) ||
	    (neg && s[i] == '0')) {
		return false;
	}
	uint64_t x = 0;
	for (; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9) {
			return false;
		}
		x = x * 10 + d; /* 19 digits cannot overflow uint64 */
	}
	uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (x > lim) {
		return false;
	}
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

/* Hex digit pairs to bytes; the portable version.  Branch-free so the
 * compiler can vectorise it.  @ndig even, at most 64. */
static bool hex_bytes(const unsigned char *p, size_t ndig, uint8_t *out)
{
	uint8_t nib[2 * KVC_HASH_BYTES_MAX];
	uint8_t bad = 0;
	for (size_t i = 0; i < ndig; i++) {
		uint8_t d = (uint8_t)(p[i] - '0');
		uint8_t l = (uint8_t)((p[i] | 0x20) - 'a');
		uint8_t isd = d < 10;
		uint8_t isl = l < 6;
		bad |= (uint8_t) !(isd | isl);
		nib[i] = isd ? d : (uint8_t)(l + 10);
	}
	for (size_t i = 0; i < ndig / 2; i++) {
		out[i] = (uint8_t)(nib[2 * i] << 4 | (nib[2 * i + 1] & 15));
	}
	return bad == 0;
}

/* "i:<decimal>": -2^63..2^64-1, stored as 8 bytes big-endian (negative
 * numbers in two's complement).  Digits only after an optional '-'. */
static bool parse_int_hash(const struct kvc_arg *a, struct kvc__hash *out)
{
	const char *s = a->base + 2;
	size_t len = a->len - 2;
	bool neg = len > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	if (i == len) {
		return false;
	}
	uint64_t x = 0;
	for (; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9 || x > (UINT64_MAX - d) / 10) {
			return false;
		}
		x = x * 10 + d;
	}
	if (neg) {
		if (x > (uint64_t)INT64_MAX + 1) {
			return false;
		}
		x = 0 - x;
	}
	memset(out, 0, sizeof(*out));
	for (unsigned j = 0; j < 8; j++) {
		out->b[j] = (uint8_t)(x >> (56 - 8 * j));
	}
	out->len = 8;
	return true;
}

static bool is_int_form(const struct kvc_arg *a)
{
	return a->len >= 2 && a->base[0] == 'i' && a->base[1] == ':';
}

bool kvc__parse_hash_scalar(const struct kvc_arg *a, struct kvc__hash *out)
{
	if (is_int_form(a)) {
		return parse_int_hash(a, out);
	}
	if (a->len < 2 || a->len > 2 * KVC_HASH_BYTES_MAX || a->len % 2 != 0) {
		return false;
	}
	memset(out, 0, sizeof(*out));
	out->len = (uint8_t)(a->len / 2);
	return hex_bytes((const unsigned char *)a->base, a->len, out->b);
}

#if defined(__SSE2__)
/* Sixteen hex digits to sixteen digit values (one per byte); *@ok gets
 * 0xff in the bytes that were hex digits.  Signed compares: bytes >= 0x80
 * are negative, so never digits or letters. */
static __m128i hex16(__m128i v, __m128i *ok)
{
	__m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* lower case */
	__m128i isd = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
				    _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
	__m128i isl = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
				    _mm_cmplt_epi8(l, _mm_set1_epi8('f' + 1)));
	*ok = _mm_or_si128(isd, isl);
	__m128i d = _mm_and_si128(isd, _mm_sub_epi8(v, _mm_set1_epi8('0')));
	__m128i x =
	    _mm_and_si128(isl, _mm_sub_epi8(l, _mm_set1_epi8('a' - 10)));
	return _mm_or_si128(d, x);
}

/* Eight digit pairs (16-bit lanes: first digit in the low byte) to eight
 * 16-bit lanes holding first << 4 | second. */
static __m128i pairs16(__m128i nib)
{
	__m128i first = _mm_and_si128(nib, _mm_set1_epi16(0x00ff));
	return _mm_or_si128(_mm_slli_epi16(first, 4), _mm_srli_epi16(nib, 8));
}

/* 32 hex digits at @p to 16 bytes at @out, with SSE2. */
static bool hex32(const char *p, uint8_t *out)
{
	__m128i ok0;
	__m128i ok1;
	__m128i in0;
	__m128i in1;
	/* memcpy: unaligned loads without casting char pointers to vector
	 * pointers (-Wcast-align); compilers emit movdqu. */
	memcpy(&in0, p, sizeof(in0));
	memcpy(&in1, p + 16, sizeof(in1));
	__m128i n0 = hex16(in0, &ok0);
	__m128i n1 = hex16(in1, &ok1);
	__m128i v = _mm_packus_epi16(pairs16(n0), pairs16(n1));
	memcpy(out, &v, sizeof(v));
	return _mm_movemask_epi8(_mm_and_si128(ok0, ok1)) == 0xffff;
}

/* 16 hex digits at @p to 8 bytes at @out, with SSE2. */
static bool hex16_8(const char *p, uint8_t *out)
{
	__m128i ok;
	__m128i in;
	memcpy(&in, p, sizeof(in));
	__m128i v =
	    _mm_packus_epi16(pairs16(hex16(in, &ok)), _mm_setzero_si128());
	memcpy(out, &v, 8);
	return _mm_movemask_epi8(ok) == 0xffff;
}

/* The same with SSE2 for 16, 32 and 64 digits, sixteen digits per step:
 * hashes are parsed on every lookup (64 per chain) and PUT; equal to
 * kvc__parse_hash_scalar() on every input (test_kvc checks). */
bool kvc__parse_hash(const struct kvc_arg *a, struct kvc__hash *out)
{
	if (is_int_form(a)) { /* "i:" + 14, 30 or 62 digits is no hex */
		return parse_int_hash(a, out);
	}
	if (a->len == 2 * KVC__HASH_INLINE) {
		memset(out->b + KVC__HASH_INLINE, 0,
		       KVC_HASH_BYTES_MAX - KVC__HASH_INLINE);
		out->len = KVC__HASH_INLINE;
		return hex32(a->base, out->b);
	}
	if (a->len == 16) { /* 8 bytes: 64-bit integer hashes in hex */
		memset(out->b + 8, 0, KVC_HASH_BYTES_MAX - 8);
		out->len = 8;
		return hex16_8(a->base, out->b);
	}
	if (a->len == 4 * KVC__HASH_INLINE) {
		out->len = KVC_HASH_BYTES_MAX;
		bool ok0 = hex32(a->base, out->b);
		bool ok1 = hex32(a->base + 32, out->b + 16);
		return ok0 && ok1;
	}
	return kvc__parse_hash_scalar(a, out);
}
#else
bool kvc__parse_hash(const struct kvc_arg *a, struct kvc__hash *out)
{
	return kvc__parse_hash_scalar(a, out);
}
#endif

bool kvc__parse_parent(const struct kvc_arg *a, struct kvc__hash *out)
{
	if (a->len == 1 && a->base[0] == '-') {
		memset(out, 0, sizeof(*out));
		return true;
	}
	return kvc__parse_hash(a, out);
}

int kvc__parse_tier(const struct kvc_arg *a)
{
	if (a->len < 3 || a->len > 4) {
		return -1;
	}
	for (unsigned t = 0; t < KVC__TIERS; t++) {
		if (kvc__arg_eq(a, tier_names[t])) {
			return (int)t;
		}
	}
	return -1;
}

const char *kvc__tier_name(unsigned tier)
{
	assert(tier < KVC__TIERS);
	return tier_names[tier];
}

bool kvc__parse_node_id(const struct kvc_arg *a, uint16_t *id)
{
	uint64_t v;
	if (!kvc__parse_u64(a, &v) || v == 0 || v > KVC__NODE_ID_MAX) {
		return false;
	}
	*id = (uint16_t)v;
	return true;
}

bool kvc__parse_lease(const struct kvc_arg *a, uint64_t *ms)
{
	return kvc__parse_u64(a, ms) && *ms > 0 && *ms <= KVC_LEASE_MS_MAX;
}

bool kvc__ns_valid(const struct kvc_arg *a)
{
	return a->len > 0 && a->len <= KVC_NS_BYTES_MAX;
}

int kvc__check_ns_cmd(bool arity_ok, const struct kvc_arg *argv,
		      struct kvc_reply *err)
{
	if (!arity_ok) {
		return kvc__err_arity(err, &argv[0]);
	}
	if (!kvc__ns_valid(&argv[1])) {
		return kvc__err(err, "namespace must be 1..64 bytes");
	}
	return 0;
}
