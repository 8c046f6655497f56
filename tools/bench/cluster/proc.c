/* proc.c — server processes of the cluster benchmark: spawn
 * in own process groups, stop them all on exit and on SIGINT, CPU time. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_cluster.h"

volatile sig_atomic_t bc_stop;

/* Every live server process; slots of stopped ones are 0.  Written by the
 * main thread only; read by the signal handler. */
static volatile pid_t procs[BC_PROCS_MAX];

uint64_t bc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bc_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* First SIGINT/SIGTERM: stop after the current step, cleaning up on the
 * normal path.  A second one: kill every server group now and leave. */
static void on_signal(int sig)
{
	(void)sig;
	if (bc_stop) {
		for (int i = 0; i < BC_PROCS_MAX; i++) {
			if (procs[i] > 0) {
				kill(-procs[i], SIGKILL);
			}
		}
		_exit(130);
	}
	bc_stop = 1;
}

static void at_exit(void)
{
	int killed = bc_reap_all();

	if (killed > 0) {
		fprintf(stderr,
			"bench cluster: %d server(s) had to be "
			"killed at exit\n",
			killed);
	}
}

void bc_proc_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	atexit(at_exit);
}

pid_t bc_spawn(char *const argv[], const char *log_path)
{
	int slot = -1;
	pid_t pid;

	for (int i = 0; i < BC_PROCS_MAX; i++) {
		if (procs[i] == 0) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);

		/* Own group, so one kill(-pgid) reaches its children too;
		 * killed with this benchmark even if it is SIGKILLed. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1) {
			_exit(127); /* the parent already died */
		}
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0) {
			dup2(nul, 0);
		}
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* also here: whichever runs first */
	procs[slot] = pid;
	return pid;
}

bool bc_running(pid_t pid)
{
	int st;

	if (pid <= 0) {
		return false;
	}
	return waitpid(pid, &st, WNOHANG) == 0;
}

bool bc_server_all_running(const struct bc_server *sv)
{
	for (int i = 0; i < sv->n; i++) {
		if (!bc_running(sv->pid[i])) {
			return false;
		}
	}
	return true;
}

static void unregister(pid_t pid)
{
	for (int i = 0; i < BC_PROCS_MAX; i++) {
		if (procs[i] == pid) {
			procs[i] = 0;
		}
	}
}

int bc_reap(pid_t pid, int grace_ms)
{
	uint64_t t0 = bc_now_ns();
	int st;

	if (pid <= 0) {
		return 0;
	}
	kill(-pid, SIGTERM);
	while (bc_now_ns() - t0 < (uint64_t)grace_ms * 1000000ull) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno == ECHILD)) {
			kill(-pid, SIGKILL); /* stragglers of the group */
			unregister(pid);
			return 0;
		}
		bc_sleep_ms(10);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	unregister(pid);
	return 1;
}

int bc_reap_all(void)
{
	int killed = 0;

	for (int i = 0; i < BC_PROCS_MAX; i++) {
		if (procs[i] > 0) {
			killed += bc_reap(procs[i], 5000);
		}
	}
	return killed;
}

int bc_alive_count(void)
{
	int n = 0;

	for (int i = 0; i < BC_PROCS_MAX; i++) {
		if (procs[i] > 0 && kill(procs[i], 0) == 0) {
			n++;
		}
	}
	return n;
}

double bc_proc_cpu_s(pid_t pid)
{
	char path[64];
	char buf[1024];
	unsigned long ut = 0;
	unsigned long stime = 0;
	char *p;
	FILE *f;
	size_t k;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	k = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[k] = '\0';
	/* Fields after "(comm)": state is field 3; utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
				"%*u %lu %lu",
				&ut, &stime) != 2) {
		return -1;
	}
	return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

double bc_self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void bc_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
