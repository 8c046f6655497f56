/* test_wal_durable.c — the wal as the daemon's event loop drives it.
 * wal_durable() is called right after the writer thread's event fd woke
 * the loop, every iteration: it must answer without the wal's lock (which
 * the writer may still hold), give a consistent (index, term) pair while
 * batches complete, and report the sticky error.  With caller_kicks the
 * writer starts only at wal_kick() (the loop sends its messages first),
 * or the caller writes the batch itself with wal_flush() (a follower). */
/* cmocka.h needs these three first. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "test_wal_util.h"
#include "wal_private.h"

struct fx {
	char dir[64];
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	char err[FR_ERRMSG_SIZE];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	tw_mkdtemp(f->dir, sizeof(f->dir), "wal-durable");
	tw_options(&f->o, f->dir);
	f->o.fsync = false; /* the test is about the lock, not the disk */
	fr_log_set(tw_log, NULL, FR_LOG_WARN);
	assert_int_equal(wal_open(&f->w, &f->o, &f->rec, f->err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	wal_close(f->w);
	tw_rmrf(f->dir);
	free(f);
	return 0;
}

/* Wait (up to ~10 s: the writer may wait long for a CPU) until entries
 * through @upto are durable; returns the durable index. */
static raft_index wait_durable(struct wal *w, raft_index upto, raft_term *t)
{
	raft_index idx = 0;
	for (int k = 0; k < 5000 && idx < upto; k++) {
		struct pollfd p = {.fd = wal_event_fd(w), .events = POLLIN};
		uint64_t v;
		if (poll(&p, 1, 2) == 1 &&
		    read(p.fd, &v, sizeof(v)) != sizeof(v)) {
			fail_msg("reading the event fd");
		}
		assert_int_equal(wal_durable(w, &idx, t), 0);
	}
	return idx;
}

/* Submit entries @first..@last (term @term) and wait until durable. */
static void append(struct wal *w, raft_index first, raft_index last,
		   raft_term term)
{
	uint8_t buf[64];
	for (raft_index i = first; i <= last; i++) {
		struct raft_entry e = {.index = i,
				       .term = term,
				       .type = RAFT_ENTRY_NORMAL,
				       .buf = buf,
				       .len = tw_len(1, i, sizeof(buf))};
		tw_fill(1, i, buf, e.len);
		assert_int_equal(wal_submit(w, &e, 1), 0);
	}
	raft_term t = 0;
	assert_int_equal(wait_durable(w, last, &t), last);
	assert_int_equal(t, term);
}

struct probe {
	struct wal *w;
	atomic_bool done;
	raft_index index;
	raft_term term;
	int rv;
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;
	p->rv = wal_durable(p->w, &p->index, &p->term);
	atomic_store(&p->done, true);
	return NULL;
}

/* Old behaviour: wal_durable() took w->mu, so a loop woken by the writer
 * (which signalled while holding mu) slept again on the lock. */
static void test_durable_without_lock(void **state)
{
	struct fx *f = *state;
	append(f->w, 1, 5, 2);

	struct probe p = {.w = f->w};
	atomic_init(&p.done, false);
	pthread_t th;
	pthread_mutex_lock(&f->w->mu);
	assert_int_equal(pthread_create(&th, NULL, probe_main, &p), 0);
	for (int k = 0; k < 2000 && !atomic_load(&p.done); k++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	bool answered = atomic_load(&p.done);
	pthread_mutex_unlock(&f->w->mu);
	pthread_join(th, NULL);
	assert_true(answered); /* within 2 s while the lock was held */
	assert_int_equal(p.rv, 0);
	assert_int_equal(p.index, 5);
	assert_int_equal(p.term, 2);
}

struct reader {
	struct wal *w;
	atomic_bool stop;
	uint64_t reads;
	uint64_t bad;
};

/* Entry i has term i / 7 + 1 here: a torn (index, term) read shows. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	while (!atomic_load(&r->stop)) {
		raft_index i;
		raft_term t;
		int rv = wal_durable(r->w, &i, &t);
		if (rv != 0 || (i != 0 && t != i / 7 + 1)) {
			r->bad++;
		}
		r->reads++;
	}
	return NULL;
}

static void test_pair_consistent(void **state)
{
	struct fx *f = *state;
	struct reader r = {.w = f->w};
	atomic_init(&r.stop, false);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
	for (raft_index i = 1; i <= 700; i++) {
		append(f->w, i, i, i / 7 + 1);
	}
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	assert_true(r.reads > 0);
	assert_int_equal(r.bad, 0);
}

static void test_sticky_error_published(void **state)
{
	struct fx *f = *state;
	append(f->w, 1, 3, 1);
	pthread_mutex_lock(&f->w->mu);
	wal__fail_locked(f->w, FR_IO, "injected by the test");
	pthread_mutex_unlock(&f->w->mu);
	raft_index i;
	raft_term t;
	assert_int_equal(wal_durable(f->w, &i, &t), FR_IO);
	assert_int_equal(i, 3); /* the last durable entry still */
	assert_int_equal(t, 1);
}

/* A writer thread not yet back asleep would find a batch by itself. */
static void writer_asleep(struct wal *w)
{
	struct timespec ms = {0, 1000000};
	bool asleep = false;
	for (int k = 0; k < 5000 && !asleep; k++) {
		pthread_mutex_lock(&w->mu);
		asleep = w->idle_since != 0 && w->q_count == 0 && !w->busy;
		pthread_mutex_unlock(&w->mu);
		nanosleep(&ms, NULL);
	}
	assert_true(asleep);
}

static void test_caller_kicks(void **state)
{
	struct fx *f = *state;
	wal_close(f->w);
	f->w = NULL;
	f->o.caller_kicks = true;
	assert_int_equal(wal_open(&f->w, &f->o, &f->rec, f->err), 0);
	writer_asleep(f->w);
	uint8_t buf[16] = {1};
	struct raft_entry e = {.index = 1,
			       .term = 1,
			       .type = RAFT_ENTRY_NORMAL,
			       .buf = buf,
			       .len = sizeof(buf)};
	assert_int_equal(wal_submit(f->w, &e, 1), 0);
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	raft_index i;
	raft_term t;
	assert_int_equal(wal_durable(f->w, &i, &t), 0);
	assert_int_equal(i, 0); /* queued, the writer not woken */
	wal_kick(f->w);
	assert_int_equal(wait_durable(f->w, 1, &t), 1);
	/* Later submits wait for the next kick too, then go as one batch. */
	writer_asleep(f->w);
	e.index = 2;
	assert_int_equal(wal_submit(f->w, &e, 1), 0);
	e.index = 3;
	assert_int_equal(wal_submit(f->w, &e, 1), 0);
	nanosleep(&ts, NULL);
	assert_int_equal(wal_durable(f->w, &i, &t), 0);
	assert_int_equal(i, 1);
	struct wal_stats st0;
	wal_stats_get(f->w, &st0);
	wal_kick(f->w);
	assert_int_equal(wait_durable(f->w, 3, &t), 3);
	struct wal_stats st1;
	wal_stats_get(f->w, &st1);
	assert_int_equal(st1.batches - st0.batches, 1);
	assert_int_equal(st1.batches_inline, 0); /* all by the writer */
}

/* A follower's loop writes its batch itself: durable when wal_flush()
 * returns, and no event fd ping-pong with the writer thread. */
static void test_flush_in_caller(void **state)
{
	struct fx *f = *state;
	wal_close(f->w);
	f->w = NULL;
	f->o.caller_kicks = true;
	f->o.fsync = true; /* the write and the sync both in the caller */
	assert_int_equal(wal_open(&f->w, &f->o, &f->rec, f->err), 0);
	writer_asleep(f->w);
	uint8_t buf[16] = {2};
	struct raft_entry e0 = {.index = 1,
				.term = 3,
				.type = RAFT_ENTRY_NORMAL,
				.buf = buf,
				.len = sizeof(buf)};
	/* The first batch also makes the segment (more syncs). */
	assert_int_equal(wal_submit(f->w, &e0, 1), 0);
	assert_int_equal(wal_flush(f->w), 0);
	struct raft_entry e[2] = {
	    {.index = 2,
	     .term = 3,
	     .type = RAFT_ENTRY_NORMAL,
	     .buf = buf,
	     .len = sizeof(buf)},
	    {.index = 3,
	     .term = 3,
	     .type = RAFT_ENTRY_NORMAL,
	     .buf = buf,
	     .len = sizeof(buf)},
	};
	assert_int_equal(wal_submit(f->w, &e[0], 1), 0);
	assert_int_equal(wal_submit(f->w, &e[1], 1), 0);
	struct wal_stats st0;
	wal_stats_get(f->w, &st0);
	assert_int_equal(wal_flush(f->w), 0);
	raft_index i;
	raft_term t;
	assert_int_equal(wal_durable(f->w, &i, &t), 0);
	assert_int_equal(i, 3); /* on return, not later */
	assert_int_equal(t, 3);
	struct wal_stats st1;
	wal_stats_get(f->w, &st1);
	assert_int_equal(st1.batches - st0.batches, 1);
	assert_int_equal(st1.batches_inline - st0.batches_inline, 1);
	assert_int_equal(st1.fsyncs - st0.fsyncs, 1);
	struct pollfd p = {.fd = wal_event_fd(f->w), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 0), 0);  /* nothing to wake anyone */
	assert_int_equal(wal_flush(f->w), 0); /* nothing queued: no-op */
	wal_stats_get(f->w, &st0);
	assert_int_equal(st0.batches, st1.batches);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_durable_without_lock, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pair_consistent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sticky_error_published, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_caller_kicks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_in_caller, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
