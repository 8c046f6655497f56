/* fabraft_demo.c — `fabraft demo`: a 3-node local cluster serving a
 * KV-cache placement workload while its leader is SIGKILLed. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_trace.h"
#include "fabraft_cli.h"

#define BLOCK_BYTES (2u << 20)
#define NS	    "llama-3-8b"

struct demo {
	struct cl c;		   /* the cluster */
	struct fabraft_client *fc; /* the client library, all nodes */
	int killed;		   /* node index SIGKILLed, -1 = none */
	int chains;		   /* chains to put */
	int len;		   /* blocks per chain */
	bool *put_ok;		   /* chain c acknowledged */
	bool *set_ok;		   /* key c acknowledged */
	uint64_t ops;		   /* commands answered */
	uint64_t errors;	   /* error replies (after retries) */
	uint64_t retries;	   /* retries by the client library */
	uint64_t lookups;	   /* KVC.LOOKUP calls */
	uint64_t lookup_blocks;	   /* blocks found by them */
	uint64_t t_kill_ms;	   /* when the leader was killed */
	uint64_t t_elect_ms;	   /* when a new leader answered */
	uint64_t t_first_ok_ms;	   /* first write acknowledged after the kill */
	int old_leader;		   /* node id killed */
	int new_leader;		   /* node id elected */
	char new_term[24];	   /* its term */
	struct cl_trace *trace;	   /* the trace replay, or NULL */
	const char *trace_path;	   /* --trace, NULL = the shipped one */
	int trace_requests;	   /* --trace-requests (0 = no replay) */
	int engines;		   /* --engines */
};

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Block hash of block @j of chain @c: 32 hex digits.  Chains share their
 * first blocks in groups of 8 (a common system prompt), like real
 * prefix caches. */
static void block_hash(int c, int j, char out[33])
{
	uint64_t seed = j < 2 ? (uint64_t)(c / 8) * 1000 + (uint64_t)j
			      : (uint64_t)c * 1000 + (uint64_t)j + 1000000;

	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, mix(seed),
		 mix(seed ^ 0xabcdef));
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Send one command through the client library (leader discovery,
 * redirects, retries within its 10 s deadline).  Returns 0 with @r
 * filled, -1 without. */
static int op(struct demo *d, int argc, const char *const *argv,
	      struct fabraft_reply *r)
{
	struct fabraft_client_stats st;
	int rv = fabraft_command(d->fc, argc, argv, NULL, r);

	fabraft_client_stats(d->fc, &st);
	d->retries = st.retries;
	if (rv != 0) {
		return -1;
	}
	d->ops++;
	return 0;
}

/* Node id of the node the client talks to, 0 if none. */
static int cur_node(const struct demo *d)
{
	const char *s = fabraft_server(d->fc);

	for (int i = 0; i < d->c.n; i++) {
		if (strcmp(s, d->c.client[i]) == 0) {
			return d->c.id[i];
		}
	}
	return 0;
}

static bool op_ok(struct demo *d, int argc, const char *const *argv)
{
	struct fabraft_reply r;
	bool ok;

	if (op(d, argc, argv, &r) != 0) {
		d->errors++;
		return false;
	}
	ok = r.type != '-';
	if (!ok) {
		d->errors++;
	}
	fabraft_reply_free(&r);
	return ok;
}

static int register_nodes(struct demo *d)
{
	for (int i = 1; i <= 4; i++) {
		char id[8];
		char addr[32];
		const char *argv[] = {
		    "KVC.NODE.ADD", id,	    addr,	    "0", "hbm",
		    "85899345920",  "dram", "1099511627776"};

		snprintf(id, sizeof(id), "%d", i);
		snprintf(addr, sizeof(addr), "10.0.0.%d:7000", i);
		if (!op_ok(d, 8, argv)) {
			return -1;
		}
	}
	return 0;
}

