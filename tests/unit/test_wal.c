/* test_wal.c — the durable log: append, reopen, segments, truncation,
 * compaction, group commit, identity, snapshots, bad input. */
/* cmocka.h needs these three first. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "heap.h"
#include "test_wal_util.h"

#define SEED   7u
#define MAXLEN 3000u

struct fx {
	char dir[64];
	struct wal_options o;
	struct wal *w;
	struct wal_recovered rec;
	char err[FR_ERRMSG_SIZE];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	tw_mkdtemp(f->dir, sizeof(f->dir), "wal-unit");
	tw_options(&f->o, f->dir);
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

static void reopen(struct fx *f)
{
	wal_close(f->w);
	f->w = NULL;
	int rv = wal_open(&f->w, &f->o, &f->rec, f->err);
	if (rv != 0) {
		fail_msg("wal_open: %s: %s", fr_strerror(rv), f->err);
	}
}

/* Append entries [from, to] with term @term, generated payloads. */
static void append_range(struct fx *f, uint64_t from, uint64_t to,
			 uint64_t term)
{
	static uint8_t buf[MAXLEN];
	for (uint64_t i = from; i <= to; i++) {
		struct raft_entry e = {
		    .term = term,
		    .index = i,
		    .type = RAFT_ENTRY_NORMAL,
		    .len = tw_len(SEED, i, MAXLEN),
		    .buf = buf,
		};
		tw_fill(SEED, i, buf, e.len);
		assert_int_equal(wal_append(f->w, &e, 1), 0);
	}
}

static void check_log(struct fx *f, uint64_t first, uint64_t last)
{
	assert_int_equal(f->rec.n_entries, last - first + 1);
	for (uint32_t i = 0; i < f->rec.n_entries; i++) {
		assert_int_equal(f->rec.entries[i].index, first + i);
		assert_true(tw_check(SEED, &f->rec.entries[i], MAXLEN));
	}
}

static void test_empty_open(void **state)
{
	struct fx *f = *state;
	reopen(f);
	assert_int_equal(f->rec.n_entries, 0);
	assert_int_equal(f->rec.term, 0);
	raft_index i;
	raft_term t;
	assert_int_equal(wal_durable(f->w, &i, &t), 0);
	assert_int_equal(i, 0);
	reopen(f);
	assert_int_equal(f->rec.n_entries, 0);
}

static void test_append_reopen_rolls(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 300, 1); /* ~450 KB over 64 KiB segments */
	raft_index i;
	raft_term t;
	assert_int_equal(wal_durable(f->w, &i, &t), 0);
	assert_int_equal(i, 300);
	assert_int_equal(t, 1);
	reopen(f);
	check_log(f, 1, 300);
	append_range(f, 301, 320, 2);
	reopen(f);
	check_log(f, 1, 320);
	assert_int_equal(f->rec.entries[319].term, 2);
	assert_false(f->rec.torn_tail);
}

static void test_buffered_mode(void **state)
{
	struct fx *f = *state;
	f->o.direct_io = WAL_DIRECT_OFF;
	reopen(f);
	assert_false(f->rec.direct_io);
	append_range(f, 1, 100, 1);
	f->o.direct_io = WAL_DIRECT_AUTO; /* the format does not depend on it */
	reopen(f);
	check_log(f, 1, 100);
	append_range(f, 101, 150, 1);
	f->o.direct_io = WAL_DIRECT_OFF;
	reopen(f);
	check_log(f, 1, 150);
}

static void test_oversized_entry(void **state)
{
	struct fx *f = *state;
	reopen(f);
	size_t big = 200 * 1024; /* > segment and > batch_max_bytes */
	uint8_t *buf = malloc(big);
	memset(buf, 0x5a, big);
	struct raft_entry e[3] = {
	    {.term = 1, .index = 1, .type = 1, .len = 10, .buf = buf},
	    {.term = 1,
	     .index = 2,
	     .type = 1,
	     .len = (uint32_t)big,
	     .buf = buf},
	    {.term = 1, .index = 3, .type = 1, .len = 10, .buf = buf},
	};
	assert_int_equal(wal_append(f->w, e, 3), 0);
	reopen(f);
	assert_int_equal(f->rec.n_entries, 3);
	assert_int_equal(f->rec.entries[1].len, big);
	assert_memory_equal(f->rec.entries[1].buf, buf, big);
	free(buf);
}

