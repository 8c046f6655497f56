/* test_wal_damage.c — storage faults that may lose acknowledged data
 * (docs/storage.md "Damaged storage"): torn tails still dropped, damage in
 * flushed records cut and reported as corruption with the range that may
 * have been acknowledged, misdirected and lost writes, the tail slot's
 * claim (lost writes after the last meta save, the false positive of a
 * torn batch whose slot landed, what stays undetected), the meta file's
 * recovering state and its older formats. */
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

#include "crc32c.h"
#include "heap.h"
#include "le.h"
#include "test_wal_util.h"
#include "wal_format.h"
#include "wal_io.h"
#include "wal_private.h"

#define SEED   29u
#define MAXLEN 700u
#define N      120u

struct fx {
	char dir[64];
	char err[FR_ERRMSG_SIZE];
};

static void opts(struct wal_options *o, const char *dir, bool recover)
{
	tw_options(o, dir);
	o->segment_bytes = UINT64_C(32) * 1024;
	o->recover_damage = recover;
}

/* Entry @i's payload is 200..MAXLEN bytes (every record spans a sector
 * boundary or more, so a payload flip is never explained by zeros). */
static uint32_t len_of(uint64_t i)
{
	return 200 + tw_len(SEED, i, MAXLEN - 200);
}

static bool entry_ok(const struct raft_entry *e)
{
	static uint8_t buf[MAXLEN];
	if (e->len != len_of(e->index)) {
		return false;
	}
	tw_fill(SEED, e->index, buf, e->len);
	return memcmp(buf, e->buf, e->len) == 0;
}

static void append_all(struct wal *w, uint32_t n)
{
	static uint8_t buf[MAXLEN];
	for (uint64_t i = 1; i <= n; i++) {
		struct raft_entry e = {.term = 1 + i / 50,
				       .index = i,
				       .type = RAFT_ENTRY_NORMAL,
				       .len = len_of(i),
				       .buf = buf};
		tw_fill(SEED, i, buf, e.len);
		assert_int_equal(wal_append(w, &e, 1), 0);
	}
}

/* A writer that appends N entries (one batch each), saves term 5 (meta
 * records the durable point N; with @save_first before the appends, so
 * meta knows of none) and dies without closing. */
