/* opts.c — command line of `fabraft-bench cluster`: flags,
 * their validation, and --help. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "opts.h"

void bc_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: fabraft-bench cluster [options]\n"
	    "Local fabraftd clusters (3 and 5 nodes) against a 3-member etcd\n"
	    "and a redis-server (appendfsync always), driven by the same C\n"
	    "client threads; committed ops/s, latency p50/p99/p99.9, server\n"
	    "CPU s per 1,000 ops, peer and client bytes per op.\n\n"
	    "  --quick             a small plan (about a minute) checking the\n"
	    "                      harness works; exits 77 without etcd or\n"
	    "                      redis-server\n"
	    "  --grid              every combination of the lists below\n"
	    "                      (default: the one-factor-at-a-time sweep\n"
	    "                      of docs/benchmarks.md, filtered by them)\n"
	    "  --out DIR           results folder (./bench-results/<UTC "
	    "time>)\n"
	    "  --duration S        measured seconds per cell (4; quick 1)\n"
	    "  --warmup S          unmeasured seconds first (1; quick 0.3)\n"
	    "  --systems LIST      fabraft,etcd,redis\n"
	    "  --paths LIST        tcp-msg,tcp-rma,shm-msg,shm-rma,verbs-rma\n"
	    "  --nodes LIST        fabraft cluster sizes (3,5)\n"
	    "  --clients LIST      concurrent clients (1,16,256)\n"
	    "  --values LIST       SET value bytes (64,1024,16384)\n"
	    "  --fsync LIST        on,off (fabraft; etcd and redis always "
	    "sync)\n"
	    "  --workloads LIST    set,setget,kvc\n"
	    "  --pipeline LIST     requests in flight per client (1,16)\n"
	    "  --client-threads N  client threads (2)\n"
	    "  --rb-requests N     redis-benchmark -n (200000; quick 20000)\n"
	    "  --no-redis-benchmark  skip the redis-benchmark comparison\n"
	    "  --no-plots          no gnuplot PNGs\n"
	    "  --keep              keep the servers' temp dirs and logs\n"
	    "  --help              this text\n"
	    "Writes results.json, results.md, *.dat and *.png under --out.\n"
	    "Exit: 0 all cells ran, 1 a cell failed, 2 bad flags, 77 quick\n"
	    "mode skipped, 130 interrupted.  Servers never outlive it.\n");
}

/* Parse a double in [lo, hi] from @s into @out. */
static int num(const char *flag, const char *s, double lo, double hi,
	       double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr,
			"cluster: %s wants a number in %g..%g, got "
			"'%s'\n",
			flag, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* A comma list of integers in [lo, hi] into @out (room for @cap - 1 and
 * the 0 that ends it). */
static int int_list(const char *flag, const char *s, long lo, long hi,
		    long *out, int cap)
{
	char buf[256];
	char *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		char *end;
		long v;

		errno = 0;
		v = strtol(t, &end, 10);
		if (errno != 0 || end == t || *end != '\0' || v < lo ||
		    v > hi || n + 1 >= cap) {
			fprintf(stderr,
				"cluster: %s wants up to %d integers in "
				"%ld..%ld, got '%s'\n",
				flag, cap - 1, lo, hi, s);
			return -1;
		}
		out[n++] = v;
	}
	if (n == 0) {
		fprintf(stderr, "cluster: %s: empty list\n", flag);
		return -1;
	}
	out[n] = 0;
	return 0;
}

/* A comma list of names (of @names, @n of them) into a bit mask. */
static int name_list(const char *flag, const char *s, const char *(*name)(int),
		     int n, unsigned *mask)
{
	char buf[256];
	char *save = NULL;

	*mask = 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		int i = 0;

		while (i < n && strcmp(t, name(i)) != 0) {
			i++;
		}
		if (i == n) {
			fprintf(stderr, "cluster: %s: unknown '%s' (one of",
				flag, t);
			for (i = 0; i < n; i++) {
				fprintf(stderr, " %s", name(i));
			}
			fprintf(stderr, ")\n");
			return -1;
		}
		*mask |= 1u << i;
	}
	if (*mask == 0) {
		fprintf(stderr, "cluster: %s: empty list\n", flag);
		return -1;
	}
	return 0;
}

static const char *sys_name(int i)
{
	return bc_system_name((enum bc_system)i);
}

static const char *path_name(int i)
{
	return bc_path_name((enum bc_path)i);
}

static const char *wl_name(int i)
{
	return bc_workload_name((enum bc_workload)i);
}

static const char *fsync_name(int i)
{
	return i ? "on" : "off";
}

