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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_value),
		cmocka_unit_test(chaining_and_paths_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
