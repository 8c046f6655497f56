/* rb.c — the same `redis-benchmark` command against a
 * 3-node fabraft (fsync on) and a redis-server with appendfsync always:
 * the "as fast as one durable Redis" comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"

/* Run @rb->command's benchmark on @port; parse its CSV output. */
static void bench(const struct bc_opts *o, int port, struct bc_rb *rb)
{
	char cmd[512];
	char line[512];
	FILE *p;

	snprintf(rb->command, sizeof(rb->command),
		 "redis-benchmark -t set,get -n %ld -c 50 -P 16",
		 o->rb_requests);
	snprintf(cmd, sizeof(cmd),
		 "timeout 600 %s -h 127.0.0.1 -p %d --csv 2>&1", rb->command,
		 port);
	p = popen(cmd, "r");
	if (p == NULL) {
		snprintf(rb->error, sizeof(rb->error),
			 "cannot run redis-benchmark");
		return;
	}
	while (fgets(line, sizeof(line), p) != NULL) {
		double v;

		if (sscanf(line, "\"SET\",\"%lf\"", &v) == 1) {
			rb->set_rps = v;
		} else if (sscanf(line, "\"GET\",\"%lf\"", &v) == 1) {
			rb->get_rps = v;
		} else if (rb->error[0] == '\0' &&
			   strstr(line, "rror") != NULL) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(rb->error, sizeof(rb->error), "%.120s", line);
		}
	}
	rb->ok = pclose(p) == 0 && rb->set_rps > 0 && rb->get_rps > 0;
	if (!rb->ok && rb->error[0] == '\0') {
		snprintf(rb->error, sizeof(rb->error),
			 "redis-benchmark failed or printed no rates");
	}
}

static void one(const struct bc_opts *o, const char *root, struct bc_run *run,
		const struct bc_spec *s)
{
	struct bc_rb *rb = &run->rb[run->n_rb++];
	struct bc_server sv;
	char err[256] = "";
	int rv;

	memset(rb, 0, sizeof(*rb));
	snprintf(rb->target, sizeof(rb->target), "%s", s->label);
	fprintf(stderr, "redis-benchmark against %s ...\n", s->label);
	rv = s->sys == BC_FABRAFT
		 ? bc_fab_start(o, s, root, &sv, err, sizeof(err))
		 : bc_redis_start(s, root, &sv, err, sizeof(err));
	if (rv == 0) {
		bench(o, sv.client_port[sv.leader], rb);
	} else {
		snprintf(rb->error, sizeof(rb->error), "%.120s", err);
	}
	bc_server_stop(&sv, o->keep);
	fprintf(stderr, "  SET %.0f/s  GET %.0f/s%s%s\n", rb->set_rps,
		rb->get_rps, rb->ok ? "" : "  FAILED: ", rb->error);
}

void bc_rb_run(const struct bc_opts *o, const char *root, struct bc_run *run,
	       enum bc_path path)
{
	struct bc_spec s;
	enum bc_path paths[2] = {BC_TCP_MSG, path};

	if (system("command -v redis-benchmark >/dev/null 2>&1") != 0) {
		snprintf(run->skipped + strlen(run->skipped),
			 sizeof(run->skipped) - strlen(run->skipped),
			 "redis-benchmark comparison skipped: no "
			 "redis-benchmark on PATH\n");
		return;
	}
	for (int i = 0; i < (path == BC_TCP_MSG ? 1 : 2) && !bc_stop; i++) {
		if (!(o->systems & 1u << BC_FABRAFT) ||
		    !(o->paths & 1u << paths[i])) {
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.sys = BC_FABRAFT;
		s.path = paths[i];
		s.nodes = 3;
		s.fsync = true;
		snprintf(s.label, sizeof(s.label), "fabraft %s n3",
			 bc_path_name(paths[i]));
		one(o, root, run, &s);
	}
	if (!bc_stop && (o->systems & 1u << BC_REDIS) &&
	    strstr(run->skipped, "redis skipped") == NULL) {
		memset(&s, 0, sizeof(s));
		s.sys = BC_REDIS;
		s.nodes = 1;
		snprintf(s.label, sizeof(s.label), "redis aof-always");
		one(o, root, run, &s);
	}
}