static bool put_chain(struct demo *d, int c)
{
	char h[64][33];
	char off[64][24];
	char node[8];
	char blen[16];
	const char *argv[2 + 64 * 7];
	int n = 0;

	snprintf(node, sizeof(node), "%d", c % 4 + 1);
	snprintf(blen, sizeof(blen), "%u", BLOCK_BYTES);
	argv[n++] = "KVC.PUT";
	argv[n++] = NS;
	for (int j = 0; j < d->len; j++) {
		block_hash(c, j, h[j]);
		snprintf(off[j], sizeof(off[j]), "%llu",
			 (unsigned long long)((uint64_t)(c * d->len + j) *
					      BLOCK_BYTES));
		argv[n++] = h[j];
		argv[n++] = j ? h[j - 1] : "-";
		argv[n++] = "16";
		argv[n++] = node;
		argv[n++] = "dram";
		argv[n++] = off[j];
		argv[n++] = blen;
	}
	return op_ok(d, n, argv);
}

/* Longest cached prefix of chain @c: number of blocks, -1 on error. */
static int lookup(struct demo *d, int c)
{
	char h[64][33];
	const char *argv[2 + 64];
	struct fabraft_reply r;
	int n = 0;
	int found;

	argv[n++] = "KVC.LOOKUP";
	argv[n++] = NS;
	for (int j = 0; j < d->len; j++) {
		block_hash(c, j, h[j]);
		argv[n++] = h[j];
	}
	if (op(d, n, argv, &r) != 0) {
		return -1;
	}
	found = r.type == '*' && r.n != SIZE_MAX ? (int)r.n : -1;
	fabraft_reply_free(&r);
	d->lookups++;
	d->lookup_blocks += found > 0 ? (uint64_t)found : 0;
	return found;
}

static bool set_key(struct demo *d, int c)
{
	char k[32];
	char v[32];
	const char *argv[] = {"SET", k, v};

	snprintf(k, sizeof(k), "demo:%d", c);
	snprintf(v, sizeof(v), "value-%d", c);
	return op_ok(d, 3, argv);
}

static void progress(struct demo *d, int c, uint64_t t0)
{
	int width = 30;
	int done = (c * width) / d->chains;
	double s = (double)(cl_now_ms() - t0) / 1000.0;

	printf("\r  [%.*s%*s] chains %4d/%d  ops %6" PRIu64
	       "  %6.0f ops/s  leader node %d ",
	       done, "##############################", width - done, "", c,
	       d->chains, d->ops, s > 0 ? (double)d->ops / s : 0.0,
	       cur_node(d));
	fflush(stdout);
}

static void kill_leader(struct demo *d)
{
	char *info;
	int leader = cl_leader(&d->c, 3000, -1);
	pid_t pid;

	if (leader < 0) {
		return;
	}
	pid = cl_pid(&d->c, leader);
	printf("\n  >>> SIGKILL leader node %d (pid %d)\n", d->c.id[leader],
	       (int)pid);
	d->old_leader = d->c.id[leader];
	d->t_kill_ms = cl_now_ms();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	d->killed = leader;
	leader = cl_leader(&d->c, 10000, d->killed);
	d->t_elect_ms = cl_now_ms();
	if (leader < 0) {
		printf("  !!! no new leader within 10 s\n");
		return;
	}
	d->new_leader = d->c.id[leader];
	info = cl_info(d->c.client[leader], 500);
	if (info != NULL) {
		fabraft_info_field(info, "term", d->new_term,
				   sizeof(d->new_term));
		fr_free(info);
	}
	printf("  >>> node %d elected leader in term %s, %" PRIu64
	       " ms after the kill\n",
	       d->new_leader, d->new_term, d->t_elect_ms - d->t_kill_ms);
}

static int workload(struct demo *d)
{
	uint64_t t0 = cl_now_ms();

	for (int c = 0; c < d->chains; c++) {
		if (c == d->chains / 2) {
			/* The trace's engines stand at their half too, so
			 * the kill lands in the middle of both. */
			cl_trace_pause(d->trace);
			kill_leader(d);
			cl_trace_resume(d->trace);
		}
		d->put_ok[c] = put_chain(d, c);
		d->set_ok[c] = set_key(d, c);
		if (d->killed >= 0 && d->t_first_ok_ms == 0 && d->put_ok[c]) {
			d->t_first_ok_ms = cl_now_ms();
		}
		if (c % 4 == 3) {
			(void)lookup(
			    d, (int)(mix((uint64_t)c) % (uint64_t)(c + 1)));
		}
		if (c % 5 == 0 || c == d->chains - 1) {
			progress(d, c + 1, t0);
		}
	}
	printf("\n");
	return 0;
}

