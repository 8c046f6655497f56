/* test_wal_spare.c — zero-filled spare segments: segments made from a
 * spare have no unwritten extents, a truncation uses the spare, and what a
 * crash leaves (a half zero-filled spare, a spare or tmp segment with a
 * header and a batch but not renamed) is removed at start with a log line,
 * never read as log. */
/* cmocka.h needs these three first. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "test_wal_util.h"
#include "wal_format.h"

#define SEED   77u
#define MAXLEN 900u

struct fx {
	char dir[64];
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	char err[FR_ERRMSG_SIZE];
};

/* Every log line of the current test (from any wal thread). */
static char logs[8192];
static pthread_mutex_t logs_mu = PTHREAD_MUTEX_INITIALIZER;

static void log_keep(void *ctx, int level, const char *tag, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)tag;
	pthread_mutex_lock(&logs_mu);
	size_t n = strlen(logs);
	snprintf(logs + n, sizeof(logs) - n, "%s\n", msg);
	pthread_mutex_unlock(&logs_mu);
	if (getenv("WAL_TEST_VERBOSE") != NULL) {
		fprintf(stderr, "[wal %d] %s\n", level, msg);
	}
}

static bool logged(const char *what)
{
	pthread_mutex_lock(&logs_mu);
	bool yes = strstr(logs, what) != NULL;
	pthread_mutex_unlock(&logs_mu);
	return yes;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	tw_mkdtemp(f->dir, sizeof(f->dir), "wal-spare");
	tw_options(&f->o, f->dir);
	f->o.segment_bytes = 64 * 1024;
	fr_log_set(log_keep, NULL, FR_LOG_DEBUG);
	logs[0] = '\0';
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
	if (wal_open(&f->w, &f->o, &f->rec, f->err) != 0) {
		fail_msg("wal_open: %s", f->err);
	}
}

/* Wait (up to 10 s) until the wal has a spare ready. */
static void spare_wait(struct fx *f)
{
	struct wal_stats st;
	for (int i = 0; i < 1000; i++) {
		wal_stats_get(f->w, &st);
		if (st.spare_ready) {
			return;
		}
		assert_int_equal(st.spare_failures, 0);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fail_msg("no spare segment after 10 s");
}

static void append_range(struct fx *f, uint64_t from, uint64_t to)
{
	static uint8_t buf[MAXLEN];
	for (uint64_t i = from; i <= to; i++) {
		struct raft_entry e = {.term = 1,
				       .index = i,
				       .type = RAFT_ENTRY_NORMAL,
				       .len = tw_len(SEED, i, MAXLEN),
				       .buf = buf};
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

static void path_of(const struct fx *f, const char *name, char *p, size_t n)
{
	snprintf(p, n, "%s/%s", f->dir, name);
}

static void seg_path(const struct fx *f, uint64_t no, char *p, size_t n)
{
	snprintf(p, n, "%s/wal-%016llx.seg", f->dir, (unsigned long long)no);
}

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* Unwritten (fallocated, never written) extents of @p: 0 if none, -1 if
 * the file system cannot tell (no FIEMAP). */
static int unwritten_extents(const char *p)
{
	enum { N = 256 };
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	struct fiemap *fm =
	    calloc(1, sizeof(*fm) + N * sizeof(struct fiemap_extent));
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = N;
	int n = -1;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) == 0) {
		n = 0;
		for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) {
			n += (fm->fm_extents[i].fe_flags &
			      FIEMAP_EXTENT_UNWRITTEN) != 0;
		}
	}
	free(fm);
	close(fd);
	return n;
}

/* Appends roll into spares: those segments have only written blocks, and
 * a clean close leaves no spare behind. */