static void test_hardstate(void **state)
{
	struct fx *f = *state;
	reopen(f);
	assert_int_equal(wal_hardstate_save(f->w, 5, 2), 0);
	assert_int_equal(wal_hardstate_save(f->w, 4, 1), FR_INVALID);
	assert_int_equal(wal_hardstate_save(f->w, 5, 300), FR_INVALID);
	reopen(f);
	assert_int_equal(f->rec.term, 5);
	assert_int_equal(f->rec.vote, 2);
	assert_int_equal(wal_hardstate_save(f->w, 6, 0), 0);
	reopen(f);
	assert_int_equal(f->rec.term, 6);
	assert_int_equal(f->rec.vote, 0);
}

static void test_identity_mismatch(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 3, 1);
	wal_close(f->w);
	f->w = NULL;
	struct wal_options o = f->o;
	o.cluster_id = 0x1234;
	int rv = wal_open(&f->w, &o, &f->rec, f->err);
	assert_int_equal(rv, FR_MISMATCH);
	assert_non_null(strstr(f->err, "belongs to cluster"));
	o = f->o;
	o.node_id = 4;
	assert_int_equal(wal_open(&f->w, &o, &f->rec, f->err), FR_MISMATCH);
	assert_non_null(strstr(f->err, "node 3"));
	reopen(f);
	check_log(f, 1, 3);
}

/* A segment written by another node, copied into this dir, is refused. */
static void test_foreign_segment(void **state)
{
	struct fx *f = *state;
	char other[64], cmd[300];
	struct wal *w2;
	struct wal_recovered r2;
	struct wal_options o;
	tw_mkdtemp(other, sizeof(other), "wal-other");
	tw_options(&o, other);
	o.node_id = 9;
	assert_int_equal(wal_open(&w2, &o, &r2, f->err), 0);
	uint8_t b[10] = {0};
	struct raft_entry e = {
	    .term = 1, .index = 1, .type = 1, .len = 10, .buf = b};
	assert_int_equal(wal_append(w2, &e, 1), 0);
	wal_close(w2);
	reopen(f);
	wal_close(f->w);
	f->w = NULL;
	snprintf(cmd, sizeof(cmd), "cp %s/wal-0000000000000001.seg %s/", other,
		 f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(wal_open(&f->w, &f->o, &f->rec, f->err), FR_MISMATCH);
	assert_non_null(strstr(f->err, "wal-0000000000000001.seg"));
	assert_non_null(strstr(f->err, "node 9"));
	tw_rmrf(other);
}

/* A log whose last segment ends with a ROLL marker (as after a crash right
 * after the roll batch, before the next segment was created; made here by
 * removing the newest segment): it opens, and appends go on in a new
 * segment. */
static void test_lost_last_segment(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 200, 1);
	wal_close(f->w);
	f->w = NULL;
	char p[128];
	uint64_t last = 0;
	for (uint64_t n = 1; n < 100; n++) {
		snprintf(p, sizeof(p), "%s/wal-%016llx.seg", f->dir,
			 (unsigned long long)n);
		if (access(p, F_OK) == 0) {
			last = n;
		}
	}
	assert_true(last >= 2);
	snprintf(p, sizeof(p), "%s/wal-%016llx.seg", f->dir,
		 (unsigned long long)last);
	assert_int_equal(unlink(p), 0);
	reopen(f);
	assert_true(f->rec.n_entries > 0 && f->rec.n_entries < 200);
	uint64_t n = f->rec.n_entries;
	check_log(f, 1, n);
	append_range(f, n + 1, n + 30, 2);
	reopen(f);
	check_log(f, 1, n + 30);
}

