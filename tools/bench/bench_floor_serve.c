/* bench_floor_serve.c — `fabraft-bench floor --serve`: the floor for many
 * clients, as a RESP server that redis-benchmark can drive. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "bench_floor_int.h"
#include "resp.h"

/*
 * Design notes
 * ============
 * What can a 3-node replicated store with fabraft's durability rules serve
 * here at 50 or 256 clients, whatever its consensus code?  Node 0 runs
 * fabraft's own RESP front (core/resp: the same parsing, buffers and reply
 * writes as the daemon) in one thread, the way redis-server runs its event
 * loop: take every request that is ready, then make the batch durable and
 * answer it.  "Durable" is the floor's: node 0 forwards the batch to the
 * other node threads (one framed write each, loopback TCP), writes it to its
 * own file with the log's I/O pattern (bench_floor_disk.c), and replies once
 * a majority holds it; each other node writes it and acks one byte.
 * Requests that arrive meanwhile wait in their sockets and form the next
 * batch, as in redis's appendfsync always.
 *
 * No terms, indexes, log records, state machine, timers or libfabric: the
 * bytes written per SET are its key and value with two lengths (a fabraft
 * log record adds ~85 B).  Only SET key value is served (reads need no disk
 * and have no floor here); other commands are refused.  Not a store:
 * nothing is read back.
 */

struct fs_state {
	struct fl_run *r;
	uint8_t *batch; /* 4-byte length, then the records */
	size_t len;	/* record bytes in the batch */
	struct resp_req *reqs;
	uint32_t n_reqs;
	uint32_t cap_reqs;
	uint64_t seq;
	uint64_t acked[FL_MAX_NODES];
	uint64_t sets;
	uint64_t batches;
	uint64_t refused;
	int err; /* what stopped the nodes (an errno), or 0 */
	const char *err_what;
};

static const char fs_ok[] = "+OK\r\n";
static const char fs_only_set[] =
    "-ERR fabraft-bench floor serves SET key value only\r\n";
static const char fs_failed[] = "-ERR fabraft-bench floor: a node failed\r\n";

/* Forward the batch, write it, wait for a majority, answer it.  A node's
 * failure answers the batch with an error and stops the server. */
static void fs_commit(struct fs_state *st)
{
	struct fl_run *r = st->r;
	uint32_t len32 = (uint32_t)st->len;
	int e = 0;

	if (st->n_reqs == 0 || st->err != 0) {
		return;
	}
	st->seq++;
	memcpy(st->batch, &len32, sizeof(len32));
	st->err_what = "forward"; /* each step names itself before it runs */
	for (uint32_t i = 1; i < r->o.nodes && e == 0; i++) {
		e = fl_write_all(r->node[i].to, st->batch, 4 + st->len);
	}
	if (e == 0) {
		st->err_what = "durable write";
		e = fl_disk_append_batch(&r->node[0].disk, st->batch + 4,
					 st->len, &r->o);
	}
	if (e == 0) {
		st->err_what = "ack";
		e = fl_wait_majority(r, st->acked, st->seq);
	}
	st->err = e;
	for (uint32_t i = 0; i < st->n_reqs; i++) {
		(void)resp_req_complete(
		    &st->reqs[i], e == 0 ? fs_ok : fs_failed,
		    e == 0 ? sizeof(fs_ok) - 1 : sizeof(fs_failed) - 1);
	}
	st->sets += e == 0 ? st->n_reqs : 0;
	st->batches += e == 0;
	st->len = 0;
	st->n_reqs = 0;
}

static void put_u32(uint8_t *p, size_t v)
{
	uint32_t x = (uint32_t)v;
	memcpy(p, &x, sizeof(x));
}

static int fs_command(void *ctx, const struct resp_req *req, uint32_t argc,
		      const struct resp_arg *argv)
{
	struct fs_state *st = ctx;

	if (argc != 3 || argv[0].len != 3 ||
	    strncasecmp(argv[0].ptr, "SET", 3) != 0) {
		st->refused++;
		(void)resp_req_complete(req, fs_only_set,
					sizeof(fs_only_set) - 1);
		return 0;
	}
	size_t rec = 8 + argv[1].len + argv[2].len;
	if (rec > FL_BATCH_MAX) {
		return FR_INVALID; /* "-ERR invalid argument" */
	}
	if (st->len + rec > FL_BATCH_MAX) {
		fs_commit(st); /* full: this one starts the next batch */
	}
	if (st->err != 0) {
		(void)resp_req_complete(req, fs_failed, sizeof(fs_failed) - 1);
		return 0;
	}
	if (st->n_reqs == st->cap_reqs) {
		uint32_t cap = st->cap_reqs * 2;
		struct resp_req *q = realloc(st->reqs, cap * sizeof(*q));
		if (q == NULL) {
			return FR_NOMEM;
		}
		st->reqs = q;
		st->cap_reqs = cap;
	}
	uint8_t *p = st->batch + 4 + st->len;
	put_u32(p, argv[1].len);
	put_u32(p + 4, argv[2].len);
	memcpy(p + 8, argv[1].ptr, argv[1].len);
	memcpy(p + 8 + argv[1].len, argv[2].ptr, argv[2].len);
	st->len += rec;
	st->reqs[st->n_reqs++] = *req;
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Serve until SIGINT/SIGTERM (read from @sfd) or the deadline (0: none). */
static int fs_loop(struct fs_state *st, struct resp_server *srv, int sfd,
		   uint64_t deadline_ms)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int rv = 0;

	if (ep < 0) {
		return errno;
	}
	ev.data.u32 = 0;
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, resp_server_fd(srv), &ev);
	ev.data.u32 = 1;
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	for (;;) {
		struct epoll_event got[2];
		int k = epoll_wait(ep, got, 2, 100);
		bool stop = deadline_ms != 0 && mono_ms() >= deadline_ms;

		for (int i = 0; i < k; i++) {
			struct signalfd_siginfo si;
			if (got[i].data.u32 == 1) {
				/* Taken, so it is not delivered when the
				 * mask is restored. */
				stop = read(sfd, &si, sizeof(si)) > 0 || stop;
			}
		}
		if (stop || st->err != 0) {
			break;
		}
		if (resp_server_handle(srv) != 0) {
			rv = EIO;
			break;
		}
		fs_commit(st);
		resp_server_flush(srv);
		resp_server_cron(srv);
	}
	close(ep);
	return rv;
}

