/* test_trace.c — trace.h: level filter, sink text, truncation, no sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

/* What the sink saw. */
struct seen {
	int calls;			/* sink calls */
	int level;			/* of the last */
	const char *tag;		/* of the last (a string literal) */
	char line[FR_LOG_LINE_MAX + 8]; /* of the last, copied */
	size_t len;			/* strlen(line) at the call */
};

static void sink(void *ctx, int level, const char *tag, const char *line)
{
	struct seen *s = ctx;

	s->calls++;
	s->level = level;
	s->tag = tag;
	s->len = strlen(line);
	snprintf(s->line, sizeof(s->line), "%s", line);
}

static int evaluations;

/* An argument with a side effect, to see whether it was evaluated. */
static int counted(int v)
{
	evaluations++;
	return v;
}

static int teardown(void **state)
{
	(void)state;
	fr_log_set(NULL, NULL, 0);
	return 0;
}

/* The sink gets the formatted message, its level and its tag as given. */
static void formats_and_tags(void **state)
{
	(void)state;
	struct seen s = {0};

	fr_log_set(sink, &s, FR_LOG_INFO);
	fr_log(FR_LOG_WARN, "wal", "deleting %s: %d left", "seg-7", 3);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.level, FR_LOG_WARN);
	assert_string_equal(s.tag, "wal");
	assert_string_equal(s.line, "deleting seg-7: 3 left");
	fr_log(FR_LOG_INFO, NULL, "clean shutdown");
	assert_int_equal(s.calls, 2);
	assert_null(s.tag);
	assert_string_equal(s.line, "clean shutdown");
}

/* A line passes at the set level and more severe ones only; below it
 * neither the format nor the arguments are evaluated. */
static void level_filter(void **state)
{
	(void)state;
	struct seen s = {0};

	fr_log_set(sink, &s, FR_LOG_WARN);
	assert_true(fr_log_enabled(FR_LOG_ERROR));
	assert_true(fr_log_enabled(FR_LOG_WARN));
	assert_false(fr_log_enabled(FR_LOG_INFO));
	evaluations = 0;
	fr_log(FR_LOG_ERROR, "fabric", "%d", counted(1));
	fr_log(FR_LOG_WARN, "fabric", "%d", counted(2));
	fr_log(FR_LOG_INFO, "fabric", "%d", counted(3));
	fr_log(FR_LOG_DEBUG, "fabric", "%d", counted(4));
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.line, "2");
	assert_int_equal(evaluations, 2);

	fr_log_set(sink, &s, FR_LOG_DEBUG);
	fr_log(FR_LOG_DEBUG, "fabric", "%d", counted(4));
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.level, FR_LOG_DEBUG);

	fr_log_set(sink, &s, 0); /* level 0: nothing at all */
	fr_log(FR_LOG_ERROR, "fabric", "%d", counted(5));
	assert_int_equal(s.calls, 3);
}

/* Without a sink nothing is formatted, whatever the level asked. */
static void no_sink(void **state)
{
	(void)state;
	fr_log_set(NULL, NULL, FR_LOG_DEBUG);
	assert_false(fr_log_enabled(FR_LOG_ERROR));
	evaluations = 0;
	fr_log(FR_LOG_ERROR, "resp", "%d", counted(1));
	fr_log_write(FR_LOG_ERROR, "resp", "direct"); /* must not crash */
	assert_int_equal(evaluations, 0);
}

/* A message longer than the buffer is cut to FR_LOG_LINE_MAX - 1 bytes and
 * ends in "..."; one that just fits is passed whole. */
static void truncation(void **state)
{
	(void)state;
	struct seen s = {0};
	char big[2 * FR_LOG_LINE_MAX];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fr_log_set(sink, &s, FR_LOG_DEBUG);

	fr_log(FR_LOG_INFO, "wal", "%s", big);
	assert_int_equal(s.len, FR_LOG_LINE_MAX - 1);
	assert_string_equal(s.line + s.len - 3, "...");
	assert_int_equal(s.line[s.len - 4], 'x');

	big[FR_LOG_LINE_MAX - 1] = '\0'; /* exactly what fits */
	fr_log(FR_LOG_INFO, "wal", "%s", big);
	assert_int_equal(s.len, FR_LOG_LINE_MAX - 1);
	assert_int_equal(s.line[s.len - 1], 'x');

	big[FR_LOG_LINE_MAX - 1] = 'y'; /* one byte more */
	big[FR_LOG_LINE_MAX] = '\0';
	fr_log(FR_LOG_INFO, "wal", "%s", big);
	assert_int_equal(s.len, FR_LOG_LINE_MAX - 1);
	assert_string_equal(s.line + s.len - 3, "...");
}

static void level_names(void **state)
{
	(void)state;
	assert_string_equal(fr_log_level_name(FR_LOG_ERROR), "error");
	assert_string_equal(fr_log_level_name(FR_LOG_WARN), "warn");
	assert_string_equal(fr_log_level_name(FR_LOG_INFO), "info");
	assert_string_equal(fr_log_level_name(FR_LOG_DEBUG), "debug");
	assert_string_equal(fr_log_level_name(0), "?");
	assert_string_equal(fr_log_level_name(FR_LOG_DEBUG + 1), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(formats_and_tags, teardown),
	    cmocka_unit_test_teardown(level_filter, teardown),
	    cmocka_unit_test_teardown(no_sink, teardown),
	    cmocka_unit_test_teardown(truncation, teardown),
	    cmocka_unit_test(level_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
