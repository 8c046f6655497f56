/* out.c — results of the cluster benchmark: results.json,
 * results.md (table, redis-benchmark rows, targets) and per-cell latency
 * CDF data files. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench_cluster.h"

void bc_json_str(FILE *f, const char *before, const char *s)
{
	fprintf(f, "%s\"", before);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c < 0x20 || c >= 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

static uint64_t total(const struct bc_result *r)
{
	return r->ops[BC_WRITE] + r->ops[BC_READ];
}

static double us(const struct bc_hist *h, double q)
{
	return (double)bc_hist_quantile(h, q) / 1e3;
}

static void json_lat(FILE *f, const char *name, const struct bc_hist *h)
{
	fprintf(f,
		"\"%s\": {\"n\": %llu, \"p50\": %.1f, \"p99\": %.1f, "
		"\"p999\": %.1f, \"max\": %.1f}",
		name, (unsigned long long)h->n, us(h, 0.5), us(h, 0.99),
		us(h, 0.999), (double)h->max_ns / 1e3);
}

static void json_cell(FILE *f, const struct bc_result *r)
{
	const struct bc_spec *s = &r->spec;
	uint64_t n = total(r);
	double ops = n > 0 ? (double)n : 1;

	bc_json_str(f, "    {\"label\": ", s->label);
	fprintf(f,
		", \"system\": \"%s\", \"path\": %s%s%s, \"nodes\": %d, "
		"\"fsync\": %s, \"workload\": \"%s\", \"value_bytes\": %u, "
		"\"clients\": %d, \"pipeline\": %d, \"round\": %d, "
		"\"loadavg\": [%.2f, %.2f, %.2f],\n     \"ok\": %s, "
		"\"error\": ",
		bc_system_name(s->sys), s->sys == BC_FABRAFT ? "\"" : "",
		s->sys == BC_FABRAFT ? bc_path_name(s->path) : "null",
		s->sys == BC_FABRAFT ? "\"" : "", s->nodes,
		s->fsync ? "true" : "false", bc_workload_name(s->wl),
		s->value_bytes, s->clients, s->pipeline, s->round + 1,
		r->load[0], r->load[1], r->load[2], r->ok ? "true" : "false");
	bc_json_str(f, "", r->error);
	fprintf(f,
		", \"seconds\": %.3f, \"ops\": %llu, \"ops_per_s\": %.1f, "
		"\"writes\": %llu, \"reads\": %llu, \"errors\": %llu, "
		"\"retry_replies\": %llu, \"read_misses\": %llu,\n     ",
		r->seconds, (unsigned long long)n,
		r->seconds > 0 ? (double)n / r->seconds : 0,
		(unsigned long long)r->ops[BC_WRITE],
		(unsigned long long)r->ops[BC_READ],
		(unsigned long long)r->errors, (unsigned long long)r->retries,
		(unsigned long long)r->misses);
	json_lat(f, "latency_us", &r->lat);
	fprintf(f, ",\n     ");
	json_lat(f, "write_latency_us", &r->lat_cls[BC_WRITE]);
	fprintf(f, ",\n     ");
	json_lat(f, "read_latency_us", &r->lat_cls[BC_READ]);
	fprintf(f,
		",\n     \"server_cpu_s\": %.3f, \"server_cpu_s_per_1k_ops\": "
		"%.4f, \"client_cpu_s\": %.3f, \"peer_bytes\": ",
		r->server_cpu_s, r->server_cpu_s * 1000 / ops, r->client_cpu_s);
	if (r->peer_bytes_known) {
		fprintf(f, "%llu, \"peer_bytes_per_op\": %.1f",
			(unsigned long long)r->peer_bytes,
			(double)r->peer_bytes / ops);
	} else {
		fprintf(f, "null, \"peer_bytes_per_op\": null");
	}
	if (r->fsyncs_known) {
		fprintf(f,
			", \"log_fsyncs\": %llu, \"log_fsyncs_per_op\": %.4f",
			(unsigned long long)r->fsyncs, (double)r->fsyncs / ops);
	} else {
		fprintf(f,
			", \"log_fsyncs\": null, \"log_fsyncs_per_op\": null");
	}
	fprintf(f,
		", \"client_bytes_per_op\": %.1f, \"http_new_connections\": "
		"%llu, \"provider_seen\": ",
		(double)r->client_bytes / ops,
		(unsigned long long)r->new_connections);
	bc_json_str(f, "", r->provider_seen);
	bc_json_str(f, ", \"rma_seen\": ", r->rma_seen);
	fprintf(f, "}");
}

static void json_meta(FILE *f, const struct bc_run *run)
{
	const struct bc_opts *o = run->o;
	struct utsname u;
	char line[256];

	uname(&u);
	fprintf(f, "{\n  \"started\": \"%s\", \"finished\": \"%s\",\n",
		run->started, run->finished);
	bc_json_str(f, "  \"command\": ", run->cmdline);
	snprintf(line, sizeof(line), "%s %s %s, %ld CPUs", u.nodename,
		 u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN));
	bc_json_str(f, ",\n  \"host\": ", line);
	fprintf(f,
		",\n  \"loadavg_start\": [%.2f, %.2f, %.2f], "
		"\"loadavg_end\": [%.2f, %.2f, %.2f],\n",
		run->load_start[0], run->load_start[1], run->load_start[2],
		run->load_end[0], run->load_end[1], run->load_end[2]);
	bc_json_str(f, "  \"versions\": ", run->versions);
	bc_json_str(f, ", \"skipped\": ", run->skipped);
	fprintf(f,
		",\n  \"duration_s\": %.2f, \"warmup_s\": %.2f, "
		"\"client_threads\": %d,\n",
		o->duration_s, o->warmup_s,
		o->client_threads ? o->client_threads : 2);
}

static int write_json(const struct bc_run *run, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		return -1;
	}
	json_meta(f, run);
	fprintf(f, "  \"redis_benchmark\": [");
	for (int i = 0; i < run->n_rb; i++) {
		const struct bc_rb *rb = &run->rb[i];

		fprintf(f, "%s\n    {\"target\": ", i ? "," : "");
		bc_json_str(f, "", rb->target);
		fprintf(f, ", \"round\": %d, \"loadavg\": [%.2f, %.2f, %.2f]",
			rb->round + 1, rb->load[0], rb->load[1], rb->load[2]);
		for (int m = 0; m < BC_RB_MODES; m++) {
			bc_json_str(
			    f, m ? ", \"command_p16\": " : ", \"command\": ",
			    rb->command[m]);
			fprintf(f, ", \"%s\": %.1f, \"%s\": %.1f",
				m ? "set_rps_p16" : "set_rps", rb->set_rps[m],
				m ? "get_rps_p16" : "get_rps", rb->get_rps[m]);
		}
		fprintf(f,
			", \"ok\": %s, \"error\": ", rb->ok ? "true" : "false");
		bc_json_str(f, "", rb->error);
		fprintf(f, "}");
	}
	fprintf(f, "],\n  \"cells\": [\n");
	for (int i = 0; i < run->n; i++) {
		json_cell(f, &run->res[i]);
		fprintf(f, "%s\n", i + 1 < run->n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}

static void md_row(FILE *f, const struct bc_result *r)
{
	const struct bc_spec *s = &r->spec;
	uint64_t n = total(r);

	fprintf(f, "| %s | %s | %u | %d | %d | ", s->label,
		bc_workload_name(s->wl), s->value_bytes, s->clients,
		s->pipeline);
	if (!r->ok) {
		fprintf(f, "| | | | | | | | failed: %s | %d | %.2f |\n",
			r->error, s->round + 1, r->load[0]);
		return;
	}
	fprintf(f, "%.0f | %.0f | %.0f | %.0f | %.3f | ",
		(double)n / r->seconds, us(&r->lat, 0.5), us(&r->lat, 0.99),
		us(&r->lat, 0.999), r->server_cpu_s * 1000 / (double)n);
	if (r->peer_bytes_known) {
		fprintf(f, "%.0f | ", (double)r->peer_bytes / (double)n);
	} else {
		fprintf(f, "- | ");
	}
	fprintf(f, "%.0f | ", (double)r->client_bytes / (double)n);
	if (r->fsyncs_known) {
		fprintf(f, "%.3f | ", (double)r->fsyncs / (double)n);
	} else {
		fprintf(f, "- | ");
	}
	if (r->retries > 0) {
		fprintf(f, "%llu -TRYAGAIN (leader changed); ",
			(unsigned long long)r->retries);
	}
	if (r->errors > 0 || r->misses > 0) {
		fprintf(f, "%llu error replies, %llu read misses",
			(unsigned long long)r->errors,
			(unsigned long long)r->misses);
	}
	fprintf(f, " | %d | %.2f |\n", s->round + 1, r->load[0]);
}

static int write_md(const struct bc_run *run, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		return -1;
	}
	fprintf(f,
		"# fabraft-bench cluster\n\n`%s`, %s to %s, load average "
		"%.2f before, %.2f after. %s\n\n",
		run->cmdline, run->started, run->finished, run->load_start[0],
		run->load_end[0], run->versions);
	if (run->skipped[0] != '\0') {
		fprintf(f, "Skipped:\n\n```\n%s```\n\n", run->skipped);
	}
	fprintf(f,
		"| store | mix | value B | clients | pipeline | ops/s | "
		"p50 us | p99 us | p99.9 us | server CPU s/1k ops | "
		"peer B/op | client B/op | log fsyncs/op | notes | round | "
		"load before |\n"
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
		"---|\n");
	for (int i = 0; i < run->n; i++) {
		md_row(f, &run->res[i]);
	}
	if (run->n_rb > 0) {
		fprintf(f, "\n| redis-benchmark target | round | load before | "
			   "command | SET/s | GET/s |\n"
			   "|---|---|---|---|---|---|\n");
		for (int i = 0; i < run->n_rb; i++) {
			const struct bc_rb *rb = &run->rb[i];

			for (int m = 0; m < BC_RB_MODES; m++) {
				fprintf(f,
					"| %s | %d | %.2f | `%s` | %.0f | %.0f "
					"|%s%s\n",
					rb->target, rb->round + 1, rb->load[0],
					rb->command[m], rb->set_rps[m],
					rb->get_rps[m],
					rb->ok ? "" : " failed: ", rb->error);
			}
		}
	}
	if (run->o->breakdown) {
		fprintf(f, "\n## Breakdown\n");
		bc_breakdown_write(run, f, false);
		return fclose(f) == 0 ? 0 : -1;
	}
	fprintf(f, "\n## Targets\n\n");
	bc_write_targets(run, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* Latency CDF of cell @i: "latency_us fraction" per non-empty bucket. */