/* Every acknowledged write must be readable now. */
static void verify(struct demo *d, int *acked, int *lost)
{
	*acked = *lost = 0;
	for (int c = 0; c < d->chains; c++) {
		if (d->put_ok[c]) {
			(*acked)++;
			if (lookup(d, c) != d->len) {
				(*lost)++;
			}
		}
		if (d->set_ok[c]) {
			char k[32];
			char v[32];
			const char *argv[] = {"GET", k};
			struct fabraft_reply r;

			(*acked)++;
			snprintf(k, sizeof(k), "demo:%d", c);
			snprintf(v, sizeof(v), "value-%d", c);
			if (op(d, 2, argv, &r) != 0 || r.type != '$' ||
			    r.len == SIZE_MAX || strcmp(r.str, v) != 0) {
				(*lost)++;
			}
			fabraft_reply_free(&r);
		}
	}
}

/* Restart the killed node and wait until every node has applied the same
 * index; then compare state digests. */
static bool catch_up(struct demo *d)
{
	char digest[CL_NODES_MAX][40];
	char applied[CL_NODES_MAX][24];
	uint64_t t0 = cl_now_ms();

	if (d->killed >= 0) {
		printf("  restarting node %d ... ", d->c.id[d->killed]);
		fflush(stdout);
		if (cl_start_node(&d->c, d->killed) != 0) {
			return false;
		}
		d->killed = -1;
	}
	while (cl_now_ms() - t0 < 15000) {
		bool same = true;

		for (int i = 0; i < d->c.n; i++) {
			char *info = cl_info(d->c.client[i], 500);

			digest[i][0] = applied[i][0] = '\0';
			if (info != NULL) {
				fabraft_info_field(info, "kvc_digest",
						   digest[i],
						   sizeof(digest[i]));
				fabraft_info_field(info, "last_applied",
						   applied[i],
						   sizeof(applied[i]));
				fr_free(info);
			}
			same = same && digest[i][0] != '\0' &&
			       strcmp(digest[i], digest[0]) == 0 &&
			       strcmp(applied[i], applied[0]) == 0;
		}
		if (same) {
			printf("caught up: every node applied index %s, state "
			       "digest %s on all\n",
			       applied[0], digest[0]);
			return true;
		}
		sleep_ms(100);
	}
	printf("not caught up after 15 s\n");
	return false;
}

static void summary(struct demo *d, int acked, int lost, bool same,
		    uint64_t secs_ms)
{
	printf("\n  %-38s %s\n", "result", "value");
	printf("  %-38s %d x %d blocks (%d MiB each)\n", "block chains put",
	       d->chains, d->len, BLOCK_BYTES >> 20);
	printf("  %-38s %" PRIu64 " in %.1f s\n", "workload commands answered",
	       d->ops, (double)secs_ms / 1000.0);
	printf("  %-38s %" PRIu64 " (%" PRIu64 " blocks found)\n",
	       "prefix lookups (workload + verify)", d->lookups,
	       d->lookup_blocks);
	printf("  %-38s node %d -> node %d (term %s)\n", "leader killed",
	       d->old_leader, d->new_leader, d->new_term);
	printf("  %-38s %" PRIu64 " ms\n", "new leader after",
	       d->t_elect_ms - d->t_kill_ms);
	printf("  %-38s %" PRIu64 " ms\n", "first acknowledged write after",
	       d->t_first_ok_ms ? d->t_first_ok_ms - d->t_kill_ms : 0);
	printf("  %-38s %" PRIu64 " / %" PRIu64 "\n",
	       "unacknowledged / retried commands", d->errors, d->retries);
	printf("  %-38s %d\n", "acknowledged writes checked", acked);
	printf("  %-38s %d %s\n", "acknowledged writes lost", lost,
	       lost == 0 ? "(none)" : "<<< BUG");
	printf("  %-38s %s\n", "replicas identical after restart",
	       same ? "yes" : "NO");
	cl_trace_print(d->trace);
}