static void test_rolls_use_spares(void **state)
{
	struct fx *f = *state;
	char p[128];
	reopen(f);
	spare_wait(f);
	append_range(f, 1, 40); /* segment 1: made from the first spare */
	spare_wait(f);
	append_range(f, 41, 400); /* several rolls, spares or not */
	struct wal_stats st;
	wal_stats_get(f->w, &st);
	print_message("segments from spares %llu, on the spot %llu, spares "
		      "made %llu, %llu bytes of zeros\n",
		      (unsigned long long)st.segs_prepared,
		      (unsigned long long)st.segs_unprepared,
		      (unsigned long long)st.spares,
		      (unsigned long long)st.zero_bytes);
	assert_true(st.segs_prepared >= 2);
	assert_true(st.spares >= st.segs_prepared);
	assert_true(st.zero_bytes >= st.spares * f->o.segment_bytes);
	assert_int_equal(st.spare_failures, 0);
	seg_path(f, 1, p, sizeof(p));
	int u = unwritten_extents(p);
	if (u < 0) {
		print_message("no FIEMAP here: extent check skipped\n");
	} else {
		assert_int_equal(u, 0);
	}
	/* The same without zero-filling: fallocated, hence unwritten. */
	struct wal_options o = f->o;
	o.zero_fill = false;
	char dir2[64];
	struct wal *w2;
	struct wal_recovered rec2;
	tw_mkdtemp(dir2, sizeof(dir2), "wal-spare-off");
	o.dir = dir2;
	assert_int_equal(wal_open(&w2, &o, &rec2, f->err), 0);
	struct raft_entry e = {.term = 1, .index = 1, .type = 1, .len = 0};
	assert_int_equal(wal_append(w2, &e, 1), 0);
	wal_stats_get(w2, &st);
	assert_int_equal(st.segs_prepared, 0);
	assert_int_equal(st.segs_unprepared, 1);
	wal_close(w2);
	snprintf(p, sizeof(p), "%s/wal-%016x.seg", dir2, 1);
	if (u >= 0) {
		assert_true(unwritten_extents(p) > 0); /* the test can fail */
	}
	tw_rmrf(dir2);
	reopen(f);
	check_log(f, 1, 400);
	path_of(f, "wal-spare.tmp", p, sizeof(p));
	wal_close(f->w);
	f->w = NULL;
	assert_false(exists(p));
}

/* Offset just past the last valid record of segment file @p. */
static uint64_t records_end(const char *p)
{
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t hdr[WAL_REC_HDR_BYTES];
	uint64_t off = WAL_SEG_HDR_BYTES;
	struct wal_rec_hdr rh;
	while (pread(fd, hdr, sizeof(hdr), (off_t)off) == sizeof(hdr) &&
	       wal__rec_hdr_plausible(&rh, hdr, sizeof(hdr))) {
		off += wal_rec_size(rh.len);
	}
	close(fd);
	return off;
}

/* A child that appends @from..@to (after waiting for a spare) and dies
 * without closing, as in a crash. */
static void crash_after(struct fx *f, uint64_t from, uint64_t to)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (wal_open(&f->w, &f->o, &f->rec, f->err) != 0) {
			_exit(1);
		}
		spare_wait(f);
		append_range(f, from, to);
		spare_wait(f); /* the next spare is left behind too */
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A writer killed with the log ending in a zero-filled segment: every
 * appended entry is recovered, the zeros read as the end of the log, the
 * spare it left is removed with a log line.  Then the same with junk after
 * the last record (a torn batch): dropped, and written over with zeros,
 * which leaves the blocks written. */
static void test_zeroed_tail(void **state)
{
	struct fx *f = *state;
	char p[128], spare[128];
	crash_after(f, 1, 30);
	path_of(f, "wal-spare.tmp", spare, sizeof(spare));
	assert_true(exists(spare));
	reopen(f);
	check_log(f, 1, 30);
	assert_false(f->rec.torn_tail);
	assert_true(logged("removing wal-spare.tmp"));
	wal_close(f->w); /* the new wal's spare goes with it */
	assert_false(exists(spare));
	f->w = NULL;

	crash_after(f, 31, 60);
	seg_path(f, 1, p, sizeof(p));
	uint64_t end = records_end(p);
	uint8_t junk[700];
	memset(junk, 0x5c, sizeof(junk));
	int fd = open(p, O_RDWR);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)end + 8), 700);
	close(fd);
	reopen(f);
	check_log(f, 1, 60);
	assert_true(f->rec.torn_tail);
	assert_int_equal(records_end(p), end);
	int u = unwritten_extents(p);
	if (u >= 0) {
		assert_int_equal(u, 0);
	}
	/* The repaired tail reads as zeros: appending goes on. */
	append_range(f, 61, 90);
	reopen(f);
	check_log(f, 1, 90);
}

/* Make segments 1..3 (closed), then turn the newest into what a crash
 * leaves when the writer had written a new segment's header and first
 * batch into @tmp_name but not renamed it yet. */
