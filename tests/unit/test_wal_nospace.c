/* test_wal_nospace.c — running out of space: the append fails with a clear
 * error, the wal refuses further writes (sticky), and nothing acknowledged
 * is lost.  Two ways: RLIMIT_FSIZE (always possible) and a small tmpfs in a
 * private mount namespace (skipped with the reason where forbidden). */
/* cmocka.h needs these three first. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_wal_util.h"

#define SEED   31u
#define MAXLEN 1500u

struct shared {
	_Atomic uint64_t acked; /* last index whose append returned 0 */
	_Atomic int fail_rv;	/* the error the failing append returned */
	_Atomic int sticky_ok;	/* later calls failed with the same error */
	char errmsg[FR_ERRMSG_SIZE];
};

static struct shared *shared_new(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	return sh;
}

static int append_one(struct wal *w, uint64_t i)
{
	static uint8_t buf[MAXLEN];
	struct raft_entry e = {.term = 1,
			       .index = i,
			       .type = 1,
			       .len = tw_len(SEED, i, MAXLEN),
			       .buf = buf};
	tw_fill(SEED, i, buf, e.len);
	return wal_append(w, &e, 1);
}

/* Append until an append fails; record what happened.  @limit_at: index
 * after which RLIMIT_FSIZE is lowered (0: never). */
static int fill_until_full(const char *dir, struct shared *sh,
			   uint64_t limit_at, rlim_t limit)
{
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	char err[FR_ERRMSG_SIZE];
	tw_options(&o, dir);
	if (wal_open(&w, &o, &rec, err) != 0) {
		fprintf(stderr, "wal_open: %s\n", err);
		return 2;
	}
	int rv = 0;
	uint64_t i;
	for (i = 1; i < 20000; i++) {
		if (i == limit_at) {
			struct rlimit rl = {limit, limit};
			signal(SIGXFSZ, SIG_IGN);
			if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
				return 3;
			}
		}
		if ((rv = append_one(w, i)) != 0) {
			break;
		}
		atomic_store(&sh->acked, i);
	}
	atomic_store(&sh->fail_rv, rv);
	snprintf(sh->errmsg, sizeof(sh->errmsg), "%s", wal_errmsg(w));
	raft_index di;
	raft_term dt;
	int sticky = append_one(w, i) == rv && wal_durable(w, &di, &dt) == rv &&
		     wal_hardstate_save(w, 5, 1) == rv && di == i - 1;
	atomic_store(&sh->sticky_ok, sticky);
	wal_close(w); /* must not hang or write on a failed wal */
	return 0;
}

static void verify(const char *dir, struct shared *sh)
{
	struct wal_options o;
	struct wal_recovered rec;
	struct wal *w;
	char err[FR_ERRMSG_SIZE];
	tw_options(&o, dir);
	int rv = wal_open(&w, &o, &rec, err);
	if (rv != 0) {
		fail_msg("reopen after running out of space: %s", err);
	}
	uint64_t acked = atomic_load(&sh->acked);
	assert_true(rec.n_entries >= acked);
	for (uint32_t i = 0; i < rec.n_entries; i++) {
		assert_int_equal(rec.entries[i].index, i + 1);
		assert_true(tw_check(SEED, &rec.entries[i], MAXLEN));
	}
	print_message("acked %llu, recovered %u; the failing append said: %s\n",
		      (unsigned long long)acked, rec.n_entries, sh->errmsg);
	wal_close(w);
}

static void test_rlimit_fsize(void **state)
{
	(void)state;
	char dir[64];
	struct shared *sh = shared_new();
	tw_mkdtemp(dir, sizeof(dir), "wal-nospace");
	pid_t pid = fork();
	if (pid == 0) {
		/* Segments are 64 KiB; entry 20 lands near 20 KiB; from
		 * then on no write may reach past 40 KiB of any file. */
		_exit(fill_until_full(dir, sh, 20, 40 * 1024));
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(atomic_load(&sh->fail_rv), FR_NOSPACE);
	assert_true(atomic_load(&sh->sticky_ok));
	assert_true(atomic_load(&sh->acked) >= 19);
	assert_non_null(strstr(sh->errmsg, "wal-"));
	verify(dir, sh);
	tw_rmrf(dir);
	munmap(sh, sizeof(*sh));
}

/* In a private mount namespace: a 256 KiB tmpfs.  Exit codes: 0 ok,
 * 77 setup forbidden (reason on stderr), other: failure. */
static int tmpfs_child(const char *dir, struct shared *sh)
{
	if (unshare(CLONE_NEWNS) != 0 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		fprintf(stderr, "unshare: %s\n", strerror(errno));
		return 77;
	}
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
		fprintf(stderr, "mount tmpfs: %s\n", strerror(errno));
		return 77;
	}
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/data", dir);
	pid_t pid = fork();
	if (pid == 0) {
		_exit(fill_until_full(sub, sh, 0, 0));
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		return 4;
	}
	if (atomic_load(&sh->fail_rv) != FR_NOSPACE ||
	    !atomic_load(&sh->sticky_ok)) {
		return 5;
	}
	verify(sub, sh); /* the tmpfs lives only in this namespace */
	umount(dir);
	return 0;
}

static void test_tmpfs_full(void **state)
{
	(void)state;
	char dir[64];
	struct shared *sh = shared_new();
	tw_mkdtemp(dir, sizeof(dir), "wal-tmpfs");
	pid_t pid = fork();
	if (pid == 0) {
		_exit(tmpfs_child(dir, sh));
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	tw_rmrf(dir);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		print_message("SKIP tmpfs: no private mount namespace here\n");
		munmap(sh, sizeof(*sh));
		skip();
	}
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(atomic_load(&sh->acked) > 0);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rlimit_fsize),
	    cmocka_unit_test(test_tmpfs_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
