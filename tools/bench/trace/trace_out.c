/* trace_out.c — the results of `fabraft-bench trace`: quantiles, the
 * table on stdout and the JSON file. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "trace_bench.h"

void tr_summarize(struct tr_result *r)
{
	struct tr_stats *s = &r->st;

	r->lookup_p50_us = tr_quantile(s->lookup_us, s->lookups, 0.50);
	r->lookup_p99_us = tr_quantile(s->lookup_us, s->lookups, 0.99);
	r->put_p50_us = tr_quantile(s->put_us, s->puts, 0.50);
	r->put_p99_us = tr_quantile(s->put_us, s->puts, 0.99);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

/* Metadata operations per second: lookups and puts (a put, however many
 * round trips it takes, is one operation). */
static double ops_per_s(const struct tr_result *r)
{
	return r->seconds > 0
		   ? (double)(r->st.lookups + r->st.puts) / r->seconds
		   : 0;
}

void tr_print_table(const struct tr_result *r, int n, const double load[3])
{
	printf("\nload average at start: %.2f %.2f %.2f%s\n", load[0], load[1],
	       load[2], load[0] > 1.0 ? " (above 1.0: noisy figures)" : "");
	printf("%-8s %8s %8s %8s %6s %10s %10s %10s %10s %9s %8s %6s\n",
	       "system", "requests", "blocks", "hits", "hit%", "lookup p50",
	       "lookup p99", "put p50", "put p99", "ops/s", "req/s", "errors");
	for (int i = 0; i < n; i++) {
		const struct tr_stats *s = &r[i].st;

		if (!r[i].ran) {
			printf("%-8s FAILED: %s\n", r[i].system, r[i].error);
			continue;
		}
		printf("%-8s %8" PRIu64 " %8" PRIu64 " %8" PRIu64
		       " %5.1f%% %8.0fus %8.0fus %8.0fus %8.0fus %9.0f %8.0f "
		       "%6" PRIu64 "\n",
		       r[i].system, s->requests, s->blocks, s->hit_blocks,
		       100 * ratio(s->hit_blocks, s->blocks),
		       r[i].lookup_p50_us, r[i].lookup_p99_us, r[i].put_p50_us,
		       r[i].put_p99_us, ops_per_s(&r[i]),
		       r[i].seconds > 0 ? (double)s->requests / r[i].seconds
					: 0,
		       s->errors);
		if (s->errors != 0) {
			printf("%-8s first error: %s\n", "", r[i].error);
		}
		if (s->victims != 0 || s->no_space != 0) {
			printf("%-8s %" PRIu64
			       " locations evicted by KVC.ALLOC, "
			       "%" PRIu64 " puts did not fit, %" PRIu64
			       " blocks already stored\n",
			       "", s->victims, s->no_space, s->already_stored);
		}
	}
	(void)fflush(stdout);
}

/* A JSON string (the error texts may hold quotes). */
static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s);
		} else if ((unsigned char)*s < 0x20) {
			fprintf(f, "\\u%04x", (unsigned char)*s);
		} else {
			fputc(*s, f);
		}
	}
	fputc('"', f);
}

static void system_json(FILE *f, const struct tr_result *r)
{
	const struct tr_stats *s = &r->st;

	fprintf(f, "    {\"system\": ");
	jstr(f, r->system);
	fprintf(f,
		", \"ran\": %s, \"requests\": %" PRIu64 ", \"blocks\": %" PRIu64
		", \"hit_blocks\": %" PRIu64
		", \"hit_ratio\": %.6f, \"put_blocks\": %" PRIu64
		", \"lookups\": %" PRIu64 ", \"puts\": %" PRIu64
		", \"round_trips\": %" PRIu64 ",\n     \"lookup_p50_us\": %.1f"
		", \"lookup_p99_us\": %.1f, \"put_p50_us\": %.1f"
		", \"put_p99_us\": %.1f, \"ops_per_s\": %.1f"
		", \"requests_per_s\": %.1f, \"seconds\": %.3f"
		", \"server_cpu_s\": %.3f, \"client_cpu_s\": %.3f,\n     "
		"\"evicted\": %" PRIu64 ", \"puts_no_space\": %" PRIu64
		", \"blocks_already_stored\": %" PRIu64 ", \"errors\": %" PRIu64
		", \"retries\": %" PRIu64 ", \"error\": ",
		r->ran ? "true" : "false", s->requests, s->blocks,
		s->hit_blocks, ratio(s->hit_blocks, s->blocks), s->put_blocks,
		s->lookups, s->puts, s->round_trips, r->lookup_p50_us,
		r->lookup_p99_us, r->put_p50_us, r->put_p99_us, ops_per_s(r),
		r->seconds > 0 ? (double)s->requests / r->seconds : 0,
		r->seconds, r->server_cpu_s, r->client_cpu_s, s->victims,
		s->no_space, s->already_stored, s->errors, s->retries);
	jstr(f, r->error);
	fprintf(f, "}");
}

int tr_write_json(const struct tr_opts *o, const struct tr_result *r, int n,
		  const double load[3], uint32_t requests)
{
	FILE *f = fopen(o->json, "w");
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (f == NULL) {
		fprintf(stderr, "fabraft-bench trace: cannot write %s\n",
			o->json);
		return -1;
	}
	gmtime_r(&now, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "{\"bench\": \"trace\", \"finished\": \"%s\", \"trace\": ",
		when);
	jstr(f, o->trace);
	fprintf(f,
		", \"requests\": %u, \"engines\": %u, \"speed\": %.3f, "
		"\"max_rate\": %s, \"capacity_blocks\": %" PRIu64
		", \"block_bytes\": %" PRIu64 ", \"nodes\": %u, \"fsync\": %s"
		", \"touch\": %s,\n \"load_avg_start\": [%.2f, %.2f, %.2f]"
		", \"load_warning\": %s,\n \"systems\": [\n",
		requests, o->engines, o->speed, o->speed > 0 ? "false" : "true",
		o->capacity_blocks, o->block_bytes, o->nodes,
		o->fsync ? "true" : "false", o->touch ? "true" : "false",
		load[0], load[1], load[2], load[0] > 1.0 ? "true" : "false");
	for (int i = 0; i < n; i++) {
		system_json(f, &r[i]);
		fprintf(f, "%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "fabraft-bench trace: cannot write %s\n",
			o->json);
		return -1;
	}
	return 0;
}
