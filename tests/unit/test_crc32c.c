/* test_crc32c.c — CRC32C check values, chaining, and hw == sw paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

uint32_t fr__crc32c_sw(uint32_t crc, const void *buf, size_t len);

static void check_value(void **state)
{
	(void)state;
	assert_int_equal(fr_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(fr__crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(fr_crc32c(0, "", 0), 0);
	/* RFC 3720 B.4: 32 bytes of zeros. */
	unsigned char z[32] = {0};
	assert_int_equal(fr_crc32c(0, z, sizeof(z)), 0x8A9136AAu);
}

static void chaining_and_paths_agree(void **state)
{
	(void)state;
	unsigned char buf[1031];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (size_t len = 0; len < sizeof(buf); len += 7) {
		uint32_t whole = fr_crc32c(0, buf, len);
		assert_int_equal(whole, fr__crc32c_sw(0, buf, len));
		size_t cut = len / 3;
		uint32_t part = fr_crc32c(0, buf, cut);
		part = fr_crc32c(part, buf + cut, len - cut);
		assert_int_equal(whole, part);
	}
}

/* Lengths that exercise the three-stream blocks (long: 3 x 4096, short:
 * 3 x 256), the tails between them, unaligned starts and chaining. */
static void long_buffers_match_table(void **state)
{
	(void)state;
	static unsigned char buf[3 * 4096 * 3 + 1000];
	uint32_t x = 777;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	static const size_t lens[] = {767,   768,   769,   775,	  1535,
				      1536,  12287, 12288, 12289, 12295,
				      13056, 24576, 25000, 36864, 37863};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t off = 0; off < 9; off += 3) {
			size_t len = lens[i];
			if (off + len > sizeof(buf))
				continue;
			uint32_t whole = fr_crc32c(7, buf + off, len);
			assert_int_equal(whole,
					 fr__crc32c_sw(7, buf + off, len));
			size_t cut = len / 2 + 1;
			uint32_t part = fr_crc32c(7, buf + off, cut);
			part = fr_crc32c(part, buf + off + cut, len - cut);
			assert_int_equal(whole, part);
		}
	}
	/* Every length around the block boundaries of a 64 KiB frame. */
	for (size_t len = 0; len < sizeof(buf); len += 97)
		assert_int_equal(fr_crc32c(0, buf, len),
				 fr__crc32c_sw(0, buf, len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(check_value),
	    cmocka_unit_test(chaining_and_paths_agree),
	    cmocka_unit_test(long_buffers_match_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
