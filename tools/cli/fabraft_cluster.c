/* fabraft_cluster.c — local clusters for the CLI: configs, start, stop,
 * leader discovery, request routing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fabraft_cli.h"
#include "fabraft_secret.h"

char cl_password[128];
char cl_admin_password[128];
bool cl_use_admin;

struct fabraft_client *cl_client(char (*addrs)[80], int n, bool discover,
				 int deadline_ms)
{
	/* The admin password passes requirepass too (fabraftd --admin-pass). */
	const char *pw = cl_use_admin && cl_admin_password[0] != '\0'
			     ? cl_admin_password
			     : cl_password;
	struct fabraft_options o;
	struct fabraft_client *c;
	char eps[CL_NODES_MAX * 81];
	char err[256];

	eps[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t l = strlen(eps);

		snprintf(eps + l, sizeof(eps) - l, "%s%s", i ? "," : "",
			 addrs[i]);
	}
	fabraft_options_default(&o);
	o.endpoints = eps;
	o.password = pw[0] != '\0' ? pw : NULL;
	o.discover_leader = discover;
	o.deadline_ms = deadline_ms;
	o.connect_timeout_ms = deadline_ms < 1000 ? deadline_ms : 1000;
	if (fabraft_open(&c, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "fabraft: %s\n", err);
		return NULL;
	}
	return c;
}

/* The requirepass and admin-pass of node 1's config in @dir, into
 * cl_password and cl_admin_password (unless already given). */
static void password_from(const char *dir)
{
	char path[512];
	char line[256];
	bool have_pw = cl_password[0] != '\0';
	bool have_admin = cl_admin_password[0] != '\0';
	FILE *f;

	if (have_pw && have_admin) {
		return;
	}
	snprintf(path, sizeof(path), "%s/node1.conf", dir);
	f = fopen(path, "r");
	if (f == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char pw[128];

		if (!have_pw && sscanf(line, " requirepass = %127s", pw) == 1) {
			snprintf(cl_password, sizeof(cl_password), "%s", pw);
		}
		if (!have_admin &&
		    sscanf(line, " admin-pass = %127s", pw) == 1) {
			snprintf(cl_admin_password, sizeof(cl_admin_password),
				 "%s", pw);
		}
	}
	fclose(f);
}

uint64_t cl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int cl_load(const char *dir, struct cl *c)
{
	char path[512];
	char line[256];
	FILE *f;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/cluster.conf", dir);
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "fabraft: %s: %s (not a cluster directory?)\n",
			path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL && c->n < CL_NODES_MAX) {
		int id;
		char addr[80];

		if (sscanf(line, "node %d %79s", &id, addr) == 2) {
			c->id[c->n] = id;
			snprintf(c->client[c->n], sizeof(c->client[0]), "%s",
				 addr);
			c->n++;
		}
	}
	fclose(f);
	if (c->n == 0) {
		fprintf(stderr, "fabraft: %s lists no nodes\n", path);
		return -1;
	}
	password_from(dir);
	return 0;
}

/* fabraftd next to this program, else from PATH. */
static void daemon_path(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (k > 0) {
		char *slash;

		self[k] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(out, cap, "%.4000s/fabraftd", self);
			if (access(out, X_OK) == 0) {
				return;
			}
		}
	}
	snprintf(out, cap, "fabraftd");
}

/* Alive and not a zombie (an exited daemon whose parent, gone, left it to
 * a reaper that has not waited yet). */
static bool running(pid_t pid)
{
	char path[64];
	char buf[256];
	char *rp;
	FILE *f;
	bool alive = false;

	if (kill(pid, 0) != 0) {
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return false;
	}
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (rp = strrchr(buf, ')')) != NULL && rp[1] == ' ') {
		alive = rp[2] != 'Z' && rp[2] != 'X';
	}
	fclose(f);
	return alive;
}

int cl_start_node(const struct cl *c, int i)
{
	char exe[PATH_MAX + 16];
	char conf[512];
	char log[512];
	char pidf[512];
	pid_t pid;
	FILE *f;

	daemon_path(exe, sizeof(exe));
	snprintf(conf, sizeof(conf), "%s/node%d.conf", c->dir, c->id[i]);
	snprintf(log, sizeof(log), "%s/node%d.log", c->dir, c->id[i]);
	snprintf(pidf, sizeof(pidf), "%s/node%d.pid", c->dir, c->id[i]);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fabraft: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd =
		    open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY);

		setsid();
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0) {
			dup2(nul, 0);
		}
		/* The KV-cache tables on transparent huge pages (glibc's
		 * malloc marks its big mappings MADV_HUGEPAGE): fewer TLB
		 * misses on random table probes (docs/benchmarks.md). */
		if (getenv("GLIBC_TUNABLES") == NULL) {
			setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
		}
		execlp(exe, exe, "--config", conf, (char *)NULL);
		fprintf(stderr, "fabraft: exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	f = fopen(pidf, "w");
	if (f == NULL) {
		return -1;
	}
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	return 0;
}