static void unpublished_last(struct fx *f, const char *tmp_name, uint64_t *kept)
{
	char p[128], q[128];
	reopen(f);
	uint64_t n = 0;
	struct wal_stats st;
	do {
		append_range(f, n + 1, n + 20);
		n += 20;
		wal_stats_get(f->w, &st);
	} while (st.segs_prepared + st.segs_unprepared < 3);
	reopen(f); /* a clean close; rec says where segment 3 starts */
	seg_path(f, 3, p, sizeof(p));
	assert_true(exists(p));
	seg_path(f, 4, q, sizeof(q));
	assert_false(exists(q));
	wal_close(f->w);
	f->w = NULL;
	/* Entries before segment 3: read its header's first index. */
	int fd = open(p, O_RDONLY);
	uint8_t h[WAL_SEG_HDR_BYTES];
	struct wal_seg_hdr sh;
	const char *why;
	assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	assert_int_equal(wal__seg_hdr_decode(&sh, h, &why), 0);
	*kept = sh.first_index - 1;
	path_of(f, tmp_name, q, sizeof(q));
	assert_int_equal(rename(p, q), 0);
}

/* Crash after the spare was taken (header and first batch written into
 * it, synced) but before the rename: the file is removed with a log line,
 * its entries (never acknowledged) are not recovered, and the log goes on
 * from the end of the previous segment. */
static void test_unrenamed_spare(void **state)
{
	struct fx *f = *state;
	char p[128];
	uint64_t kept;
	unpublished_last(f, "wal-spare.tmp", &kept);
	reopen(f);
	check_log(f, 1, kept);
	assert_true(logged("removing wal-spare.tmp"));
	append_range(f, kept + 1, kept + 50);
	reopen(f);
	check_log(f, 1, kept + 50);
	seg_path(f, 3, p, sizeof(p));
	assert_true(exists(p));
}

/* The same with a segment made on the spot (wal-<n>.tmp). */
static void test_unrenamed_tmp(void **state)
{
	struct fx *f = *state;
	uint64_t kept;
	unpublished_last(f, "wal-0000000000000003.tmp", &kept);
	reopen(f);
	check_log(f, 1, kept);
	assert_true(logged("removing wal-0000000000000003.tmp"));
	append_range(f, kept + 1, kept + 10);
	reopen(f);
	check_log(f, 1, kept + 10);
}

/* Crash while the spare was half zero-filled: it holds zeros, then junk
 * (even a copy of a valid segment header: it is never read). */
