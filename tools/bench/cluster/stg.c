/* stg.c — the stage histograms of `fabraft-bench cluster --breakdown`:
 * parse the leader's fabraft_stage_seconds buckets, and each stage's
 * median between two readings (the buckets subtracted, then the shared
 * lhist quantile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"

#define BUCKET_PREFIX "fabraft_stage_seconds_bucket{"

/* Series name of a bucket line's labels at @l: "wal", "repl peer=2". */
static void series_name(const char *l, char *out, size_t cap)
{
	const char *st = strstr(l, "stage=\"");
	const char *pe = strstr(l, "peer=\"");
	const char *end = strchr(l, '}');
	int sl, pl = 0;

	out[0] = '\0';
	if (st == NULL || end == NULL || st > end) {
		return;
	}
	st += 7;
	sl = (int)strcspn(st, "\"");
	if (pe != NULL && pe < end) {
		pe += 6;
		pl = (int)strcspn(pe, "\"");
		snprintf(out, cap, "%.*s peer=%.*s", sl, st, pl, pe);
	} else {
		snprintf(out, cap, "%.*s", sl, st);
	}
}

static int series_find(struct bc_stages *st, const char *name, bool add)
{
	for (int i = 0; i < st->n; i++) {
		if (strcmp(st->name[i], name) == 0) {
			return i;
		}
	}
	if (!add || st->n == BC_STAGES_MAX) {
		return -1;
	}
	snprintf(st->name[st->n], BC_STAGE_NAME, "%s", name);
	memset(st->cum[st->n], 0, sizeof(st->cum[0]));
	return st->n++;
}

int bc_stages_parse(const char *page, struct bc_stages *st)
{
	uint32_t seen[BC_STAGES_MAX] = {0}; /* buckets read per series */
	char name[BC_STAGE_NAME];

	memset(st, 0, sizeof(*st));
	for (const char *l = page; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');

		if (strncmp(l, BUCKET_PREFIX, strlen(BUCKET_PREFIX)) == 0) {
			const char *v = strchr(l, '}');
			int k;

			series_name(l, name, sizeof(name));
			k = name[0] ? series_find(st, name, true) : -1;
			/* Buckets come in order of their fixed bounds. */
			if (k >= 0 && v != NULL && seen[k] < FR_LHIST_BUCKETS) {
				st->cum[k][seen[k]++] =
				    strtoull(v + 1, NULL, 10);
			}
		}
		l = nl != NULL ? nl + 1 : NULL;
	}
	return st->n;
}

void bc_stages_medians(const struct bc_stages *a, const struct bc_stages *b,
		       struct bc_result *r)
{
	uint64_t counts[FR_LHIST_BUCKETS];

	r->n_stages = 0;
	for (int i = 0; i < b->n; i++) {
		int j = series_find((struct bc_stages *)a, b->name[i], false);
		uint64_t prev = 0;

		for (uint32_t k = 0; k < FR_LHIST_BUCKETS; k++) {
			uint64_t c = b->cum[i][k] - (j >= 0 ? a->cum[j][k] : 0);

			counts[k] = c >= prev ? c - prev : 0;
			prev = c;
		}
		snprintf(r->stage[r->n_stages], BC_STAGE_NAME, "%s",
			 b->name[i]);
		r->stage_n[r->n_stages] = prev;
		r->stage_p50_us[r->n_stages] =
		    fr_lhist_quantile_ns(counts, prev, 0.5) / 1e3;
		r->n_stages++;
	}
}