static void test_busy(void **state)
{
	struct fx *f = *state;
	reopen(f);
	struct wal *w2;
	struct wal_recovered r2;
	assert_int_equal(wal_open(&w2, &f->o, &r2, f->err), FR_BUSY);
	assert_non_null(strstr(f->err, "in use"));
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 10, 2);
	uint8_t b[4] = {0};
	struct raft_entry e = {
	    .term = 2, .index = 12, .type = 1, .len = 4, .buf = b};
	assert_int_equal(wal_submit(f->w, &e, 1), FR_INVALID); /* gap */
	e.index = 11;
	e.term = 1;
	assert_int_equal(wal_submit(f->w, &e, 1), FR_INVALID); /* term down */
	e.term = 2;
	e.type = 9;
	assert_int_equal(wal_submit(f->w, &e, 1), FR_INVALID);
	e.type = 1;
	e.buf = NULL;
	assert_int_equal(wal_submit(f->w, &e, 1), FR_INVALID);
	e.buf = b;
	e.len = RAFT_MAX_ENTRY_BYTES + 1;
	assert_int_equal(wal_submit(f->w, &e, 1), FR_INVALID);
	assert_int_equal(wal_submit(f->w, &e, 0), FR_INVALID);
	struct wal_options o = f->o;
	struct wal *w2;
	o.node_id = 0;
	assert_int_equal(wal_open(&w2, &o, &f->rec, f->err), FR_INVALID);
	o = f->o;
	o.segment_bytes = 100;
	assert_int_equal(wal_open(&w2, &o, &f->rec, f->err), FR_INVALID);
	reopen(f);
	check_log(f, 1, 10);
}

static void test_truncate_suffix(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 200, 1);
	/* Overwrite from 150 (inside the last segments) with term 2. */
	append_range(f, 150, 160, 2);
	raft_index i;
	raft_term t;
	assert_int_equal(wal_durable(f->w, &i, &t), 0);
	assert_int_equal(i, 160);
	assert_int_equal(t, 2);
	reopen(f);
	check_log(f, 1, 160);
	assert_int_equal(f->rec.entries[148].term, 1);
	assert_int_equal(f->rec.entries[149].term, 2);
	/* Overwrite far back: across segment boundaries. */
	append_range(f, 20, 25, 3);
	reopen(f);
	check_log(f, 1, 25);
	assert_int_equal(f->rec.entries[24].term, 3);
	append_range(f, 26, 120, 3);
	reopen(f);
	check_log(f, 1, 120);
	/* Overwrite from the very first entry. */
	append_range(f, 1, 2, 4);
	reopen(f);
	check_log(f, 1, 2);
	assert_int_equal(f->rec.entries[0].term, 4);
}

/* Truncation while earlier submits are still queued, then a different
 * segment size on reopen. */
static void test_truncate_queued(void **state)
{
	struct fx *f = *state;
	static uint8_t buf[MAXLEN];
	reopen(f);
	for (uint64_t i = 1; i <= 100; i++) {
		struct raft_entry e = {.term = 1,
				       .index = i,
				       .type = 1,
				       .len = tw_len(SEED, i, MAXLEN),
				       .buf = buf};
		tw_fill(SEED, i, buf, e.len);
		assert_int_equal(wal_submit(f->w, &e, 1), 0);
	}
	struct raft_entry e = {.term = 2,
			       .index = 60,
			       .type = 1,
			       .len = tw_len(SEED, 60, MAXLEN),
			       .buf = buf};
	tw_fill(SEED, 60, buf, e.len);
	assert_int_equal(wal_append(f->w, &e, 1), 0);
	raft_index i;
	raft_term t;
	assert_int_equal(wal_durable(f->w, &i, &t), 0);
	assert_int_equal(i, 60);
	assert_int_equal(t, 2);
	f->o.segment_bytes = 1 << 20;
	reopen(f);
	check_log(f, 1, 60);
	assert_int_equal(f->rec.entries[59].term, 2);
	append_range(f, 61, 80, 2);
	reopen(f);
	check_log(f, 1, 80);
}

