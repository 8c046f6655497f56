/* test_wal_corrupt.c — bit flips and truncations at random offsets of every
 * file kind (meta, segments, snapshots), and simulated torn writes: damage
 * is either refused with the file named, or recovered without losing or
 * altering anything acknowledged. */
/* cmocka.h needs these three first. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_wal_util.h"
#include "wal_format.h"

#define SEED		23u
#define MAXLEN		1000u
#define N_ENTRIES	400u
#define TRIALS_PER_KIND 60

struct fx {
	char pristine[64]; /* cleanly closed log with snapshots */
	char crashed[64];  /* log of a writer that died without closing */
	char trial[64];
	char err[FR_ERRMSG_SIZE];
	uint64_t rnd;
};

static void opts(struct wal_options *o, const char *dir)
{
	tw_options(o, dir);
	o->segment_bytes = 32 * 1024;
}

static void append_all(struct wal *w, uint32_t n)
{
	static uint8_t buf[MAXLEN];
	for (uint64_t i = 1; i <= n; i++) {
		struct raft_entry e = {.term = 1 + i / 100,
				       .index = i,
				       .type = RAFT_ENTRY_NORMAL,
				       .len = tw_len(SEED, i, MAXLEN),
				       .buf = buf};
		tw_fill(SEED, i, buf, e.len);
		assert_int_equal(wal_append(w, &e, 1), 0);
	}
}

static void snapshot(struct wal *w, uint64_t index, char *err)
{
	struct wal_snap_meta m = {.index = index, .term = 1 + index / 100};
	m.config.n = 1;
	m.config.servers[0] = (struct raft_server){TW_NODE, RAFT_VOTER};
	struct wal_snap_writer *sw;
	uint8_t data[3000];
	tw_fill(SEED + 1, index, data, sizeof(data));
	assert_int_equal(wal_snap_writer_open(&sw, w, &m, err), 0);
	assert_int_equal(wal_snap_writer_write(sw, data, sizeof(data), err), 0);
	assert_int_equal(wal_snap_writer_commit(sw, err), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;

	f->rnd = 42;
	tw_mkdtemp(f->pristine, sizeof(f->pristine), "wal-pristine");
	tw_mkdtemp(f->crashed, sizeof(f->crashed), "wal-crashed");
	tw_mkdtemp(f->trial, sizeof(f->trial), "wal-trial");
	opts(&o, f->pristine);
	assert_int_equal(wal_open(&w, &o, &rec, f->err), 0);
	append_all(w, N_ENTRIES);
	assert_int_equal(wal_hardstate_save(w, 7, 2), 0);
	snapshot(w, 100, f->err);
	snapshot(w, 200, f->err);
	wal_close(w);
	/* A writer that dies right after its last append returned. */
	pid_t pid = fork();
	if (pid == 0) {
		opts(&o, f->crashed);
		if (wal_open(&w, &o, &rec, f->err) != 0) {
			_exit(1);
		}
		append_all(w, N_ENTRIES);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tw_rmrf(f->pristine);
	tw_rmrf(f->crashed);
	tw_rmrf(f->trial);
	free(f);
	return 0;
}

static void copy_dir(const char *from, const char *to)
{
	tw_rmrf(to);
	assert_int_equal(mkdir(to, 0755), 0);
	DIR *d = opendir(from);
	struct dirent *de;
	static uint8_t buf[1 << 16];
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "lock") == 0) {
			continue;
		}
		char a[300], b[300];
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		int in = open(a, O_RDONLY),
		    out = open(b, O_WRONLY | O_CREAT, 0644);
		ssize_t n;
		while ((n = read(in, buf, sizeof(buf))) > 0) {
			assert_int_equal(write(out, buf, (size_t)n), n);
		}
		close(in);
		close(out);
	}
	closedir(d);
}

/* Names of the files of @dir starting with @prefix. */
static int list(const char *dir, const char *prefix, char names[][64], int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)) != NULL && n < max) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			size_t l = strlen(de->d_name);
			memcpy(names[n], de->d_name, l < 63 ? l : 63);
			names[n++][l < 63 ? l : 63] = '\0';
		}
	}
	closedir(d);
	return n;
}