static void crashed_log_at(struct fx *f, bool save_first)
{
	tw_rmrf(f->dir);
	pid_t pid = fork();
	if (pid == 0) {
		struct wal_options o;
		struct wal_recovered rec;
		struct wal *w;
		opts(&o, f->dir, false);
		if (wal_open(&w, &o, &rec, f->err) != 0) {
			_exit(1);
		}
		if (save_first && wal_hardstate_save(w, 5, 0) != 0) {
			_exit(1);
		}
		append_all(w, N);
		if (!save_first && wal_hardstate_save(w, 5, 0) != 0) {
			_exit(1);
		}
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void crashed_log(struct fx *f)
{
	crashed_log_at(f, false);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	tw_mkdtemp(f->dir, sizeof(f->dir), "wal-damage");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tw_rmrf(f->dir);
	free(f);
	return 0;
}

/* Path of the newest segment, the offset and size of record @k (0-based
 * from the segment's first; -1: its last record) and how many it holds. */
static int seg_record(const char *dir, char seg[300], int k, off_t *off,
		      uint64_t *size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char best[64] = "";
	*off = 0;
	*size = 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (strncmp(de->d_name, "wal-", 4) == 0 && l == 24 &&
		    strcmp(de->d_name + 20, ".seg") == 0 &&
		    strcmp(de->d_name, best) > 0) {
			memcpy(best, de->d_name, l + 1);
		}
	}
	closedir(d);
	assert_true(best[0] != '\0');
	snprintf(seg, 300, "%.64s/%.63s", dir, best);
	int fd = open(seg, O_RDONLY);
	uint8_t h[WAL_REC_HDR_BYTES];
	uint64_t o = WAL_SEG_HDR_BYTES;
	struct wal_rec_hdr rh;
	int n = 0;
	while (pread(fd, h, sizeof(h), (off_t)o) == sizeof(h) &&
	       wal__rec_hdr_plausible(&rh, h, sizeof(h))) {
		if (n == k || k < 0) {
			*off = (off_t)o;
			*size = wal_rec_size(rh.len);
		}
		o += wal_rec_size(rh.len);
		n++;
	}
	close(fd);
	return n;
}

static void poke(const char *p, off_t off, const void *buf, size_t len)
{
	int fd = open(p, O_RDWR);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void peek(const char *p, off_t off, void *buf, size_t len)
{
	int fd = open(p, O_RDONLY);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void flip(const char *p, off_t off)
{
	uint8_t c;
	peek(p, off, &c, 1);
	c ^= 0x10;
	poke(p, off, &c, 1);
}

/* The tail slot of segment @seg as the writer left it (decoded against
 * its header: must be a valid claim). */
static struct wal_slot slot_get(const char *seg)
{
	uint8_t blk[WAL_SEG_HDR_BYTES];
	struct wal_seg_hdr h;
	struct wal_slot sl;
	const char *why = "";
	peek(seg, 0, blk, sizeof(blk));
	assert_int_equal(wal__seg_hdr_decode(&h, blk, &why), 0);
	assert_int_equal(wal__slot_decode(&sl, blk, &h, &why), WAL_SLOT_OK);
	return sl;
}

static void slot_put(const char *seg, const struct wal_slot *sl)
{
	uint8_t sec[WAL_SLOT_BYTES] = {0};
	if (sl != NULL) {
		wal__slot_encode(sl, sec);
	}
	poke(seg, WAL_SLOT_OFF, sec, sizeof(sec));
}

/* The slot as if the last batch's slot write had not landed: it claims
 * the batch before (one entry per batch here). */
static void slot_unland(const char *seg)
{
	struct wal_slot sl = slot_get(seg);
	sl.index--;
	sl.term = 1 + sl.index / 50;
	sl.batch--;
	slot_put(seg, &sl);
}

/* What an open reported about damage: @corrupt, and the recovering bound
 * @index with its term @term (0 = unknown). */
static void expect_rec(const struct wal_recovered *rec, bool corrupt,
		       raft_index index, raft_term term)
{
	assert_int_equal(rec->corrupt, corrupt);
	assert_int_equal(rec->recover_index, index);
	assert_int_equal(rec->recover_index_term, term);
}

static struct wal *open_ok(struct fx *f, bool recover,
			   struct wal_recovered *rec)
{
	struct wal_options o;
	struct wal *w = NULL;
	opts(&o, f->dir, recover);
	int rv = wal_open(&w, &o, rec, f->err);
	if (rv != 0) {
		fail_msg("wal_open: %s: %s", fr_strerror(rv), f->err);
	}
	for (uint32_t i = 0; i < rec->n_entries; i++) {
		assert_int_equal(rec->entries[i].index, i + 1);
		assert_true(entry_ok(&rec->entries[i]));
	}
	return w;
}

/* A sector of the last batch that never reached the disk, nor its tail
 * slot: a torn write, dropped as before, not corruption, nothing to
 * recover.  (Meta was saved before the batch: had it recorded the batch as
 * durable, the same zeros would be a lost write, test_lost_write_of_tail;
 * had the slot landed, test_torn_tail_slot_landed.) */
static void test_torn_tail_dropped(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	crashed_log_at(f, true);
	seg_record(f->dir, seg, -1, &off, &size);
	uint8_t z[512] = {0};
	poke(seg, (off + (off_t)size - 1) & ~(off_t)511, z, sizeof(z));
	slot_unland(seg);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	assert_true(rec.torn_tail);
	assert_false(rec.corrupt);
	assert_int_equal(rec.recover_index, 0);
	assert_true(rec.n_entries == N - 1 || rec.n_entries == N - 2);
	wal_close(w);
}

/* The same torn last batch, but its tail slot landed (a power cut reorders
 * the two writes): the log ends before the claim, which cannot be told
 * from a lost write of a flushed batch.  Recovering up to the claim, with
 * its term: the accepted false positive (docs/storage.md). */
static void test_torn_tail_slot_landed(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	crashed_log_at(f, true);
	seg_record(f->dir, seg, -1, &off, &size);
	uint8_t z[512] = {0};
	poke(seg, (off + (off_t)size - 1) & ~(off_t)511, z, sizeof(z));
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	expect_rec(&rec, true, N, 1 + N / 50);
	assert_true(rec.n_entries == N - 1 || rec.n_entries == N - 2);
	wal_close(w);
}

/* A bit flip in the last, flushed batch: every sector of the record holds
 * data, so no torn write explains it.  With recover_damage it is cut and
 * reported as corruption up to its index (persisted until cleared);
 * without, it is dropped as a torn tail (the old behaviour, kept for
 * tools). */
static void test_flip_last_batch_is_corruption(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	crashed_log(f);
	seg_record(f->dir, seg, -1, &off, &size);
	flip(seg, off + WAL_REC_HDR_BYTES + 100); /* payload */
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	assert_true(rec.corrupt);
	assert_false(rec.torn_tail);
	assert_int_equal(rec.n_entries, N - 1);
	assert_int_equal(rec.recover_index, N);
	wal_close(w);
	/* Still recovering after a restart, until cleared. */
	w = open_ok(f, true, &rec);
	assert_false(rec.corrupt);
	assert_int_equal(rec.recover_index, N);
	assert_int_equal(wal_recovering_clear(w), 0);
	wal_close(w);
	w = open_ok(f, true, &rec);
	assert_int_equal(rec.recover_index, 0);
	wal_close(w);

	/* A flipped header of the last record: the same. */
	crashed_log(f);
	seg_record(f->dir, seg, -1, &off, &size);
	flip(seg, off + 9);
	w = open_ok(f, true, &rec);
	assert_true(rec.corrupt);
	assert_int_equal(rec.n_entries, N - 1);
	assert_true(rec.recover_index >= N);
	wal_close(w);

	/* Without recover_damage: dropped as a torn tail. */
	crashed_log(f);
	seg_record(f->dir, seg, -1, &off, &size);
	flip(seg, off + WAL_REC_HDR_BYTES + 100);
	w = open_ok(f, false, &rec);
	assert_true(rec.torn_tail);
	expect_rec(&rec, false, 0, 0);
	wal_close(w);
}

/* Damage in the middle (a later batch proves it was flushed): refused
 * without recover_damage; with it, cut there and reported up to the last
 * index any intact later record names. */
static void test_flip_middle_is_corruption(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	crashed_log(f);
	int n = seg_record(f->dir, seg, 2, &off, &size);
	assert_true(n > 3);
	flip(seg, off + WAL_REC_HDR_BYTES + 3);
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	opts(&o, f->dir, false);
	assert_int_equal(wal_open(&w, &o, &rec, f->err), FR_CORRUPT);
	assert_non_null(strstr(f->err, "valid data written later follows"));
	w = open_ok(f, true, &rec);
	assert_true(rec.corrupt);
	assert_int_equal(rec.recover_index, N);
	assert_int_equal(rec.n_entries, N - (uint32_t)n + 2);
	/* The cut log takes new entries. */
	uint8_t b[8] = {0};
	struct raft_entry e = {.term = 9,
			       .index = rec.n_entries + 1,
			       .type = RAFT_ENTRY_NORMAL,
			       .len = 8,
			       .buf = b};
	assert_int_equal(wal_append(w, &e, 1), 0);
	wal_close(w);
}

/* A last batch of two records, the first one's payload ending in 100 zero
 * bytes just past a sector boundary, the second record right after it in
 * that sector.  A flipped byte early in the first payload is corruption:
 * the zeros at the start of the last sector are data, since the second
 * record follows them in the same sector (judged by the record's own bytes
 * alone, they looked like an unwritten sector: dropped as torn). */
static void test_zero_tail_not_torn(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	crashed_log(f);
	seg_record(f->dir, seg, -1, &off, &size);
	uint64_t end = (uint64_t)off + size; /* where the next batch goes */
	/* Record 1 ends 50 bytes into a sector: header + len. */
	uint64_t stop = ((end + WAL_REC_HDR_BYTES + 600) | 511) + 1 + 50;
	uint32_t len = (uint32_t)(stop - end - WAL_REC_HDR_BYTES);
	pid_t pid = fork();
	if (pid == 0) {
		struct wal_options o;
		struct wal_recovered rec;
		struct wal *w;
		static uint8_t a[2048], b[64];
		opts(&o, f->dir, false);
		if (wal_open(&w, &o, &rec, f->err) != 0 || len > sizeof(a)) {
			_exit(1);
		}
		memset(a, 0x5a, len - 100); /* then 100 zero bytes */
		memset(b, 0x33, sizeof(b));
		struct raft_entry e[2] = {{.term = 9,
					   .index = N + 1,
					   .type = 1,
					   .len = len,
					   .buf = a},
					  {.term = 9,
					   .index = N + 2,
					   .type = 1,
					   .len = 64,
					   .buf = b}};
		_exit(wal_append(w, e, 2) == 0 ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int n = seg_record(f->dir, seg, -1, &off, &size);
	off_t first;
	seg_record(f->dir, seg, n - 2, &first, &size);
	assert_int_equal((uint64_t)first, end);
	flip(seg, first + WAL_REC_HDR_BYTES + 10);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	assert_true(rec.corrupt);
	assert_false(rec.torn_tail);
	assert_int_equal(rec.n_entries, N);
	assert_int_equal(rec.recover_index, N + 2);
	wal_close(w);
}

/* A misdirected write: record 1 of the segment overwritten by a copy of
 * record 0 (valid checksums, wrong index).  Cut there, corruption. */
static void test_misdirected_write(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off0, off1;
	uint64_t size0, size1;
	crashed_log(f);
	int n = seg_record(f->dir, seg, 0, &off0, &size0);
	seg_record(f->dir, seg, 1, &off1, &size1);
	uint8_t *buf = malloc(size0);
	peek(seg, off0, buf, size0);
	poke(seg, off1, buf, size0);
	free(buf);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	assert_true(rec.corrupt);
	assert_int_equal(rec.n_entries, N - (uint32_t)n + 1);
	assert_int_equal(rec.recover_index, N);
	wal_close(w);
}

/* A lost write of the newest segment's last record: zeros read back. */
static void lose_last_record(struct fx *f)
{
	char seg[300];
	off_t off;
	uint64_t size;
	seg_record(f->dir, seg, -1, &off, &size);
	assert_true(size > 0);
	uint8_t *z = calloc(1, size + 1);
	poke(seg, off, z, size);
	free(z);
}

/* A lost write of the last batch reads as zeros: a clean end of the log by
 * itself.  The meta file's durable point (saved with term 5 after entry N
 * was durable) gives it away. */
static void test_lost_write_of_tail(void **state)
{
	struct fx *f = *state;
	crashed_log(f);
	lose_last_record(f);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, false, &rec);
	assert_false(rec.corrupt); /* without recover_damage: unnoticed */
	assert_int_equal(rec.n_entries, N - 1);
	wal_close(w);
	w = open_ok(f, true, &rec);
	assert_true(rec.corrupt);
	assert_int_equal(rec.n_entries, N - 1);
	assert_int_equal(rec.recover_index, N);
	assert_int_equal(rec.recover_index_term, 1 + N / 50); /* the slot */
	assert_int_equal(rec.term, 5);
	wal_close(w);
}

/* The old blind spot, closed by the tail slot: a lost write of the last
 * batch flushed after the last meta save (meta saved before the appends
 * knows of none) reads as a clean end of the log, but the newest
 * segment's slot claims entry N, term 3.  (On the code before the slot:
 * no corrupt, recover_index 0.) */
static void test_lost_write_after_meta_detected(void **state)
{
	struct fx *f = *state;
	crashed_log_at(f, true);
	lose_last_record(f);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	expect_rec(&rec, true, N, 1 + N / 50);
	assert_int_equal(rec.n_entries, N - 1);
	wal_close(w);
}

/* Every batch of the newest segment lost (zeros from its first record
 * on), its header and slot intact: the log ends in the segment before,
 * the slot still claims entry N.  (The whole file lost, slot included,
 * is not detected: docs/storage.md.) */
static void test_lost_newest_segment_batches(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t first, last;
	uint64_t size;
	crashed_log_at(f, true);
	int n = seg_record(f->dir, seg, 0, &first, &size);
	seg_record(f->dir, seg, -1, &last, &size);
	assert_true(n > 1);
	uint64_t len = (uint64_t)(last - first) + size;
	uint8_t *z = calloc(1, len);
	poke(seg, first, z, len);
	free(z);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	expect_rec(&rec, true, N, 1 + N / 50);
	assert_int_equal(rec.n_entries, N - (uint32_t)n);
	wal_close(w);
}

/* What stays undetected: the last batch and its slot both lost (two lost
 * writes; the slot then claims the batch before, which the log holds).
 * Dropped silently, as every such loss was before the slot. */
static void test_batch_and_slot_lost_undetected(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	crashed_log_at(f, true);
	lose_last_record(f);
	seg_record(f->dir, seg, -1, &off, &size);
	slot_unland(seg);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	expect_rec(&rec, false, 0, 0);
	assert_int_equal(rec.n_entries, N - 1);
	wal_close(w);
}

/* A damaged slot (bad checksum, or a valid checksum over an index outside
 * what the segment can hold) is no claim: a warning, and the meta file's
 * durable point is the fallback (term unknown).  A log that lost nothing
 * opens as usual. */
static void test_damaged_slot_falls_back(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	struct wal_recovered rec;
	crashed_log(f); /* meta knows of entry N */
	lose_last_record(f);
	seg_record(f->dir, seg, -1, &off, &size);
	flip(seg, WAL_SLOT_OFF + 9);
	unsigned warned = tw_slot_logs;
	struct wal *w = open_ok(f, true, &rec);
	assert_int_equal(tw_slot_logs, warned + 1);
	expect_rec(&rec, true, N, 0);
	wal_close(w);

	crashed_log_at(f, true);
	seg_record(f->dir, seg, -1, &off, &size);
	struct wal_slot sl = slot_get(seg);
	sl.index += 1000000; /* checksum fine, index beyond the segment */
	slot_put(seg, &sl);
	w = open_ok(f, true, &rec);
	assert_int_equal(tw_slot_logs, warned + 2);
	expect_rec(&rec, false, 0, 0);
	assert_int_equal(rec.n_entries, N);
	wal_close(w);
}

/* A writer that replaces entries from N - 10 by one of term 5 and dies
 * right after the truncation, its new batch never written (caller_kicks:
 * nothing wakes the writer for it). */
static void truncated_then_killed(struct fx *f)
{
	pid_t pid = fork();
	if (pid == 0) {
		static uint8_t b[MAXLEN];
		struct wal_options o;
		struct wal_recovered rec;
		struct wal *w;
		opts(&o, f->dir, true);
		o.caller_kicks = true;
		struct raft_entry e = {.term = 5,
				       .index = N - 10,
				       .type = RAFT_ENTRY_NORMAL,
				       .len = len_of(N - 10),
				       .buf = b};
		tw_fill(SEED, e.index, b, e.len);
		if (wal_open(&w, &o, &rec, f->err) != 0 ||
		    wal_submit(w, &e, 1) != 0) {
			_exit(1);
		}
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A suffix truncation moves the claim down with the log.  The segment's
 * copy claims its last kept entry before the replacing batch is written:
 * a writer that dies in between leaves a log that reaches its claim (with
 * the old claim, N, it would look like a lost write).  Then the replacing
 * entry (N - 10, term 5) is written and lost: the claim is it, not N. */
static void test_truncation_lowers_claim(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	struct wal_recovered rec;
	crashed_log_at(f, true); /* meta term 5, knows of no entry */
	truncated_then_killed(f);
	seg_record(f->dir, seg, -1, &off, &size);
	/* The writer runs on its own thread and may take the replacing batch
	 * before the exit all the same (seen in the Debug sanitizer build):
	 * then the claim is that batch's.  Either way it is an entry the log
	 * reaches, never the old N. */
	struct wal_slot sl = slot_get(seg);
	if (sl.index == N - 10) {
		printf("note: the replacing batch landed before the exit; "
		       "the lowered copy's claim was not observed this run\n");
	} else {
		assert_int_equal(sl.index, N - 11);
	}
	struct wal *w = open_ok(f, true, &rec);
	expect_rec(&rec, false, 0, 0);
	assert_int_equal(rec.n_entries, sl.index);
	static uint8_t b[MAXLEN];
	struct raft_entry e = {.term = 5,
			       .index = N - 10,
			       .type = RAFT_ENTRY_NORMAL,
			       .len = len_of(N - 10),
			       .buf = b};
	tw_fill(SEED, e.index, b, e.len); /* what open_ok checks */
	assert_int_equal(wal_append(w, &e, 1), 0);
	wal_close(w);
	sl = slot_get(seg);
	assert_int_equal(sl.index, N - 10);
	assert_int_equal(sl.term, 5);
	/* The last record is the CLOSE marker: lose the replacing entry. */
	int n = seg_record(f->dir, seg, -1, &off, &size);
	seg_record(f->dir, seg, n - 2, &off, &size);
	uint8_t *z = calloc(1, size);
	poke(seg, off, z, size);
	free(z);
	w = open_ok(f, true, &rec);
	expect_rec(&rec, true, N - 10, 5);
	assert_int_equal(rec.n_entries, N - 11);
	wal_close(w);
}

/* A claim of a term newer than meta's saved term cannot come from the
 * runtime (it saves the term before the entries): its index still counts,
 * its term is reported unknown (the core refuses a term of X above its
 * own). */
static void test_claim_term_above_meta(void **state)
{
	struct fx *f = *state;
	char seg[300];
	off_t off;
	uint64_t size;
	struct wal_recovered rec;
	crashed_log_at(f, true); /* meta term 5, entries of terms 1..3 */
	lose_last_record(f);
	seg_record(f->dir, seg, -1, &off, &size);
	struct wal_slot sl = slot_get(seg);
	sl.term = 6;
	slot_put(seg, &sl);
	struct wal *w = open_ok(f, true, &rec);
	expect_rec(&rec, true, N, 0);
	assert_int_equal(rec.term, 5);
	wal_close(w);
}

/* The recovering bound and its term survive restarts until cleared; once
 * cleared the next start finds nothing (recovery rewrote the slot to the
 * log's end, or it would find the same loss again). */
static void test_restart_keeps_recover_term(void **state)
{
	struct fx *f = *state;
	struct wal_recovered rec;
	crashed_log_at(f, true);
	lose_last_record(f);
	struct wal *w = open_ok(f, true, &rec);
	assert_true(rec.corrupt);
	wal_close(w);
	for (int i = 0; i < 2; i++) {
		w = open_ok(f, true, &rec);
		assert_false(rec.corrupt);
		assert_int_equal(rec.recover_index, N);
		assert_int_equal(rec.recover_index_term, 1 + N / 50);
		assert_int_equal(rec.n_entries, N - 1);
		if (i == 1) {
			assert_int_equal(wal_recovering_clear(w), 0);
		}
		wal_close(w);
	}
	w = open_ok(f, true, &rec);
	expect_rec(&rec, false, 0, 0);
	wal_close(w);
}

/* Segments written before the slot existed (a zero slot sector) open as
 * before: no claim, every entry, and a lost write there is judged against
 * meta alone.  A version 2 meta file is read (recover term unknown). */
static void test_old_format_opens(void **state)
{
	struct fx *f = *state;
	char seg[300], p[300];
	off_t off;
	uint64_t size;
	struct wal_recovered rec;
	crashed_log_at(f, true);
	seg_record(f->dir, seg, -1, &off, &size);
	slot_put(seg, NULL);
	struct wal *w = open_ok(f, true, &rec);
	assert_false(rec.corrupt);
	assert_int_equal(rec.n_entries, N);
	wal_close(w);
	lose_last_record(f);
	slot_put(seg, NULL);
	w = open_ok(f, true, &rec);
	assert_false(rec.corrupt); /* the old blind spot */
	assert_int_equal(rec.n_entries, N - 1);
	wal_close(w);

	/* Meta version 2: recover index 7 without a term. */
	uint8_t m[WAL_META_BYTES];
	snprintf(p, sizeof(p), "%s/meta", f->dir);
	peek(p, 0, m, sizeof(m));
	assert_int_equal(le_get_u32(m + 8), 3);
	le_put_u32(m + 8, 2);
	le_put_u64(m + 40, 7);
	memset(m + 64, 0, 8);
	le_put_u32(m + WAL_META_BYTES - 4, fr_crc32c(0, m, WAL_META_BYTES - 4));
	poke(p, 0, m, sizeof(m));
	w = open_ok(f, true, &rec);
	assert_int_equal(rec.recover_index, 7);
	assert_int_equal(rec.recover_index_term, 0);
	wal_close(w);
}

/* Meta format 1 (64 bytes) is read; the next save writes format 2. */
static void test_meta_v1_read(void **state)
{
	struct fx *f = *state;
	tw_rmrf(f->dir);
	assert_int_equal(mkdir(f->dir, 0755), 0);
	uint8_t m[WAL_META_V1_BYTES] = {0};
	static const uint8_t magic[8] = {'F', 'R', 'W', 'A',
					 'L', 'M', 'E', 'T'};
	memcpy(m, magic, sizeof(magic));
	le_put_u32(m + 8, 1);
	le_put_u32(m + 12, WAL_META_V1_BYTES);
	le_put_u64(m + 16, TW_CLUSTER);
	le_put_u32(m + 24, TW_NODE);
	le_put_u32(m + 28, 2);
	le_put_u64(m + 32, 11);
	le_put_u32(m + 60, fr_crc32c(0, m, 60));
	char p[300];
	snprintf(p, sizeof(p), "%s/meta", f->dir);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, m, sizeof(m)), (ssize_t)sizeof(m));
	close(fd);
	struct wal_recovered rec;
	struct wal *w = open_ok(f, true, &rec);
	assert_int_equal(rec.term, 11);
	assert_int_equal(rec.vote, 2);
	assert_int_equal(rec.recover_index, 0);
	assert_int_equal(wal_hardstate_save(w, 12, 0), 0);
	wal_close(w);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, WAL_META_BYTES);
	uint8_t v2[WAL_META_BYTES];
	peek(p, 0, v2, sizeof(v2));
	assert_int_equal(le_get_u32(v2 + 8), WAL_META_VERSION);
	/* An unknown version is refused clearly. */
	le_put_u32(v2 + 8, 9);
	le_put_u32(v2 + WAL_META_BYTES - 4,
		   fr_crc32c(0, v2, WAL_META_BYTES - 4));
	poke(p, 0, v2, sizeof(v2));
	struct wal_options o;
	opts(&o, f->dir, true);
	assert_int_equal(wal_open(&w, &o, &rec, f->err), FR_CORRUPT);
	assert_non_null(strstr(f->err, "unknown meta format version"));
}

/* Both ways the writer puts a batch and its slot to an O_DIRECT segment
 * (wal_aio.c): in one AIO submission, and one after the other when there
 * is no AIO context.  Either way both land, the slot's block whole. */
static void test_slot_write_paths(void **state)
{
	struct fx *f = *state;
	char p[300];
	snprintf(p, sizeof(p), "%s/direct.bin", f->dir);
	int fd = open(p, O_RDWR | O_CREAT | O_DIRECT, 0644);
	if (fd < 0) {
		skip(); /* no O_DIRECT here: nothing to test */
	}
	const size_t blk = WAL_BLOCK; /* size_t: no int products widened */
	struct wal *w = calloc(1, sizeof(*w));
	void *raw_h, *raw_b;
	w->direct = true;
	w->hdr_blk = wal__aligned_alloc(WAL_BLOCK, &raw_h);
	uint8_t *b = wal__aligned_alloc(2 * blk, &raw_b);
	for (int aio = 1; aio >= 0; aio--) {
		if (aio) {
			wal__aio_init(w);
			assert_true(w->aio_ctx != 0);
		} else {
			wal__aio_close(w);
		}
		memset(w->hdr_blk, 0x11 + aio, WAL_BLOCK);
		memset(b, 0x22 + aio, 2 * blk);
		assert_int_equal(
		    wal__write_with_slot(w, fd, b, 2 * blk, 2 * blk), 0);
		static uint8_t got[3 * WAL_BLOCK];
		int rfd = open(p, O_RDONLY);
		assert_int_equal(pread(rfd, got, WAL_BLOCK, 0), WAL_BLOCK);
		assert_int_equal(pread(rfd, got + WAL_BLOCK, 2 * blk, 2 * blk),
				 2 * blk);
		close(rfd);
		assert_memory_equal(got, w->hdr_blk, WAL_BLOCK);
		assert_memory_equal(got + WAL_BLOCK, b, 2 * blk);
	}
	close(fd);
	fr_free(raw_h);
	fr_free(raw_b);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_torn_tail_dropped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_flip_last_batch_is_corruption,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flip_middle_is_corruption,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_tail_not_torn, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_misdirected_write, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lost_write_of_tail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail_slot_landed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lost_write_after_meta_detected,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_newest_segment_batches,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_and_slot_lost_undetected,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_slot_falls_back, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_truncation_lowers_claim, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_claim_term_above_meta, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restart_keeps_recover_term,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_old_format_opens, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_meta_v1_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slot_write_paths, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