static void test_compact(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 300, 1);
	struct wal_snap_meta m = {.index = 200, .term = 1};
	m.config.n = 1;
	m.config.servers[0].id = 3;
	m.config.servers[0].role = RAFT_VOTER;
	struct wal_snap_writer *sw;
	assert_int_equal(wal_snap_writer_open(&sw, f->w, &m, f->err), 0);
	assert_int_equal(wal_snap_writer_write(sw, "state", 5, f->err), 0);
	assert_int_equal(wal_snap_writer_commit(sw, f->err), 0);
	assert_int_equal(wal_compact(f->w, 200), 0);
	reopen(f);
	assert_int_equal(f->rec.snapshot_index, 200);
	assert_true(f->rec.n_entries < 300);
	assert_true(f->rec.n_entries >= 100);
	uint64_t first = f->rec.entries[0].index;
	assert_true(first <= 201);
	check_log(f, first, 300);
	/* Without the snapshot the compacted log is refused. */
	wal_close(f->w);
	f->w = NULL;
	char p[128];
	snprintf(p, sizeof(p), "%s/snap-%016x.snap", f->dir, 200);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(wal_open(&f->w, &f->o, &f->rec, f->err), FR_CORRUPT);
	assert_non_null(strstr(f->err, "missing"));
}

static void test_compact_all(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 50, 1);
	struct wal_snap_meta m = {.index = 1000, .term = 5};
	m.config.n = 1;
	m.config.servers[0].id = 3;
	m.config.servers[0].role = RAFT_VOTER;
	struct wal_snap_writer *sw;
	assert_int_equal(wal_snap_writer_open(&sw, f->w, &m, f->err), 0);
	assert_int_equal(wal_snap_writer_commit(sw, f->err), 0);
	assert_int_equal(wal_compact(f->w, 1000), 0);
	append_range(f, 1001, 1010, 5);
	reopen(f);
	assert_int_equal(f->rec.snapshot_index, 1000);
	check_log(f, 1001, 1010);
}

struct appender {
	struct wal *w;
	uint32_t id;
	uint32_t n;
};

static void *appender_main(void *arg)
{
	struct appender *a = arg;
	for (uint32_t i = 0; i < a->n; i++) {
		uint32_t v[2] = {a->id, i};
		struct raft_entry e = {.term = 1,
				       .index = 0,
				       .type = 1,
				       .len = sizeof(v),
				       .buf = v};
		if (wal_append(a->w, &e, 1) != 0) {
			return (void *)1;
		}
	}
	return NULL;
}

static void group_commit(struct fx *f)
{
	enum { T = 8, N = 200 };
	reopen(f);
	pthread_t th[T];
	struct appender a[T];
	for (uint32_t i = 0; i < T; i++) {
		a[i] = (struct appender){.w = f->w, .id = i, .n = N};
		pthread_create(&th[i], NULL, appender_main, &a[i]);
	}
	for (uint32_t i = 0; i < T; i++) {
		void *r;
		pthread_join(th[i], &r);
		assert_null(r);
	}
	struct wal_stats st;
	wal_stats_get(f->w, &st);
	assert_int_equal(st.entries, T * N);
	assert_true(st.batches <= T * N);
	assert_true(st.batches >= T * N / f->o.batch_max_entries);
	print_message("group commit (wait %u us): %u entries in %llu "
		      "batches\n",
		      f->o.batch_wait_us, T * N,
		      (unsigned long long)st.batches);
	reopen(f);
	assert_int_equal(f->rec.n_entries, T * N);
	uint32_t next[T] = {0};
	for (uint32_t i = 0; i < T * N; i++) {
		uint32_t v[2];
		assert_int_equal(f->rec.entries[i].index, i + 1);
		memcpy(v, f->rec.entries[i].buf, sizeof(v));
		assert_true(v[0] < T);
		assert_int_equal(v[1], next[v[0]]); /* per-thread order */
		next[v[0]]++;
	}
}

static void test_group_commit(void **state)
{
	struct fx *f = *state;
	f->o.batch_max_entries = 4; /* the bound must hold */
	group_commit(f);
}

/* With a batch wait the writer thread writes every batch (no leaders). */
static void test_group_commit_wait(void **state)
{
	struct fx *f = *state;
	f->o.batch_wait_us = 300;
	f->o.batch_max_entries = 16;
	group_commit(f);
}