static void test_half_zeroed_spare(void **state)
{
	struct fx *f = *state;
	char p[128], q[128];
	reopen(f);
	append_range(f, 1, 30);
	wal_close(f->w);
	f->w = NULL;
	seg_path(f, 1, p, sizeof(p));
	path_of(f, "wal-spare.tmp", q, sizeof(q));
	int in = open(p, O_RDONLY), out = open(q, O_WRONLY | O_CREAT, 0644);
	static uint8_t buf[64 * 1024];
	assert_int_equal(pread(in, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	memset(buf + WAL_SEG_HDR_BYTES, 0, 16 * 1024); /* zeroed so far */
	assert_int_equal(pwrite(out, buf, 32 * 1024, 0), 32 * 1024);
	close(in);
	close(out);
	reopen(f);
	check_log(f, 1, 30);
	assert_true(logged("removing wal-spare.tmp"));
	/* A new spare is made, and rolls use it. */
	spare_wait(f);
	append_range(f, 31, 200);
	reopen(f);
	check_log(f, 1, 200);
}

/* A suffix truncation copies the kept prefix into the ready spare. */
static void test_truncate_into_spare(void **state)
{
	struct fx *f = *state;
	char p[128];
	reopen(f);
	append_range(f, 1, 30);
	spare_wait(f);
	struct wal_stats st0, st1;
	wal_stats_get(f->w, &st0);
	static uint8_t buf[MAXLEN];
	struct raft_entry e = {.term = 2,
			       .index = 21,
			       .type = RAFT_ENTRY_NORMAL,
			       .len = 5,
			       .buf = buf};
	memset(buf, 0x11, 5);
	assert_int_equal(wal_append(f->w, &e, 1), 0);
	wal_stats_get(f->w, &st1);
	assert_int_equal(st1.segs_prepared, st0.segs_prepared + 1);
	assert_true(logged("truncated the log from index 21"));
	seg_path(f, 1, p, sizeof(p));
	int u = unwritten_extents(p);
	if (u >= 0) {
		assert_int_equal(u, 0);
	}
	reopen(f);
	assert_int_equal(f->rec.n_entries, 21);
	assert_int_equal(f->rec.entries[20].term, 2);
	assert_int_equal(f->rec.entries[20].len, 5);
	f->rec.n_entries = 20;
	check_log(f, 1, 20);
}

/* A spare that vanished behind the wal's back (not the log's data): the
 * segment is made on the spot with a warning, the log goes on. */
static void test_spare_vanished(void **state)
{
	struct fx *f = *state;
	char p[128];
	reopen(f);
	spare_wait(f);
	path_of(f, "wal-spare.tmp", p, sizeof(p));
	assert_int_equal(unlink(p), 0);
	append_range(f, 1, 10);
	struct wal_stats st;
	wal_stats_get(f->w, &st);
	assert_int_equal(st.segs_prepared, 0);
	assert_int_equal(st.segs_unprepared, 1);
	assert_true(logged("making wal-0000000000000001.seg on the spot"));
	spare_wait(f); /* a new one is made */
	reopen(f);
	check_log(f, 1, 10);
}

/* Append entries @from..@to in batches of @per (one wal_append each),
 * payloads of up to @max bytes. */
static void append_batches(struct fx *f, uint64_t from, uint64_t to,
			   uint32_t per, uint32_t max)
{
	static uint8_t bufs[16][32 * 1024];
	struct raft_entry e[16];
	assert_true(per <= 16 && max <= sizeof(bufs[0]));
	for (uint64_t i = from; i <= to;) {
		uint32_t n = 0;
		for (; n < per && i <= to; n++, i++) {
			e[n] = (struct raft_entry){.term = 1,
						   .index = i,
						   .type = RAFT_ENTRY_NORMAL,
						   .len = tw_len(SEED, i, max),
						   .buf = bufs[n]};
			tw_fill(SEED, i, bufs[n], e[n].len);
		}
		assert_int_equal(wal_append(f->w, e, n), 0);
	}
}

/* Spares are zero-filled only while batches are small: after batches of
 * ~250 KiB the next spare is only fallocated, after small ones again
 * zero-filled; segments made from either kind read back intact. */
static void test_big_batches_skip_zeroing(void **state)
{
	struct fx *f = *state;
	enum { BIG = 32 * 1024, SMALL = 100 };
	f->o.segment_bytes = 1024 * 1024;
	reopen(f);
	spare_wait(f);
	struct wal_stats st;
	wal_stats_get(f->w, &st);
	assert_true(st.zero_filling); /* no batch yet */
	assert_int_equal(st.spares_unzeroed, 0);
	/* ~250 KiB per batch: four segments' worth. */
	append_batches(f, 1, 256, 16, BIG);
	wal_stats_get(f->w, &st);
	assert_true(st.batch_avg >= WAL_ZERO_FILL_BATCH_MAX);
	assert_false(st.zero_filling);
	spare_wait(f);
	wal_stats_get(f->w, &st);
	print_message("big batches: mean %llu B, spares %llu (%llu not "
		      "zeroed), %llu B of zeros\n",
		      (unsigned long long)st.batch_avg,
		      (unsigned long long)st.spares,
		      (unsigned long long)st.spares_unzeroed,
		      (unsigned long long)st.zero_bytes);
	assert_true(st.spares_unzeroed >= 1);
	uint64_t zeros = st.zero_bytes, unzeroed = st.spares_unzeroed;
	/* Small batches bring the mean down; the spares made from then on
	 * are zero-filled again. */
	append_batches(f, 257, 2256, 16, SMALL);
	wal_stats_get(f->w, &st);
	assert_true(st.batch_avg < WAL_ZERO_FILL_BATCH_MAX);
	assert_true(st.zero_filling);
	uint64_t next = 2257;
	for (int i = 0; i < 100 && st.zero_bytes == zeros; i++) {
		append_batches(f, next, next + 1999, 16, SMALL);
		next += 2000;
		spare_wait(f);
		wal_stats_get(f->w, &st);
	}
	assert_true(st.zero_bytes > zeros);
	assert_int_equal(st.spares_unzeroed, unzeroed);
	reopen(f);
	assert_int_equal(f->rec.n_entries, next - 1);
	for (uint32_t i = 0; i < f->rec.n_entries; i++) {
		const struct raft_entry *e = &f->rec.entries[i];
		assert_int_equal(e->index, i + 1);
		assert_true(tw_check(SEED, e, e->index <= 256 ? BIG : SMALL));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_rolls_use_spares),  T(test_zeroed_tail),
	    T(test_unrenamed_spare),   T(test_unrenamed_tmp),
	    T(test_half_zeroed_spare), T(test_truncate_into_spare),
	    T(test_spare_vanished),    T(test_big_batches_skip_zeroing),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
