/* brk.c — `fabraft-bench cluster --breakdown`: where a 1-client commit's
 * time goes (the leader's fabraft_stage_seconds over the measured window)
 * next to the floor measured in the same run: a raw pwrite+fdatasync of
 * the leader's log write size on the disk of the data dirs, and the bare
 * libfabric round trip of the cell's provider and path (the fabric
 * suite's raw mode), and both together without consensus (the floor
 * suite: as many node threads as the cell's nodes). */
#include <stdio.h>
#include <string.h>

#include "bench_cluster.h"
#include "bench_fabric.h"
#include "bench_floor.h"
#include "bench_wal.h"

/* The fabric suite's raw mode and provider of a cell's path. */
static void raw_of(enum bc_path p, const char **mode, const char **prov)
{
	*mode = p == BC_TCP_RMA || p == BC_SHM_RMA ? "raw-rma" : "raw-msg";
	*prov = p == BC_SHM_MSG || p == BC_SHM_RMA ? "shm" : "tcp";
}

void bc_breakdown_floor(const char *dir, struct bc_result *r)
{
	uint32_t len = r->wal_write_bytes;
	double out[5];
	const char *mode, *prov;

	if (len == 0) {
		len = r->spec.value_bytes; /* no log counters: the value */
	}
	if (bench_wal_raw_p50(dir, len, 500, &r->floor_disk_us,
			      &r->floor_direct) != 0) {
		snprintf(r->floor_note, sizeof(r->floor_note),
			 "raw pwrite+fdatasync in %s failed", dir);
	}
	/* Both together, with no consensus: the bound of issue 18's 1-client
	 * target (docs/benchmarks.md "The floor of a 1-client commit"). */
	if (bench_floor_p50(dir, (uint32_t)r->spec.nodes,
			    len < BENCH_FLOOR_MAX_BYTES ? len
							: BENCH_FLOOR_MAX_BYTES,
			    1000, &r->floor_repl_us) != 0) {
		snprintf(r->floor_note, sizeof(r->floor_note),
			 "fabraft-bench floor in %s failed", dir);
	}
	raw_of(r->spec.path, &mode, &prov);
	if (bench_fabric_pair(mode, prov, len, 2000, out) == 0) {
		r->floor_fabric_us = out[0];
	} else {
		snprintf(r->floor_note, sizeof(r->floor_note),
			 "fabric %s %s round trip failed", prov, mode);
	}
}

static double client_p50_us(const struct bc_result *r)
{
	return (double)bc_hist_quantile(&r->lat, 0.5) / 1e3;
}

static void write_table(const struct bc_result *r, FILE *f)
{
	const char *mode, *prov;

	raw_of(r->spec.path, &mode, &prov);
	fprintf(f,
		"\n%s, 1 client SET %u B, round %d, load %.2f: client p50 "
		"%.1f us\n\n| stage | count | p50 us |\n|---|---|---|\n",
		r->spec.label, r->spec.value_bytes, r->spec.round + 1,
		r->load[0], client_p50_us(r));
	for (int i = 0; i < r->n_stages; i++) {
		fprintf(f, "| %s | %llu | %.1f |\n", r->stage[i],
			(unsigned long long)r->stage_n[i], r->stage_p50_us[i]);
	}
	fprintf(f,
		"| floor: raw%s pwrite+fdatasync %u B | 500 | %.1f |\n"
		"| floor: bare %s %s round trip %u B | 2000 | %.1f |\n"
		"| floor: %d-node replicated durable write, no consensus "
		"(fabraft-bench floor) | 1000 | %.1f |\n",
		r->floor_direct ? " O_DIRECT" : "", r->wal_write_bytes,
		r->floor_disk_us, prov, mode, r->wal_write_bytes,
		r->floor_fabric_us, r->spec.nodes, r->floor_repl_us);
	if (r->floor_note[0] != '\0') {
		fprintf(f, "\n%s\n", r->floor_note);
	}
}

static void write_json(const struct bc_result *r, FILE *f, bool first)
{
	const char *mode, *prov;

	raw_of(r->spec.path, &mode, &prov);
	bc_json_str(
	    f, first ? "  {\"label\": " : ",\n  {\"label\": ", r->spec.label);
	fprintf(f,
		", \"round\": %d, \"load1\": %.2f, \"value_bytes\": %u, "
		"\"client_p50_us\": %.1f,\n   \"stages\": {",
		r->spec.round + 1, r->load[0], r->spec.value_bytes,
		client_p50_us(r));
	for (int i = 0; i < r->n_stages; i++) {
		/* Names come from the daemon's page: escaped. */
		bc_json_str(f, i ? ", " : "", r->stage[i]);
		fprintf(f, ": {\"n\": %llu, \"p50_us\": %.1f}",
			(unsigned long long)r->stage_n[i], r->stage_p50_us[i]);
	}
	fprintf(f,
		"},\n   \"floor\": {\"write_bytes\": %u, "
		"\"pwrite_fdatasync_p50_us\": %.1f, \"o_direct\": %s, "
		"\"provider\": \"%s\", \"mode\": \"%s\", "
		"\"round_trip_p50_us\": %.1f, \"replicated_p50_us\": %.1f",
		r->wal_write_bytes, r->floor_disk_us,
		r->floor_direct ? "true" : "false", prov, mode,
		r->floor_fabric_us, r->floor_repl_us);
	bc_json_str(f, ", \"note\": ", r->floor_note);
	fprintf(f, "}}");
}

void bc_breakdown_write(const struct bc_run *run, FILE *f, bool json)
{
	bool first = true;

	if (json) {
		bc_json_str(f, "{\"command\": ", run->cmdline);
		fprintf(f, ", \"breakdown\": [\n");
	}
	for (int i = 0; i < run->n; i++) {
		const struct bc_result *r = &run->res[i];

		if (!r->ok || r->n_stages == 0) {
			continue;
		}
		if (json) {
			write_json(r, f, first);
		} else {
			write_table(r, f);
		}
		first = false;
	}
	if (json) {
		fprintf(f, "\n]}\n");
	}
}