static void defaults(struct bc_opts *o)
{
	static const int nodes[] = {3, 5, 0};
	static const int clients[] = {1, 16, 256, 0};
	static const uint32_t values[] = {64, 1024, 16384, 0};
	static const int pipelines[] = {1, 16, 0};
	time_t now = time(NULL);
	struct tm tm;
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	memset(o, 0, sizeof(*o));
	o->plots = true;
	o->redis_benchmark = true;
	o->duration_s = -1;
	o->warmup_s = -1;
	o->systems = (1u << BC_SYSTEMS) - 1;
	o->paths = (1u << BC_PATHS) - 1;
	o->workloads = (1u << BC_WORKLOADS) - 1;
	o->fsyncs = 3;
	memcpy(o->nodes, nodes, sizeof(nodes));
	memcpy(o->clients, clients, sizeof(clients));
	memcpy(o->values, values, sizeof(values));
	memcpy(o->pipelines, pipelines, sizeof(pipelines));
	gmtime_r(&now, &tm);
	strftime(o->out, sizeof(o->out), "bench-results/%Y%m%d-%H%M%S", &tm);
	self[k > 0 ? k : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	snprintf(o->bin, sizeof(o->bin), "%.500s", self);
}

static int copy_ints(const long *l, int *out)
{
	int i = 0;

	for (; l[i] != 0; i++) {
		out[i] = (int)l[i];
	}
	out[i] = 0;
	return 0;
}

/* One flag with a value at argv[*i + 1]. */
static int with_value(struct bc_opts *o, const char *f, const char *v)
{
	long l[8];
	double d;

	if (strcmp(f, "--out") == 0) {
		if (v[0] == '\0' || strlen(v) >= sizeof(o->out) - 64) {
			fprintf(stderr, "cluster: --out: bad path\n");
			return -1;
		}
		snprintf(o->out, sizeof(o->out), "%s", v);
		return 0;
	}
	if (strcmp(f, "--duration") == 0) {
		return num(f, v, 0.2, 3600, &o->duration_s);
	}
	if (strcmp(f, "--warmup") == 0) {
		return num(f, v, 0, 600, &o->warmup_s);
	}
	if (strcmp(f, "--client-threads") == 0) {
		if (num(f, v, 1, 64, &d) != 0 || d != (int)d) {
			return -1;
		}
		o->client_threads = (int)d;
		return 0;
	}
	if (strcmp(f, "--rb-requests") == 0) {
		if (num(f, v, 1000, 1e8, &d) != 0 || d != (long)d) {
			return -1;
		}
		o->rb_requests = (long)d;
		return 0;
	}
	if (strcmp(f, "--systems") == 0) {
		return name_list(f, v, sys_name, BC_SYSTEMS, &o->systems);
	}
	if (strcmp(f, "--paths") == 0) {
		return name_list(f, v, path_name, BC_PATHS, &o->paths);
	}
	if (strcmp(f, "--workloads") == 0) {
		return name_list(f, v, wl_name, BC_WORKLOADS, &o->workloads);
	}
	if (strcmp(f, "--fsync") == 0) {
		return name_list(f, v, fsync_name, 2, &o->fsyncs);
	}
	if (strcmp(f, "--nodes") == 0) {
		if (int_list(f, v, 1, 9, l, 4) != 0) {
			return -1;
		}
		return copy_ints(l, o->nodes);
	}
	if (strcmp(f, "--clients") == 0) {
		if (int_list(f, v, 1, BC_CLIENTS_MAX, l, 8) != 0) {
			return -1;
		}
		return copy_ints(l, o->clients);
	}
	if (strcmp(f, "--pipeline") == 0) {
		if (int_list(f, v, 1, BC_PIPE_MAX, l, 4) != 0) {
			return -1;
		}
		return copy_ints(l, o->pipelines);
	}
	if (strcmp(f, "--values") == 0) {
		/* fabraft's KV store takes values up to 1 MiB. */
		if (int_list(f, v, 1, 1 << 20, l, 8) != 0) {
			return -1;
		}
		for (int i = 0; i < 8; i++) {
			o->values[i] = (uint32_t)l[i];
			if (l[i] == 0) {
				break;
			}
		}
		return 0;
	}
	fprintf(stderr, "cluster: unknown option '%s' (see --help)\n", f);
	return -1;
}

int bc_opts_parse(int argc, char **argv, struct bc_opts *o)
{
	defaults(o);
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i];

		if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
			bc_usage(stdout);
			return 1;
		} else if (strcmp(f, "--quick") == 0) {
			o->quick = true;
		} else if (strcmp(f, "--grid") == 0) {
			o->grid = true;
		} else if (strcmp(f, "--keep") == 0) {
			o->keep = true;
		} else if (strcmp(f, "--no-plots") == 0) {
			o->plots = false;
		} else if (strcmp(f, "--no-redis-benchmark") == 0) {
			o->redis_benchmark = false;
		} else if (strncmp(f, "--", 2) == 0 && i + 1 < argc) {
			if (with_value(o, f, argv[++i]) != 0) {
				return -1;
			}
		} else {
			fprintf(stderr,
				"cluster: unknown or incomplete "
				"option '%s' (see --help)\n",
				f);
			return -1;
		}
	}
	if (o->duration_s < 0) {
		o->duration_s = o->quick ? 1 : 4;
	}
	if (o->warmup_s < 0) {
		o->warmup_s = o->quick ? 0.3 : 1;
	}
	if (o->rb_requests == 0) {
		o->rb_requests = o->quick ? 20000 : 200000;
	}
	return 0;
}