static void test_submit_eventfd(void **state)
{
	struct fx *f = *state;
	f->o.batch_wait_us = 500;
	reopen(f);
	uint8_t b[100] = {1};
	for (uint64_t i = 1; i <= 64; i++) {
		struct raft_entry e = {.term = 1,
				       .index = i,
				       .type = 1,
				       .len = sizeof(b),
				       .buf = b};
		assert_int_equal(wal_submit(f->w, &e, 1), 0);
	}
	raft_index idx = 0;
	raft_term t;
	for (int spins = 0; idx < 64 && spins < 1000; spins++) {
		struct pollfd p = {.fd = wal_event_fd(f->w), .events = POLLIN};
		assert_true(poll(&p, 1, 1000) >= 0);
		uint64_t cnt;
		if (read(p.fd, &cnt, sizeof(cnt)) < 0) {
			/* EAGAIN: someone else reset it */
		}
		assert_int_equal(wal_durable(f->w, &idx, &t), 0);
	}
	assert_int_equal(idx, 64);
}

static void test_snapshots(void **state)
{
	struct fx *f = *state;
	reopen(f);
	char data[10000];
	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (char)(i * 7);
	}
	for (uint64_t k = 1; k <= 3; k++) {
		struct wal_snap_meta m = {.index = 10 * k, .term = k};
		m.config.n = 2;
		m.config.servers[0] = (struct raft_server){1, RAFT_VOTER};
		m.config.servers[1] = (struct raft_server){3, RAFT_LEARNER};
		struct wal_snap_writer *sw;
		assert_int_equal(wal_snap_writer_open(&sw, f->w, &m, f->err),
				 0);
		for (size_t off = 0; off < sizeof(data); off += 1000) {
			assert_int_equal(
			    wal_snap_writer_write(sw, data + off, 1000, f->err),
			    0);
		}
		assert_int_equal(wal_snap_writer_commit(sw, f->err), 0);
	}
	char p[128];
	snprintf(p, sizeof(p), "%s/snap-%016x.snap", f->dir, 10);
	assert_int_equal(access(p, F_OK), -1); /* only two kept */
	struct wal_snap_meta m;
	struct wal_snap_reader *r;
	assert_int_equal(wal_snap_reader_open(&r, f->w, &m, f->err), 0);
	assert_int_equal(m.index, 30);
	assert_int_equal(m.config.n, 2);
	assert_int_equal(m.config.servers[1].role, RAFT_LEARNER);
	assert_int_equal(wal_snap_reader_size(r), sizeof(data));
	char got[sizeof(data)];
	size_t n, total = 0;
	do {
		assert_int_equal(
		    wal_snap_reader_read(r, got + total, 777, &n, f->err), 0);
		total += n;
	} while (n > 0);
	assert_int_equal(total, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	wal_snap_reader_close(r);
	/* An aborted snapshot leaves nothing. */
	struct wal_snap_meta m4 = {.index = 40, .term = 4};
	m4.config = m.config;
	struct wal_snap_writer *sw;
	assert_int_equal(wal_snap_writer_open(&sw, f->w, &m4, f->err), 0);
	wal_snap_writer_abort(sw);
	reopen(f);
	assert_int_equal(f->rec.snapshot_index, 30);
	assert_int_equal(f->rec.snapshot_term, 3);
	/* Bad metadata is refused. */
	struct wal_snap_meta bad = {.index = 0, .term = 1};
	assert_int_equal(wal_snap_writer_open(&sw, f->w, &bad, f->err),
			 FR_INVALID);
}

/* Incoming snapshots are bounded (issue 15, item 8): the size check, the
 * free-space check against this file system, and the writer's hard cap. */