pid_t cl_pid(const struct cl *c, int i)
{
	char pidf[512];
	FILE *f;
	int pid = -1;

	snprintf(pidf, sizeof(pidf), "%s/node%d.pid", c->dir, c->id[i]);
	f = fopen(pidf, "r");
	if (f == NULL) {
		return -1;
	}
	if (fscanf(f, "%d", &pid) != 1) {
		pid = -1;
	}
	fclose(f);
	return pid;
}

static int write_configs(const struct cl_start_opts *o, struct cl *c)
{
	char peers[1024] = "";
	char cpeers[1024] = "";
	char path[512];
	uint64_t cid = ((uint64_t)getpid() << 20) ^ cl_now_ms();
	FILE *f;

	for (int i = 0; i < o->nodes; i++) {
		size_t l = strlen(peers);
		size_t m = strlen(cpeers);

		snprintf(peers + l, sizeof(peers) - l, "%s%d=127.0.0.1:%d",
			 i ? "," : "", i + 1, o->raft_base + i);
		snprintf(cpeers + m, sizeof(cpeers) - m, "%s%d=127.0.0.1:%d",
			 i ? "," : "", i + 1, o->client_base + i);
		c->id[i] = i + 1;
		snprintf(c->client[i], sizeof(c->client[0]), "127.0.0.1:%d",
			 o->client_base + i);
	}
	c->n = o->nodes;
	for (int i = 0; i < o->nodes; i++) {
		snprintf(path, sizeof(path), "%s/node%d.conf", o->dir, i + 1);
		f = fopen(path, "w");
		if (f == NULL) {
			fprintf(stderr, "fabraft: %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		fprintf(f,
			"# fabraftd config written by `fabraft cluster "
			"start`\nid = %d\npeers = %s\nclient = %s\n"
			"client-peers = %s\ndata-dir = %s/data%d\n"
			"provider = %s\nfsync = %s\ncluster-id = %llu\n"
			"secret-file = %s/secret\n",
			i + 1, peers, c->client[i], cpeers, o->dir, i + 1,
			o->provider, o->fsync ? "on" : "off",
			(unsigned long long)(cid | 1), o->dir);
		if (o->read_mode != NULL) {
			fprintf(f, "read-mode = %s\n", o->read_mode);
		}
		if (o->voters > 0 && o->voters < o->nodes) {
			fprintf(f, "initial-voters = ");
			for (int k = 1; k <= o->voters; k++) {
				fprintf(f, "%s%d", k > 1 ? "," : "", k);
			}
			fprintf(f, "\n");
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/cluster.conf", o->dir);
	f = fopen(path, "w");
	if (f == NULL) {
		return -1;
	}
	for (int i = 0; i < o->nodes; i++) {
		fprintf(f, "node %d %s\n", i + 1, c->client[i]);
	}
	fclose(f);
	return 0;
}

int cl_start(const struct cl_start_opts *o, struct cl *c)
{
	char abs[PATH_MAX];
	int leader;

	memset(c, 0, sizeof(*c));
	if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "fabraft: mkdir %s: %s\n", o->dir,
			strerror(errno));
		return -1;
	}
	if (realpath(o->dir, abs) == NULL || strlen(abs) >= sizeof(c->dir)) {
		fprintf(stderr, "fabraft: %s: bad directory\n", o->dir);
		return -1;
	}
	memcpy(c->dir, abs, strlen(abs) + 1);
	struct cl_start_opts oo = *o;
	char conf[PATH_MAX + 32];
	char secret[PATH_MAX + 32];

	oo.dir = c->dir;
	snprintf(conf, sizeof(conf), "%s/cluster.conf", c->dir);
	snprintf(secret, sizeof(secret), "%s/secret", c->dir);
	if (access(conf, R_OK) == 0) {
		/* An existing cluster: start it again as configured (a new
		 * config would carry a new cluster id, which the data
		 * directories would refuse). */
		if (cl_load(abs, c) != 0) {
			return -1;
		}
		if (!o->quiet) {
			printf("resuming the cluster configured in %s\n",
			       c->dir);
		}
	} else if (cl_secret_write(secret) != 0 || write_configs(&oo, c) != 0) {
		fprintf(stderr, "fabraft: cannot write configs in %s\n",
			c->dir);
		return -1;
	}
	for (int i = 0; i < c->n; i++) {
		pid_t pid = cl_pid(c, i);

		if (pid > 0 && running(pid)) {
			continue; /* still running */
		}
		if (cl_start_node(c, i) != 0) {
			return -1;
		}
	}
	leader = cl_leader(c, 10000, -1);
	if (leader < 0) {
		fprintf(stderr,
			"fabraft: no leader after 10 s; see %s/node*.log\n",
			c->dir);
		return -1;
	}
	/* Wait (a little) until every node knows the leader, so that a
	 * command sent to any node right after this returns is served. */
	for (uint64_t t0 = cl_now_ms(); cl_now_ms() - t0 < 5000;) {
		int know = 0;

		for (int i = 0; i < c->n; i++) {
			char *info = cl_info(c->client[i], 200);
			char lid[16] = "";

			if (info != NULL) {
				fabraft_info_field(info, "leader_id", lid,
						   sizeof(lid));
				fr_free(info);
			}
			know += lid[0] != '\0' && strcmp(lid, "0") != 0;
		}
		if (know == c->n) {
			break;
		}
		sleep_ms(20);
	}
	if (!o->quiet) {
		printf("started %d nodes in %s\n", c->n, c->dir);
		for (int i = 0; i < c->n; i++) {
			printf("  node %d: redis-cli -h 127.0.0.1 -p %s%s   "
			       "(log %s/node%d.log)\n",
			       c->id[i], strchr(c->client[i], ':') + 1,
			       i == leader ? "  [leader]" : "", c->dir,
			       c->id[i]);
		}
		printf("status: fabraft status --dir %s\n"
		       "stop:   fabraft cluster stop --dir %s\n",
		       o->dir, o->dir);
	}
	return 0;
}

int cl_stop(const struct cl *c)
{
	int rv = 0;

	for (int i = 0; i < c->n; i++) {
		pid_t pid = cl_pid(c, i);
		char pidf[512];
		uint64_t t0;

		if (pid <= 0) {
			continue;
		}
		snprintf(pidf, sizeof(pidf), "%s/node%d.pid", c->dir, c->id[i]);
		if (kill(pid, SIGTERM) != 0) {
			unlink(pidf); /* already gone */
			continue;
		}
		t0 = cl_now_ms();
		while (running(pid) && cl_now_ms() - t0 < 5000) {
			waitpid(pid, NULL, WNOHANG);
			sleep_ms(20);
		}
		if (running(pid)) {
			fprintf(stderr,
				"fabraft: node %d (pid %d) ignored SIGTERM; "
				"killing\n",
				c->id[i], (int)pid);
			kill(pid, SIGKILL);
			rv = -1;
		}
		unlink(pidf);
	}
	return rv;
}

char *cl_info(const char *addr, int timeout_ms)
{
	char a[1][80];
	struct fabraft_client *c;
	char *s = NULL;

	snprintf(a[0], sizeof(a[0]), "%s", addr);
	c = cl_client(a, 1, false, timeout_ms);
	if (c == NULL) {
		return NULL;
	}
	if (fabraft_info(c, NULL, &s) != 0) {
		s = NULL;
	}
	fabraft_close(c);
	return s;
}

int cl_leader(const struct cl *c, int timeout_ms, int skip)
{
	uint64_t t0 = cl_now_ms();

	do {
		for (int i = 0; i < c->n; i++) {
			char role[32];
			char *info;

			if (i == skip) {
				continue;
			}
			info = cl_info(c->client[i], 200);
			if (info == NULL) {
				continue;
			}
			fabraft_info_field(info, "role", role, sizeof(role));
			fr_free(info);
			if (strcmp(role, "leader") == 0) {
				return i;
			}
		}
		sleep_ms(20);
	} while (cl_now_ms() - t0 < (uint64_t)timeout_ms);
	return -1;
}

int cl_route(char (*addrs)[80], int n, int argc, const char *const *argv,
	     struct fabraft_reply *r, int timeout_ms)
{
	struct fabraft_client *c = cl_client(addrs, n, true, timeout_ms);
	int rv;

	memset(r, 0, sizeof(*r));
	if (c == NULL) {
		return -1;
	}
	rv = fabraft_command(c, argc, argv, NULL, r);
	if (rv != 0) {
		fprintf(stderr, "fabraft: %s (%s)\n", fabraft_errmsg(c),
			fabraft_strerror(rv));
	}
	fabraft_close(c);
	return rv == 0 ? 0 : -1;
}
