/* rb_parse.c — the rates in `redis-benchmark --csv` output (kept apart
 * from rb.c, which runs it, so the unit test can feed it lines). */
#include <stdio.h>
#include <string.h>

#include "bench_cluster.h"

bool bc_rb_parse_line(const char *line, struct bc_rb *rb, enum bc_rb_mode mode)
{
	double v;

	/* redis-benchmark 6+ prints "SET","rps","avg_latency_ms",...; older
	 * ones "SET","rps".  The header line ("test","rps",...) and the
	 * other tests' lines are not ours. */
	if (sscanf(line, "\"SET\",\"%lf\"", &v) == 1 && v > 0) {
		rb->set_rps[mode] = v;
		return true;
	}
	if (sscanf(line, "\"GET\",\"%lf\"", &v) == 1 && v > 0) {
		rb->get_rps[mode] = v;
		return true;
	}
	if (rb->error[0] == '\0' && strstr(line, "rror") != NULL) {
		size_t l = strcspn(line, "\r\n");

		snprintf(rb->error, sizeof(rb->error), "%.*s",
			 (int)(l < 120 ? l : 120), line);
	}
	return false;
}
