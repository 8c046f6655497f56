/* crc32c.c — CRC32C: SSE4.2 instruction where the CPU has it, table else. */
#include "crc32c.h"

#include <string.h>

#define CRC32C_POLY 0x82F63B78u

/* The byte table, built by the preprocessor so it is constant data: no
 * lazy initialisation and so no global mutable state in a pure library.
 * S1 names its argument twice, not three times: S8 nests it eight deep, so
 * each entry expands to 2^8 rather than 3^8 copies (clang-tidy took six
 * minutes on this file with the latter). */
#define S1(c)  (((c) >> 1) ^ (CRC32C_POLY & (0u - ((c)&1u))))
#define S8(c)  S1(S1(S1(S1(S1(S1(S1(S1((uint32_t)(c)))))))))
#define T4(n)  S8(n), S8((n) + 1), S8((n) + 2), S8((n) + 3)
#define T16(n) T4(n), T4((n) + 4), T4((n) + 8), T4((n) + 12)
#define T64(n) T16(n), T16((n) + 16), T16((n) + 32), T16((n) + 48)
static const uint32_t crc_table[256] = {T64(0u), T64(64u), T64(128u),
					T64(192u)};

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len-- > 0) {
		crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
	}
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#include <wmmintrin.h>

/*
 * Hardware path.  One crc32 instruction has a latency of three cycles but
 * the CPU can start one per cycle, so a single dependent chain runs at a
 * third of the possible speed.  Long buffers are therefore cut into blocks
 * of three equal streams whose CRCs are computed interleaved and then
 * combined (Intel, "Fast CRC Computation for iSCSI Polynomial Using CRC32
 * Instruction", 2011; the same scheme as Linux crc32c-pcl-intel):
 *
 *   crc(A|B|C) = shift(crc(A), 2n) ^ shift(crc0(B), n) ^ crc0(C)
 *
 * where crc0 starts from zero and shift(c, n) is c advanced over n zero
 * bytes.  shift(c, n) = crc32q(0, clmul(c, K)) with K = x^(8n-33) mod P in
 * the reflected domain (computed offline by repeated multiplication by x;
 * test_crc32c checks every path against the bytewise table).
 */
#define LONG_BYTES  4096u	/* one stream of a long block */
#define SHORT_BYTES 256u	/* one stream of a short block */
#define K_LONG1	    0x82F89C77u /* x^(8*4096-33) mod P */
#define K_LONG2	    0x54A86326u /* x^(8*8192-33) mod P */
#define K_SHORT1    0xB9E02B86u /* x^(8*256-33) mod P */
#define K_SHORT2    0xDD7E3B0Cu /* x^(8*512-33) mod P */

__attribute__((target("sse4.2,pclmul"))) static uint64_t shift(uint64_t crc,
							       uint32_t k)
{
	__m128i a = _mm_cvtsi32_si128((int)(uint32_t)crc);
	__m128i b = _mm_cvtsi32_si128((int)k);
	__m128i t = _mm_clmulepi64_si128(a, b, 0x00);

	return _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(t));
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w)); /* unaligned-safe load */
	return w;
}

/* Consume as many blocks of three @n-byte streams as fit. */
__attribute__((target("sse4.2,pclmul"))) static uint64_t
crc_3way(uint64_t c, const unsigned char **pp, size_t *lenp, size_t n,
	 uint32_t k1, uint32_t k2)
{
	const unsigned char *p = *pp;
	size_t len = *lenp;

	while (len >= 3 * n) {
		uint64_t c1 = 0;
		uint64_t c2 = 0;

		for (size_t i = 0; i < n; i += 8) {
			c = _mm_crc32_u64(c, load64(p + i));
			c1 = _mm_crc32_u64(c1, load64(p + n + i));
			c2 = _mm_crc32_u64(c2, load64(p + 2 * n + i));
		}
		c = shift(c, k2) ^ shift(c1, k1) ^ c2;
		p += 3 * n;
		len -= 3 * n;
	}
	*pp = p;
	*lenp = len;
	return c;
}

__attribute__((target("sse4.2,pclmul"))) static uint32_t
crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	c = crc_3way(c, &p, &len, LONG_BYTES, K_LONG1, K_LONG2);
	c = crc_3way(c, &p, &len, SHORT_BYTES, K_SHORT1, K_SHORT2);
	while (len >= 8) {
		c = _mm_crc32_u64(c, load64(p));
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len-- > 0) {
		crc = _mm_crc32_u8(crc, *p++);
	}
	return crc;
}

static int have_hw(void)
{
	/* cpuid only: no syscall, and the answer never changes. */
	return __builtin_cpu_supports("sse4.2") &&
	       __builtin_cpu_supports("pclmul");
}
#else
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	return crc_sw(crc, p, len);
}

static int have_hw(void)
{
	return 0;
}
#endif

uint32_t fr_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	crc = ~crc;
	crc = have_hw() ? crc_hw(crc, p, len) : crc_sw(crc, p, len);
	return ~crc;
}

/* Exposed for the unit test that checks both paths agree. */
uint32_t fr__crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t fr__crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	return ~crc_sw(~crc, buf, len);
}