static int write_cdf(const struct bc_run *run, int i)
{
	const struct bc_hist *h = &run->res[i].lat;
	char path[700];
	uint64_t cum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cdf_%03d.dat", run->o->out, i);
	f = fopen(path, "w");
	if (f == NULL) {
		return -1;
	}
	fprintf(f, "# %s %s %uB c%d p%d\n", run->res[i].spec.label,
		bc_workload_name(run->res[i].spec.wl),
		run->res[i].spec.value_bytes, run->res[i].spec.clients,
		run->res[i].spec.pipeline);
	for (uint32_t b = 0; b < BC_HIST_BUCKETS && h->n > 0; b++) {
		if (h->counts[b] == 0) {
			continue;
		}
		cum += h->counts[b];
		fprintf(f, "%.3f %.6f\n",
			(double)bc_hist_bucket_low(b + 1) / 1e3,
			(double)cum / (double)h->n);
	}
	return fclose(f) == 0 ? 0 : -1;
}

int bc_write_results(const struct bc_run *run)
{
	char path[700];
	int rv = 0;

	snprintf(path, sizeof(path), "%s/results.json", run->o->out);
	rv |= write_json(run, path);
	snprintf(path, sizeof(path), "%s/results.md", run->o->out);
	rv |= write_md(run, path);
	for (int i = 0; i < run->n; i++) {
		rv |= write_cdf(run, i);
	}
	if (rv != 0) {
		fprintf(stderr, "cluster: cannot write results under %s\n",
			run->o->out);
	}
	return rv != 0 ? -1 : 0;
}
