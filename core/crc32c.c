/* crc32c.c — CRC32C: SSE4.2 instruction where the CPU has it, table else. */
#include "crc32c.h"

#include <string.h>

#define CRC32C_POLY 0x82F63B78u

/* The byte table, built by the preprocessor so it is constant data: no
 * lazy initialisation and so no global mutable state in a pure library. */
#define S1(c)  (((c)&1u) ? (((c) >> 1) ^ CRC32C_POLY) : ((c) >> 1))
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
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, sizeof(w)); /* unaligned-safe load */
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len-- > 0) {
		crc = __builtin_ia32_crc32qi(crc, *p++);
	}
	return crc;
}

static int have_hw(void)
{
	/* cpuid only: no syscall, and the answer never changes. */
	return __builtin_cpu_supports("sse4.2");
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