static void test_snapshot_bounds(void **state)
{
	struct fx *f = *state;
	const uint64_t G = 1ull << 30;
	reopen(f);
	/* The arithmetic: the limit, the reserve, header and trailer, and no
	 * wrap-around near UINT64_MAX. */
	assert_int_equal(wal_snap_fits(100, 100, G, 0), 0);
	assert_int_equal(wal_snap_fits(101, 100, G, 0), FR_TOOBIG);
	assert_int_equal(wal_snap_fits(UINT64_MAX, 0, UINT64_MAX, 0),
			 FR_NOSPACE);
	assert_int_equal(wal_snap_fits(G, 0, G, 0), FR_NOSPACE); /* + frame */
	assert_int_equal(wal_snap_fits(G, 0, 2 * G, G), FR_NOSPACE);
	assert_int_equal(wal_snap_fits(G / 2, 0, 2 * G, G), 0);
	assert_int_equal(wal_snap_fits(1, 0, G, UINT64_MAX), FR_NOSPACE);
	assert_int_equal(wal_snap_fits(0, 0, 0, 0), FR_NOSPACE);
	/* This file system: a small one fits, 2^62 bytes do not (and say
	 * why), one over the limit is refused first. */
	f->err[0] = '\0';
	assert_int_equal(wal_snap_space_check(f->w, 4096, 0, 0, f->err), 0);
	assert_int_equal(
	    wal_snap_space_check(f->w, 1ull << 62, 0, 1 << 20, f->err),
	    FR_NOSPACE);
	assert_non_null(strstr(f->err, "bytes free"));
	assert_int_equal(wal_snap_space_check(f->w, 5000, 4096, 0, f->err),
			 FR_TOOBIG);
	assert_non_null(strstr(f->err, "limit of 4096"));
	/* The writer never goes past its limit: the refused write leaves
	 * nothing, the snapshot can still be aborted cleanly. */
	struct wal_snap_meta m = {.index = 5, .term = 1};
	m.config.n = 1;
	m.config.servers[0] = (struct raft_server){1, RAFT_VOTER};
	struct wal_snap_writer *sw;
	char data[3000] = {0};
	assert_int_equal(wal_snap_writer_open(&sw, f->w, &m, f->err), 0);
	wal_snap_writer_limit(sw, 5000);
	assert_int_equal(wal_snap_writer_write(sw, data, 3000, f->err), 0);
	assert_int_equal(wal_snap_writer_write(sw, data, 3000, f->err),
			 FR_TOOBIG);
	assert_int_equal(wal_snap_writer_write(sw, data, 2000, f->err), 0);
	assert_int_equal(wal_snap_writer_write(sw, data, 1, f->err), FR_TOOBIG);
	assert_int_equal(wal_snap_writer_commit(sw, f->err), 0);
	struct wal_snap_reader *r;
	struct wal_snap_meta got;
	assert_int_equal(wal_snap_reader_open(&r, f->w, &got, f->err), 0);
	assert_int_equal(wal_snap_reader_size(r), 5000);
	wal_snap_reader_close(r);
}

static void test_oom(void **state)
{
	struct fx *f = *state;
	reopen(f);
	append_range(f, 1, 100, 1);
	wal_close(f->w);
	f->w = NULL;
	int ok = 0;
	for (int delay = 0; delay < 200 && !ok; delay++) {
		fr_heap_fault_config(delay, 1);
		int rv = wal_open(&f->w, &f->o, &f->rec, f->err);
		fr_heap_fault_config(-1, 0);
		if (rv == 0) {
			check_log(f, 1, 100);
			ok = 1;
		} else {
			assert_int_equal(rv, FR_NOMEM);
		}
		wal_close(f->w);
		f->w = NULL;
	}
	assert_true(ok);
	reopen(f);
	check_log(f, 1, 100);
}

/* Allocation failures inside a submit (index growth, buffer growth): the
 * submit fails cleanly, a retry of the same entries succeeds, and the log
 * holds exactly what the successful calls wrote. */