static void fs_report(const struct fs_state *st, uint16_t port, double secs)
{
	const struct fl_opts *o = &st->r->o;

	if (o->json) {
		printf("{\"serve\": true, \"nodes\": %u, \"majority\": %u, "
		       "\"procs\": %s, \"port\": %u, \"sets\": %llu, "
		       "\"batches\": %llu, \"refused\": %llu, "
		       "\"seconds\": %.1f}\n",
		       o->nodes, o->nodes / 2 + 1, o->procs ? "true" : "false",
		       port, (unsigned long long)st->sets,
		       (unsigned long long)st->batches,
		       (unsigned long long)st->refused, secs);
		return;
	}
	printf("floor: served %llu SETs in %llu batches (%.1f per batch), "
	       "refused %llu other commands, in %.1f s\n",
	       (unsigned long long)st->sets, (unsigned long long)st->batches,
	       st->batches > 0 ? (double)st->sets / (double)st->batches : 0.0,
	       (unsigned long long)st->refused, secs);
}

/* The RESP server on --port, its loop, its summary.  0 or 1. */
static int fs_run(struct fs_state *st, int sfd)
{
	const struct fl_opts *o = &st->r->o;
	struct resp_backend be = {.size = sizeof(be), .command = fs_command};
	struct resp_config cfg;
	struct resp_server *srv = NULL;
	char listen[32], errmsg[FR_ERRMSG_SIZE] = "";
	uint64_t t0 = mono_ms();

	resp_config_default(&cfg);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", o->port);
	cfg.listen = listen;
	cfg.version = "fabraft-bench floor";
	if (resp_server_open(&srv, &cfg, &be, st, errmsg) != 0) {
		fprintf(stderr, "fabraft-bench floor: %s: %s\n", listen,
			errmsg[0] != '\0' ? errmsg : "cannot listen");
		return 1;
	}
	uint16_t port = resp_server_port(srv);
	if (!o->json) {
		printf("floor: serving RESP on 127.0.0.1:%u; SET key value is "
		       "durable on %u of %u node %s (no consensus); "
		       "SIGINT or SIGTERM stops it\n",
		       port, o->nodes / 2 + 1, o->nodes,
		       o->procs ? "processes" : "threads");
		(void)fflush(stdout);
	}
	int e = fs_loop(st, srv, sfd,
			o->seconds != 0 ? t0 + o->seconds * 1000ull : 0);
	resp_server_close(srv);
	if (e != 0 || st->err != 0) {
		fprintf(stderr, "fabraft-bench floor: %s: %s\n",
			e != 0 ? "event loop" : st->err_what,
			strerror(e != 0 ? e : st->err));
		return 1;
	}
	fs_report(st, port, (double)(mono_ms() - t0) / 1e3);
	return 0;
}

int fl_serve(struct fl_run *r)
{
	struct fs_state st = {.r = r, .cap_reqs = 256};
	sigset_t stop, old;
	uint16_t unused = 0;
	int sfd = -1, rv = 1;

	/* Blocked before the node threads exist, so the signals reach
	 * only the signalfd. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	st.batch = malloc(4 + (size_t)FL_BATCH_MAX);
	st.reqs = malloc(st.cap_reqs * sizeof(*st.reqs));
	sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (st.batch == NULL || st.reqs == NULL || sfd < 0) {
		fprintf(stderr, "fabraft-bench floor: %s\n",
			sfd < 0 ? strerror(errno) : "out of memory");
	} else if (fl_start(r, &unused) == 0) {
		rv = fs_run(&st, sfd);
	}
	rv |= fl_stop(r, -1);
	if (sfd >= 0) {
		close(sfd);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(st.reqs);
	free(st.batch);
	return rv;
}