int fabraft_demo_main(int argc, char **argv)
{
	struct cl_start_opts o = {.nodes = 3,
				  .provider = "tcp",
				  .client_base = 16379,
				  .raft_base = 17101,
				  .fsync = true};
	struct demo d = {.killed = -1,
			 .chains = 2000,
			 .len = 8,
			 .trace_requests = 1000,
			 .engines = 4};
	char tmpl[] = "/tmp/fabraft-demo.XXXXXX";
	uint64_t t0;
	int acked;
	int lost;
	bool same;

	for (int i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dir") == 0) {
			o.dir = argv[i + 1];
		} else if (strcmp(argv[i], "--provider") == 0) {
			o.provider = argv[i + 1];
		} else if (strcmp(argv[i], "--chains") == 0) {
			d.chains = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--client-port") == 0) {
			o.client_base = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--raft-port") == 0) {
			o.raft_base = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--trace") == 0) {
			d.trace_path = argv[i + 1];
		} else if (strcmp(argv[i], "--trace-requests") == 0) {
			d.trace_requests = atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--engines") == 0) {
			d.engines = atoi(argv[i + 1]);
		} else {
			fprintf(stderr, "fabraft demo: unknown option %s\n",
				argv[i]);
			return 2;
		}
	}
	if (argc % 2 != 0 || d.chains < 2 || d.chains > 1000000 ||
	    d.trace_requests < 0 || d.trace_requests > 1000000 ||
	    d.engines < 1 || d.engines > TR_ENGINES_MAX) {
		fprintf(stderr, "fabraft demo [--dir DIR] [--provider P] "
				"[--chains 2..1000000] [--client-port B] "
				"[--raft-port R] [--trace FILE] "
				"[--trace-requests 0..1000000] "
				"[--engines 1..64]\n");
		return 2;
	}
	if (o.dir == NULL && (o.dir = mkdtemp(tmpl)) == NULL) {
		fprintf(stderr, "fabraft demo: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	d.put_ok = calloc((size_t)d.chains, sizeof(bool));
	d.set_ok = calloc((size_t)d.chains, sizeof(bool));
	if (d.put_ok == NULL || d.set_ok == NULL) {
		return 1;
	}
	printf("fabraft demo: 3-node Raft cluster over libfabric, KV-cache "
	       "placement metadata\n\n");
	if (cl_start(&o, &d.c) != 0) {
		return 1;
	}
	d.fc = cl_client(d.c.client, d.c.n, true, 10000);
	if (d.fc == NULL) {
		cl_stop(&d.c);
		return 1;
	}
	printf("\n  registering 4 storage nodes (hbm 80 GiB, dram 1 TiB "
	       "each) ...\n");
	if (register_nodes(&d) != 0) {
		fprintf(stderr, "fabraft demo: cannot register nodes\n");
		cl_stop(&d.c);
		return 1;
	}
	if (d.trace_requests > 0) {
		d.trace =
		    cl_trace_start(&d.c, cl_leader(&d.c, 3000, -1),
				   d.trace_path, d.trace_requests, d.engines);
	}
	printf("  putting %d block chains (KVC.PUT), prefix lookups "
	       "(KVC.LOOKUP), SETs;\n  the leader is SIGKILLed halfway:\n",
	       d.chains);
	t0 = cl_now_ms();
	workload(&d);
	uint64_t secs = cl_now_ms() - t0;
	uint64_t ops = d.ops;

	if (d.trace != NULL) {
		printf("  waiting for the trace replay ...\n");
		cl_trace_finish(d.trace);
	}

	printf("  verifying every acknowledged write ...\n");
	verify(&d, &acked, &lost);
	same = catch_up(&d);
	d.ops = ops;
	summary(&d, acked, lost, same, secs);
	fabraft_close(d.fc);
	printf("\n");
	cl_stop(&d.c);
	printf("cluster stopped; logs and data in %s\n", d.c.dir);
	cl_trace_free(d.trace);
	free(d.put_ok);
	free(d.set_ok);
	return lost == 0 && same && d.new_leader != 0 ? 0 : 1;
}