static void test_oom_submit(void **state)
{
	struct fx *f = *state;
	enum { N = 300 };
	static uint8_t bufs[N][MAXLEN];
	struct raft_entry e[N];
	reopen(f);
	for (uint32_t i = 0; i < N; i++) {
		e[i] = (struct raft_entry){.term = 1,
					   .index = i + 1,
					   .type = 1,
					   .len = tw_len(SEED, i + 1, MAXLEN),
					   .buf = bufs[i]};
		tw_fill(SEED, i + 1, bufs[i], e[i].len);
	}
	e[N - 1].len = 300 * 1024; /* forces a buffer to grow */
	static uint8_t big[300 * 1024];
	e[N - 1].buf = big;
	int failures = 0;
	for (int delay = 0; delay < 12; delay++) {
		fr_heap_fault_config(delay, 1);
		int rv = wal_append(f->w, e, N);
		fr_heap_fault_config(-1, 0);
		if (rv != 0) {
			assert_int_equal(rv, FR_NOMEM);
			failures++;
		}
		assert_int_equal(wal_append(f->w, e, N), 0);
	}
	assert_true(failures > 0);
	e[N - 1].len = tw_len(SEED, N, MAXLEN);
	e[N - 1].buf = bufs[N - 1];
	assert_int_equal(wal_append(f->w, &e[N - 1], 1), 0);
	reopen(f);
	check_log(f, 1, N);
}

/* A submit that fails after it queued a fresh batch buffer leaves that
 * buffer empty; the close marker then goes in its own batch behind it.  The
 * writer skips the empty buffer, so the marker's batch numbers (encoded at
 * placement from the empty one) are wrong and must be restamped: recovery
 * sees a clean close and every entry. */
static void test_empty_batch_renumbered(void **state)
{
	struct fx *f = *state;
	f->o.segment_bytes = 16u << 20; /* one segment holds all */
	reopen(f);
	append_range(f, 1, 64, 1); /* fills the segment's first index block */
	static uint8_t buf[MAXLEN];
	struct raft_entry e = {.term = 1,
			       .index = 65,
			       .type = RAFT_ENTRY_NORMAL,
			       .len = tw_len(SEED, 65, MAXLEN),
			       .buf = buf};
	tw_fill(SEED, 65, buf, e.len);
	fr_heap_fault_config(0, 1); /* the index block growth fails */
	int rv = wal_append(f->w, &e, 1);
	fr_heap_fault_config(-1, 0);
	assert_int_equal(rv, FR_NOMEM);
	reopen(f);
	assert_false(f->rec.torn_tail);
	check_log(f, 1, 64);
	append_range(f, 65, 70, 1);
	reopen(f);
	assert_false(f->rec.torn_tail);
	check_log(f, 1, 70);
}

/* The writer's time counters: idle_ns grows while nothing is queued (also
 * during a wait still in progress), io_ns covers the pwrite and fdatasync of
 * each batch and is never more than the time that passed. */
static void test_time_counters(void **state)
{
	struct fx *f = *state;
	f->o.batch_wait_us =
	    1000; /* the writer thread writes, not the caller */
	reopen(f);
	struct wal_stats a, b, c;
	wal_stats_get(f->w, &a);
	struct timespec nap = {0, 30 * 1000 * 1000};
	nanosleep(&nap, NULL);
	wal_stats_get(f->w, &b);
	assert_true(b.idle_ns - a.idle_ns >= 25u * 1000 * 1000);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	append_range(f, 1, 20, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	wal_stats_get(f->w, &c);
	uint64_t spent = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
			 (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	assert_true(c.fsyncs > b.fsyncs);
	assert_true(c.io_ns > b.io_ns);
	assert_true(c.io_ns - b.io_ns <= spent);
	print_message("20 appends: %llu us in I/O calls of %llu us\n",
		      (unsigned long long)(c.io_ns - b.io_ns) / 1000,
		      (unsigned long long)spent / 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_empty_open),
	    T(test_append_reopen_rolls),
	    T(test_buffered_mode),
	    T(test_oversized_entry),
	    T(test_hardstate),
	    T(test_identity_mismatch),
	    T(test_busy),
	    T(test_foreign_segment),
	    T(test_lost_last_segment),
	    T(test_bad_input),
	    T(test_truncate_suffix),
	    T(test_truncate_queued),
	    T(test_compact),
	    T(test_compact_all),
	    T(test_group_commit),
	    T(test_group_commit_wait),
	    T(test_submit_eventfd),
	    T(test_snapshots),
	    T(test_snapshot_bounds),
	    T(test_oom),
	    T(test_oom_submit),
	    T(test_empty_batch_renumbered),
	    T(test_time_counters),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
