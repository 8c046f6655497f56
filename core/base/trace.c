/* trace.c — the process-wide log sink and level, and the line formatter. */
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fr__log_level;
static void (*log_sink)(void *ctx, int level, const char *tag,
			const char *line);
static void *log_ctx;

void fr_log_set(void (*sink)(void *ctx, int level, const char *tag,
			     const char *line),
		void *ctx, int level)
{
	int effective = sink != NULL ? level : 0;

	/* Setting what is already set writes nothing, so a test may repeat
	 * it while another thread logs (invariant 4). */
	if (log_sink == sink && log_ctx == ctx && fr__log_level == effective) {
		return;
	}
	log_sink = sink;
	log_ctx = ctx;
	fr__log_level = effective;
}

void fr_log_write(int level, const char *tag, const char *fmt, ...)
{
	char line[FR_LOG_LINE_MAX];
	va_list ap;

	if (log_sink == NULL) {
		return;
	}
	va_start(ap, fmt);
	/* The analyzer misreads ap as uninitialized here (va_start is the
	 * line above); it began to after an unrelated TU changed. */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0) {
		snprintf(line, sizeof(line), "(unformattable log line: %s)",
			 fmt);
	} else if ((size_t)n >= sizeof(line)) {
		/* Say it was cut, so a reader does not take the end for the
		 * whole story. */
		memcpy(line + sizeof(line) - 4, "...", 4);
	}
	log_sink(log_ctx, level, tag, line);
}

const char *fr_log_level_name(int level)
{
	static const char *const names[] = {"?", "error", "warn", "info",
					    "debug"};

	return level >= FR_LOG_ERROR && level <= FR_LOG_DEBUG ? names[level]
							      : "?";
}
