/* test_le.c — le.h: byte layout of every width, and the bounded cursor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "le.h"

/* The fixed widths write the least significant byte first, at any
 * alignment, and read back what they wrote. */
static void fixed_widths_layout(void **state)
{
	(void)state;
	uint8_t buf[1 + 8];
	uint8_t *p = buf + 1; /* unaligned on purpose */

	le_put_u16(p, 0x0102u);
	assert_memory_equal(p, "\x02\x01", 2);
	assert_int_equal(le_get_u16(p), 0x0102u);
	le_put_u32(p, 0x01020304u);
	assert_memory_equal(p, "\x04\x03\x02\x01", 4);
	assert_int_equal(le_get_u32(p), 0x01020304u);
	le_put_u64(p, 0x0102030405060708ull);
	assert_memory_equal(p, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_true(le_get_u64(p) == 0x0102030405060708ull);
}

/* The variable width agrees with the fixed ones and touches only its
 * bytes. */
static void variable_width(void **state)
{
	(void)state;
	uint8_t a[8];
	uint8_t b[9];

	for (unsigned n = 0; n <= 8; n++) {
		memset(b, 0xee, sizeof(b));
		uint8_t *end = le_put_uint(b, 0x8877665544332211ull, n);
		assert_ptr_equal(end, b + n);
		assert_int_equal(b[n], 0xee);
		le_put_u64(a, 0x8877665544332211ull);
		assert_memory_equal(a, b, n);
		uint64_t mask = n == 8 ? UINT64_MAX : (1ull << (8 * n)) - 1;
		assert_true(le_get_uint(b, n) ==
			    (0x8877665544332211ull & mask));
	}
	le_put_u32(a, 0xdeadbeefu);
	assert_true(le_get_uint(a, 4) == le_get_u32(a));
}

/* A cursor reads fields in order; a read past the end returns 0, sets
 * short_read, and every later read fails too. */
static void cursor_bounds(void **state)
{
	(void)state;
	static const uint8_t in[] = {7, 0x34, 0x12, 1, 0, 0, 0, 9};
	struct le_cursor c = {in, sizeof(in), false};

	assert_int_equal(le_read_u8(&c), 7);
	assert_int_equal(le_read_u16(&c), 0x1234u);
	assert_int_equal(le_read_u32(&c), 1);
	assert_false(c.short_read);
	assert_int_equal(c.left, 1);
	assert_true(le_read_u64(&c) == 0); /* 1 byte left, 8 wanted */
	assert_true(c.short_read);
	assert_int_equal(c.left, 1);
	assert_int_equal(le_read_u8(&c), 0); /* sticky */
	assert_null(le_take(&c, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fixed_widths_layout),
	    cmocka_unit_test(variable_width),
	    cmocka_unit_test(cursor_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
