/* test_wal_crash.c — a forked writer is killed with SIGKILL at random
 * moments, 100 rounds: every acknowledged entry survives intact, nothing
 * half-written is read back, the term never goes back. */
/* cmocka.h needs these three first. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "test_wal_util.h"
#include "wal_format.h"

#define ROUNDS 100
#define MAXLEN 2000u
#define SEED   11u

#define MAX_INDEX (1u << 20)

/* Shared between the parent and the killed child. */
struct shared {
	_Atomic uint64_t acked_index; /* the log up to here is durable */
	_Atomic uint64_t acked_term;  /* highest term whose save returned */
	_Atomic uint64_t submitted;   /* highest index ever submitted */
	_Atomic uint64_t truncations; /* overwrites done by the children */
	_Atomic uint64_t term_of[MAX_INDEX]; /* term last submitted for i */
};

/* Submit @k entries from @first with @term (overwriting from @first if it
 * is not past the end: a Raft truncation). */
static void child_submit(struct wal *w, struct shared *sh, uint64_t first,
			 uint32_t k, uint64_t term)
{
	static uint8_t buf[16][MAXLEN];
	struct raft_entry e[16];
	if (first <= atomic_load(&sh->acked_index)) {
		/* From now on the old entries >= first are not promised. */
		atomic_store(&sh->acked_index, first - 1);
	}
	for (uint32_t i = 0; i < k; i++) {
		e[i] = (struct raft_entry){
		    .term = term,
		    .index = first + i,
		    .type = RAFT_ENTRY_NORMAL,
		    .len = tw_len(SEED, first + i, MAXLEN),
		    .buf = buf[i],
		};
		tw_fill(SEED, first + i, buf[i], e[i].len);
		atomic_store(&sh->term_of[first + i], term);
	}
	if (first + k - 1 > atomic_load(&sh->submitted)) {
		atomic_store(&sh->submitted, first + k - 1);
	}
	if (wal_submit(w, e, k) != 0) {
		_exit(4);
	}
}

/* Wait until everything submitted is durable; publish it. */
static void child_wait(struct wal *w, struct shared *sh, uint64_t last)
{
	struct pollfd p = {.fd = wal_event_fd(w), .events = POLLIN};
	raft_index di;
	raft_term dt;
	uint64_t cnt;
	do {
		if (poll(&p, 1, 1000) < 0 ||
		    (read(p.fd, &cnt, sizeof(cnt)) < 0 && 0) ||
		    wal_durable(w, &di, &dt) != 0) {
			_exit(5);
		}
	} while (di < last);
	atomic_store(&sh->acked_index, di);
}

static void child_run(const char *dir, struct shared *sh, uint64_t round,
		      uint64_t rnd)
{
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	char err[FR_ERRMSG_SIZE];

	tw_options(&o, dir);
	o.segment_bytes = 32 * 1024;
	o.direct_io = (round % 3 == 2) ? WAL_DIRECT_OFF : WAL_DIRECT_AUTO;
	if (wal_open(&w, &o, &rec, err) != 0) {
		fprintf(stderr, "child: wal_open: %s\n", err);
		_exit(3);
	}
	uint64_t next = 1, term = rec.term, eterm = 1;
	/* What this start recovered is the log now (recovery made it
	 * durable): unacknowledged submits of the killed writer that did
	 * not survive are forgotten. */
	for (uint32_t i = 0; i < rec.n_entries; i++) {
		atomic_store(&sh->term_of[rec.entries[i].index],
			     rec.entries[i].term);
	}
	atomic_store(&sh->acked_index, rec.n_entries);
	if (rec.n_entries > 0) {
		next = rec.entries[rec.n_entries - 1].index + 1;
		eterm = rec.entries[rec.n_entries - 1].term + 1;
	}
	wal_recovered_release(w);
	for (uint64_t chunk = 0;; chunk++) {
		rnd = tw_mix(rnd);
		uint32_t k = 1 + (uint32_t)(rnd % 16);
		uint64_t first = next;
		if (chunk % 10 == 9 && next > 2) { /* overwrite a suffix */
			uint64_t back = 1 + (rnd >> 8) % 24;
			first = back < next - 1 ? next - back : 1;
			eterm++;
			atomic_fetch_add(&sh->truncations, 1);
		}
		if (first + k >= MAX_INDEX) {
			pause();
		}
		child_submit(w, sh, first, k, eterm);
		next = first + k;
		if (chunk % 4 == 3) {
			child_wait(w, sh, next - 1);
		}
		if (chunk % 25 == 24) {
			term++;
			if (wal_hardstate_save(w, term, 1) != 0) {
				_exit(6);
			}
			atomic_store(&sh->acked_term, term);
		}
	}
}

/* The newest segment's tail slot claim (0: none).  The writer writes it
 * only after its batch's write returned, so a kill (no power cut) never
 * leaves it claiming more than the log holds: a claim beyond the recovered
 * log would put the node in the recovering state after a mere kill -9. */