static off_t file_size(const char *p)
{
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void flip_bit(const char *p, off_t off, unsigned bit)
{
	int fd = open(p, O_RDWR);
	uint8_t c;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= (uint8_t)(1u << bit);
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Open the damaged trial dir: either a refusal naming @file, or a complete
 * and exact recovery.  Returns 1 if refused. */
static int open_and_judge(struct fx *f, const char *file, bool pristine)
{
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w = NULL;
	opts(&o, f->trial);
	int rv = wal_open(&w, &o, &rec, f->err);
	if (rv != 0) {
		if (rv != FR_CORRUPT || strstr(f->err, file) == NULL) {
			fail_msg("damage in %s: %s: %s", file, fr_strerror(rv),
				 f->err);
		}
		return 1;
	}
	assert_int_equal(rec.n_entries, N_ENTRIES);
	for (uint32_t i = 0; i < rec.n_entries; i++) {
		assert_int_equal(rec.entries[i].index, i + 1);
		assert_int_equal(rec.entries[i].term, 1 + (i + 1) / 100);
		assert_true(tw_check(SEED, &rec.entries[i], MAXLEN));
	}
	if (pristine) {
		assert_int_equal(rec.term, 7);
		assert_int_equal(rec.vote, 2);
		assert_true(rec.snapshot_index == 200 ||
			    rec.snapshot_index == 100);
		struct wal_snap_reader *r;
		struct wal_snap_meta m;
		uint8_t buf[4096];
		size_t n;
		assert_int_equal(wal_snap_reader_open(&r, w, &m, f->err), 0);
		assert_int_equal(m.index, rec.snapshot_index);
		do {
			assert_int_equal(wal_snap_reader_read(
					     r, buf, sizeof(buf), &n, f->err),
					 0);
		} while (n > 0);
		wal_snap_reader_close(r);
	}
	wal_close(w);
	return 0;
}

static void damage_kind(struct fx *f, const char *prefix, bool cut)
{
	char names[64][64];
	int refused = 0, fine = 0;
	for (int t = 0; t < TRIALS_PER_KIND; t++) {
		copy_dir(f->pristine, f->trial);
		int n = list(f->trial, prefix, names, 64);
		assert_true(n > 0);
		f->rnd = tw_mix(f->rnd + (uint64_t)t);
		const char *name = names[f->rnd % (uint64_t)n];
		char p[300];
		snprintf(p, sizeof(p), "%s/%s", f->trial, name);
		off_t size = file_size(p);
		/* Segments: mostly hit the written part. */
		off_t span = size;
		if (strncmp(prefix, "wal-", 4) == 0 && (f->rnd >> 8) % 4 != 0) {
			span = size < 20000 ? size : 20000;
		}
		off_t off = (off_t)((f->rnd >> 16) % (uint64_t)span);
		if (cut) {
			assert_int_equal(truncate(p, off), 0);
		} else {
			flip_bit(p, off, (unsigned)(f->rnd >> 40) % 8);
		}
		if (open_and_judge(f, name, true)) {
			refused++;
		} else {
			fine++;
		}
	}
	print_message("%-5s %-8s: %2d refused with the file named, %2d "
		      "recovered complete\n",
		      prefix, cut ? "truncate" : "bit flip", refused, fine);
	/* Every file kind must show that damage is noticed at all. */
	if (strcmp(prefix, "snap-") != 0) {
		assert_true(refused > 0);
	}
}

static void test_flip_meta(void **state)
{
	damage_kind(*state, "meta", false);
}

static void test_truncate_meta(void **state)
{
	damage_kind(*state, "meta", true);
}

static void test_flip_segments(void **state)
{
	damage_kind(*state, "wal-", false);
}

static void test_truncate_segments(void **state)
{
	damage_kind(*state, "wal-", true);
}

static void test_flip_snapshots(void **state)
{
	damage_kind(*state, "snap-", false);
}

static void test_truncate_snapshots(void **state)
{
	damage_kind(*state, "snap-", true);
}

/* Offset of the last record of the newest segment of @dir, and its size. */
static void last_record(const char *dir, char seg[300], off_t *off,
			uint64_t *size)
{
	char names[64][64];
	int n = list(dir, "wal-", names, 64);
	int best = -1;
	for (int i = 0; i < n; i++) {
		/* Segments only: a crash may leave wal-spare.tmp. */
		size_t l = strlen(names[i]);
		if (l > 4 && strcmp(names[i] + l - 4, ".seg") == 0 &&
		    (best < 0 || strcmp(names[i], names[best]) > 0)) {
			best = i;
		}
	}
	assert_true(best >= 0);
	snprintf(seg, 300, "%.64s/%.63s", dir, names[best]);
	int fd = open(seg, O_RDONLY);
	uint8_t h[WAL_REC_HDR_BYTES];
	uint64_t o = WAL_SEG_HDR_BYTES, last = 0, lsize = 0;
	struct wal_rec_hdr rh;
	while (pread(fd, h, sizeof(h), (off_t)o) == sizeof(h) &&
	       wal__rec_hdr_plausible(&rh, h, sizeof(h))) {
		last = o;
		lsize = wal_rec_size(rh.len);
		o += lsize;
	}
	close(fd);
	assert_true(last > 0);
	*off = (off_t)last;
	*size = lsize;
}

/* A torn last batch (the writer died while writing it) is dropped; the same
 * damage one batch earlier is refused. */
static void test_torn_tail(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	int dropped = 0;
	for (int t = 0; t < 30; t++) {
		copy_dir(f->crashed, f->trial);
		last_record(f->trial, seg, &off, &size);
		f->rnd = tw_mix(f->rnd + 1000u + (uint64_t)t);
		off_t at = off + (off_t)(f->rnd % size);
		if (t % 2 == 0) {
			flip_bit(seg, at, (unsigned)(f->rnd >> 32) % 8);
		} else { /* a sector that never reached the disk */
			int fd = open(seg, O_RDWR);
			uint8_t z[512] = {0};
			off_t s = at & ~(off_t)511;
			assert_int_equal(pwrite(fd, z, sizeof(z), s), 512);
			close(fd);
		}
		struct wal_options o;
		struct wal_recovered rec;
		struct wal *w;
		opts(&o, f->trial);
		int rv = wal_open(&w, &o, &rec, f->err);
		if (rv != 0) {
			fail_msg("torn tail refused: %s", f->err);
		}
		/* A zeroed sector may also hit the record before the last. */
		assert_true(rec.n_entries == N_ENTRIES - 1 ||
			    rec.n_entries == N_ENTRIES - 2);
		assert_true(rec.torn_tail);
		for (uint32_t i = 0; i < rec.n_entries; i++) {
			assert_true(tw_check(SEED, &rec.entries[i], MAXLEN));
		}
		dropped++;
		/* The repaired log takes new entries and reopens cleanly. */
		uint8_t b[8] = {0};
		struct raft_entry e = {
		    .term = 9, .index = 0, .type = 1, .len = 8, .buf = b};
		assert_int_equal(wal_append(w, &e, 1), 0);
		wal_close(w);
		assert_int_equal(wal_open(&w, &o, &rec, f->err), 0);
		assert_false(rec.torn_tail);
		assert_int_equal(rec.entries[rec.n_entries - 1].term, 9);
		wal_close(w);
	}
	/* Damage in an earlier, acknowledged batch: refused, file and
	 * offset named. */
	copy_dir(f->crashed, f->trial);
	last_record(f->trial, seg, &off, &size);
	flip_bit(seg, WAL_SEG_HDR_BYTES + 60, 0);
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	opts(&o, f->trial);
	assert_int_equal(wal_open(&w, &o, &rec, f->err), FR_CORRUPT);
	assert_non_null(strstr(f->err, "offset 4096"));
	assert_non_null(strstr(f->err, strrchr(seg, '/') + 1));
	print_message("torn tails dropped: %d; older damage refused: %s\n",
		      dropped, f->err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flip_meta),
	    cmocka_unit_test(test_truncate_meta),
	    cmocka_unit_test(test_flip_segments),
	    cmocka_unit_test(test_truncate_segments),
	    cmocka_unit_test(test_flip_snapshots),
	    cmocka_unit_test(test_truncate_snapshots),
	    cmocka_unit_test(test_torn_tail),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
