/* fabraftd_log.c — the daemon's log sink: time-stamped lines on stderr. */
#include "fabraftd_log.h"

#include <stdio.h>
#include <time.h>

#include "trace.h"

static uint32_t log_id; /* this node, for the line prefix */

/* Called from the loop thread and the wal's threads at once: one fprintf
 * per line, and stdio locks the stream for the call, so lines never mix. */
static void sink(void *ctx, int level, const char *tag, const char *line)
{
	struct timespec ts;
	struct tm tm;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld fabraftd[%u] %s: %s%s%s\n",
		tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, log_id,
		fr_log_level_name(level), tag != NULL ? tag : "",
		tag != NULL ? ": " : "", line);
}

void fabraftd_log_start(uint32_t id, int level)
{
	log_id = id;
	fr_log_set(sink, NULL, level);
}