static uint64_t slot_claim(const char *dir)
{
	char best[64] = "", p[300];
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 24 &&
		    strcmp(de->d_name + 20, ".seg") == 0 &&
		    strcmp(de->d_name, best) > 0) {
			memcpy(best, de->d_name, 25); /* 24 and the NUL */
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	if (best[0] == '\0') {
		return 0;
	}
	static uint8_t blk[WAL_SEG_HDR_BYTES];
	struct wal_seg_hdr h;
	struct wal_slot sl;
	const char *why = "";
	snprintf(p, sizeof(p), "%.200s/%s", dir, best);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, blk, sizeof(blk), 0), (ssize_t)sizeof(blk));
	close(fd);
	assert_int_equal(wal__seg_hdr_decode(&h, blk, &why), 0);
	int st = wal__slot_decode(&sl, blk, &h, &why);
	assert_true(st != WAL_SLOT_BAD);
	return sl.index;
}

/* Open the log as the next start would and check it. */
static void verify(const char *dir, struct shared *sh, uint64_t round)
{
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	char err[FR_ERRMSG_SIZE];

	tw_options(&o, dir);
	o.segment_bytes = 32 * 1024;
	uint64_t claim = slot_claim(dir);
	int rv = wal_open(&w, &o, &rec, err);
	if (rv != 0) {
		fail_msg("round %llu: wal_open: %s: %s",
			 (unsigned long long)round, fr_strerror(rv), err);
	}
	uint64_t acked = atomic_load(&sh->acked_index);
	uint64_t submitted = atomic_load(&sh->submitted);
	if (rec.n_entries < acked || rec.n_entries > submitted) {
		fail_msg("round %llu: recovered %u entries, acked %llu, "
			 "submitted %llu",
			 (unsigned long long)round, rec.n_entries,
			 (unsigned long long)acked,
			 (unsigned long long)submitted);
	}
	for (uint32_t i = 0; i < rec.n_entries; i++) {
		const struct raft_entry *e = &rec.entries[i];
		assert_int_equal(e->index, i + 1);
		assert_true(tw_check(SEED, e, MAXLEN));
		assert_true(i == 0 || e->term >= rec.entries[i - 1].term);
		if (e->index <= acked &&
		    e->term != atomic_load(&sh->term_of[e->index])) {
			fail_msg("round %llu: entry %llu has term %llu, the "
				 "acknowledged one has %llu (acked %llu, n %u)",
				 (unsigned long long)round,
				 (unsigned long long)e->index,
				 (unsigned long long)e->term,
				 (unsigned long long)atomic_load(
				     &sh->term_of[e->index]),
				 (unsigned long long)acked, rec.n_entries);
		}
	}
	assert_true(rec.term >= atomic_load(&sh->acked_term));
	if (claim > rec.n_entries) {
		fail_msg("round %llu: the tail slot claims entry %llu, the "
			 "log ends at %u after a kill",
			 (unsigned long long)round, (unsigned long long)claim,
			 rec.n_entries);
	}
	wal_close(w);
}

static void test_sigkill_rounds(void **state)
{
	(void)state;
	char dir[64];
	uint64_t seed = 1;
	if (getenv("WAL_CRASH_SEED") != NULL) {
		seed = strtoull(getenv("WAL_CRASH_SEED"), NULL, 0);
	}
	print_message("seed %llu (replay with WAL_CRASH_SEED)\n",
		      (unsigned long long)seed);
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	tw_mkdtemp(dir, sizeof(dir), "wal-crash");
	uint64_t rnd = seed;
	unsigned torn_rounds = 0;
	for (uint64_t round = 0; round < ROUNDS; round++) {
		if (round % 20 == 0) { /* keep the log small: start over */
			tw_rmrf(dir);
			memset(sh, 0, sizeof(*sh));
		}
		rnd = tw_mix(rnd + round);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			child_run(dir, sh, round, rnd);
		}
		struct timespec ts = {0, (long)(rnd % 30000) * 1000};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status)) {
			fail_msg("round %llu: child exited with %d (seed %llu)",
				 (unsigned long long)round, WEXITSTATUS(status),
				 (unsigned long long)seed);
		}
		/* Every third round the next child recovers by itself (and
		 * may be killed while repairing a torn tail). */
		if (round % 3 != 1) {
			unsigned before = tw_torn_logs;
			verify(dir, sh, round);
			torn_rounds += tw_torn_logs != before;
		}
	}
	print_message("%d rounds, %u verifications saw a torn tail, "
		      "%llu entries acked in the last log, %llu overwrites in "
		      "the last log\n",
		      ROUNDS, torn_rounds,
		      (unsigned long long)atomic_load(&sh->acked_index),
		      (unsigned long long)atomic_load(&sh->truncations));
	tw_rmrf(dir);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sigkill_rounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
