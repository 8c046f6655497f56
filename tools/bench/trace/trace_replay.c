/* trace_replay.c — the engines of a trace replay: one thread each,
 * requests dealt round robin, paced by the trace's arrival times or back
 * to back, with an optional pause point (the demo kills the leader there). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_trace.h"

uint64_t tr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int tr_record(uint32_t **v, uint64_t n, uint64_t ns)
{
	uint64_t us = ns / 1000;

	/* Grow at powers of two (n is the count before this one). */
	if ((n & (n - 1)) == 0) {
		uint64_t c = n ? n * 2 : 256;
		uint32_t *p =
		    n < 256 && *v != NULL ? *v : realloc(*v, c * sizeof(**v));

		if (p == NULL) {
			return -1;
		}
		*v = p;
	}
	(*v)[n] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a;
	uint32_t y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

double tr_quantile(uint32_t *v, uint64_t n, double q)
{
	uint64_t i;

	if (n == 0) {
		return 0;
	}
	qsort(v, n, sizeof(*v), cmp_u32);
	i = (uint64_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

void tr_stats_free(struct tr_stats *s)
{
	free(s->lookup_us);
	free(s->put_us);
	s->lookup_us = s->put_us = NULL;
}

/* Wait until request @i's arrival time (scaled by cfg.speed). */
static void pace(struct tr_engine *e, const struct tr_req *r)
{
	const struct tr_replay *rp = e->rp;
	uint64_t due;
	uint64_t now;

	if (rp->cfg.speed <= 0) {
		return;
	}
	due = rp->t0_ns + (uint64_t)((double)r->ts_ms * 1e6 / rp->cfg.speed);
	now = tr_now_ns();
	if (due > now) {
		struct timespec ts = {(time_t)((due - now) / 1000000000ull),
				      (long)((due - now) % 1000000000ull)};

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		}
	}
}

/* Stop at the pause point until released. */
static void gate(struct tr_engine *e, uint32_t i)
{
	struct tr_replay *rp = e->rp;

	if (rp->cfg.pause_at == 0 || i < rp->cfg.pause_at) {
		return;
	}
	pthread_mutex_lock(&rp->mu);
	if (!rp->released) {
		rp->paused++;
		pthread_cond_broadcast(&rp->cv);
		while (!rp->released) {
			pthread_cond_wait(&rp->cv, &rp->mu);
		}
	}
	pthread_mutex_unlock(&rp->mu);
}

/* One request: lookup, then the put of what is missing. */
static void one(struct tr_engine *e, const struct tr_req *r)
{
	const struct tr_ops *ops = e->rp->cfg.ops;
	struct tr_stats *s = &e->stats;
	uint32_t hits = 0;

	s->requests++;
	s->blocks += r->n;
	if (r->n == 0) {
		return;
	}
	if (ops->lookup(e, r, &hits) != 0) {
		s->errors++;
		return;
	}
	s->hit_blocks += hits;
	if (hits < r->n) {
		int rv = ops->put(e, r, hits);

		if (rv < 0) {
			s->errors++;
		} else if (rv == 0) {
			s->put_blocks += r->n - hits;
		}
	}
}

static void *engine_main(void *arg)
{
	struct tr_engine *e = arg;
	struct tr_replay *rp = e->rp;
	const struct tr_trace *t = rp->cfg.trace;
	bool gated = false;

	for (uint32_t i = (uint32_t)e->index; i < t->n;
	     i += (uint32_t)rp->cfg.engines) {
		if (rp->cfg.stop != NULL && *rp->cfg.stop) {
			break;
		}
		if (!gated && rp->cfg.pause_at != 0 && i >= rp->cfg.pause_at) {
			gate(e, i);
			gated = true;
		}
		pace(e, &t->req[i]);
		one(e, &t->req[i]);
		e->req_done++;
		__atomic_fetch_add(&rp->done, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_lock(&rp->mu);
	rp->finished++;
	rp->t_end_ns = tr_now_ns();
	pthread_cond_broadcast(&rp->cv);
	pthread_mutex_unlock(&rp->mu);
	return NULL;
}

/* Open and join every engine (sequentially: registration is setup, not
 * measured).  0 or -1 with @err. */
static int setup(struct tr_replay *rp, char *err, size_t cap)
{
	for (int i = 0; i < rp->cfg.engines; i++) {
		struct tr_engine *e = &rp->eng[i];

		e->rp = rp;
		e->index = i;
		e->node_id = rp->cfg.node_base + i;
		e->addr = rp->cfg.first_addr;
		if (rp->cfg.ops->open(e) != 0 || rp->cfg.ops->join(e) != 0) {
			snprintf(err, cap, "engine %d: %s", i, e->stats.error);
			return -1;
		}
	}
	return 0;
}

int tr_replay_start(struct tr_replay *rp, const struct tr_cfg *cfg, char *err,
		    size_t cap)
{
	memset(rp, 0, sizeof(*rp));
	rp->cfg = *cfg;
	if (rp->cfg.engines < 1 || rp->cfg.engines > TR_ENGINES_MAX ||
	    rp->cfg.n_addrs < 1 || rp->cfg.trace == NULL) {
		snprintf(err, cap, "bad replay configuration");
		return -1;
	}
	if (rp->cfg.retry_ms <= 0) {
		rp->cfg.retry_ms = 15000;
	}
	rp->eng = calloc((size_t)rp->cfg.engines, sizeof(*rp->eng));
	if (rp->eng == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	pthread_mutex_init(&rp->mu, NULL);
	pthread_cond_init(&rp->cv, NULL);
	if (setup(rp, err, cap) != 0) {
		tr_replay_join(rp, NULL, NULL);
		return -1;
	}
	rp->t0_ns = tr_now_ns();
	for (int i = 0; i < rp->cfg.engines; i++) {
		struct tr_engine *e = &rp->eng[i];

		if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
			snprintf(err, cap, "cannot start engine thread %d", i);
			tr_replay_release(rp);
			tr_replay_join(rp, NULL, NULL);
			return -1;
		}
		e->started = true;
	}
	return 0;
}

bool tr_replay_wait_paused(struct tr_replay *rp, int timeout_ms)
{
	uint64_t end = tr_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	bool all;

	pthread_mutex_lock(&rp->mu);
	while (!(all = rp->paused + rp->finished >= rp->cfg.engines) &&
	       tr_now_ns() < end) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&rp->cv, &rp->mu, &ts);
	}
	pthread_mutex_unlock(&rp->mu);
	return all;
}

void tr_replay_release(struct tr_replay *rp)
{
	pthread_mutex_lock(&rp->mu);
	rp->released = true;
	pthread_cond_broadcast(&rp->cv);
	pthread_mutex_unlock(&rp->mu);
}

/* Append @n values of @src to @dst (holding @have). */
static void merge_lat(uint32_t **dst, uint64_t have, const uint32_t *src,
		      uint64_t n)
{
	uint32_t *p;

	if (n == 0) {
		return;
	}
	p = realloc(*dst, (have + n) * sizeof(*p));
	if (p == NULL) {
		return; /* the percentiles then miss this engine */
	}
	memcpy(p + have, src, n * sizeof(*p));
	*dst = p;
}

static void merge(struct tr_stats *o, const struct tr_stats *s)
{
	merge_lat(&o->lookup_us, o->lookups, s->lookup_us, s->lookups);
	merge_lat(&o->put_us, o->puts, s->put_us, s->puts);
	o->requests += s->requests;
	o->blocks += s->blocks;
	o->hit_blocks += s->hit_blocks;
	o->put_blocks += s->put_blocks;
	o->lookups += s->lookups;
	o->puts += s->puts;
	o->round_trips += s->round_trips;
	o->victims += s->victims;
	o->no_space += s->no_space;
	o->already_stored += s->already_stored;
	o->errors += s->errors;
	o->retries += s->retries;
	if (o->error[0] == '\0' && s->error[0] != '\0') {
		snprintf(o->error, sizeof(o->error), "%s", s->error);
	}
}

void tr_replay_join(struct tr_replay *rp, struct tr_stats *out, double *seconds)
{
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
	}
	for (int i = 0; i < rp->cfg.engines; i++) {
		struct tr_engine *e = &rp->eng[i];

		if (e->started) {
			pthread_join(e->thread, NULL);
		}
		if (e->rp != NULL) {
			rp->cfg.ops->close(e); /* may add to its stats */
		}
		if (out != NULL) {
			merge(out, &e->stats);
		}
		tr_stats_free(&e->stats);
	}
	if (seconds != NULL) {
		*seconds = rp->t_end_ns > rp->t0_ns
			       ? (double)(rp->t_end_ns - rp->t0_ns) / 1e9
			       : 0;
	}
	pthread_mutex_destroy(&rp->mu);
	pthread_cond_destroy(&rp->cv);
	free(rp->eng);
	rp->eng = NULL;
}
