/* redis.c — a fresh redis-server (appendonly yes,
 * appendfsync always) for one benchmark cell: the single-node reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cluster.h"
#include "resp_client.h"

int bc_redis_start(const struct bc_spec *s, const char *root,
		   struct bc_server *sv, char *err, size_t cap)
{
	char port[16];
	char log[600];
	char *argv[] = {"redis-server",
			"--bind",
			"127.0.0.1",
			"--port",
			port,
			"--dir",
			sv->dir,
			"--appendonly",
			"yes",
			"--appendfsync",
			"always",
			"--save",
			"",
			"--protected-mode",
			"no",
			NULL};
	uint64_t t0;
	int base;

	(void)s;
	memset(sv, 0, sizeof(*sv));
	argv[6] = sv->dir;
	sv->sys = BC_REDIS;
	sv->n = 1;
	snprintf(sv->dir, sizeof(sv->dir), "%s/redis.XXXXXX", root);
	base = bc_ports(1);
	if (mkdtemp(sv->dir) == NULL || base < 0) {
		snprintf(err, cap, "no temp dir or free port");
		return -1;
	}
	sv->client_port[0] = base;
	snprintf(port, sizeof(port), "%d", base);
	snprintf(log, sizeof(log), "%s/redis.log", sv->dir);
	sv->pid[0] = bc_spawn(argv, log);
	if (sv->pid[0] < 0) {
		snprintf(err, cap, "cannot start redis-server");
		return -1;
	}
	for (t0 = bc_now_ns(); bc_now_ns() - t0 < 10000000000ull;) {
		const char *ping[] = {"PING"};
		struct respc_conn c;
		struct respc_reply r;
		char addr[32];
		bool ok = false;

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", base);
		if (respc_connect(&c, addr, 300) == 0 &&
		    respc_command(&c, &r, 1, ping) == 0) {
			ok = r.type == '+';
			respc_reply_free(&r);
		}
		respc_close(&c);
		if (ok) {
			return 0;
		}
		if (!bc_running(sv->pid[0]) || bc_stop) {
			break;
		}
		bc_sleep_ms(20);
	}
	snprintf(err, cap, "redis-server did not answer PING (%s)", sv->dir);
	return -1;
}
