/* etcd.c — a fresh 3-member etcd cluster on loopback for one
 * benchmark cell, with etcd's default durability (WAL fsync per batch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cluster.h"

/* The value of "@key":"..." in @json, copied into @out ("" if none). */
static void json_str(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = json != NULL ? strstr(json, pat) : NULL;
	if (p == NULL) {
		return;
	}
	p += strlen(pat);
	while (p[n] != '\0' && p[n] != '"' && n + 1 < cap) {
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
}

/* Each member healthy; the index of the one that says it leads. */
static int etcd_leader(struct bc_server *sv, int timeout_ms)
{
	uint64_t t0 = bc_now_ns();

	while (!bc_stop &&
	       bc_now_ns() - t0 < (uint64_t)timeout_ms * 1000000ull) {
		int healthy = 0;
		int leader = -1;

		for (int i = 0; i < sv->n; i++) {
			char *h =
			    bc_http_get(sv->client_port[i], "/health", 500);
			char *st =
			    bc_http_req(sv->client_port[i],
					"/v3/maintenance/status", "{}", 500);
			char me[32];
			char lead[32];

			healthy += h != NULL && strstr(h, "\"true\"") != NULL;
			json_str(st, "member_id", me, sizeof(me));
			json_str(st, "leader", lead, sizeof(lead));
			if (me[0] != '\0' && strcmp(me, lead) == 0) {
				leader = i;
			}
			free(h);
			free(st);
		}
		if (healthy == sv->n && leader >= 0) {
			return leader;
		}
		if (!bc_server_all_running(sv)) {
			return -1;
		}
		bc_sleep_ms(50);
	}
	return -1;
}

int bc_etcd_start(const struct bc_spec *s, const char *root,
		  struct bc_server *sv, char *err, size_t cap)
{
	char cluster[512] = "";
	int base;

	memset(sv, 0, sizeof(*sv));
	sv->sys = BC_ETCD;
	sv->n = s->nodes;
	snprintf(sv->dir, sizeof(sv->dir), "%s/etcd.XXXXXX", root);
	base = bc_ports(2 * sv->n);
	if (mkdtemp(sv->dir) == NULL || base < 0) {
		snprintf(err, cap, "no temp dir or free ports");
		return -1;
	}
	for (int i = 0; i < sv->n; i++) {
		size_t l = strlen(cluster);

		sv->client_port[i] = base + i;
		snprintf(cluster + l, sizeof(cluster) - l,
			 "%sm%d=http://127.0.0.1:%d", i ? "," : "", i + 1,
			 base + sv->n + i);
	}
	for (int i = 0; i < sv->n; i++) {
		char a[8][600];
		char log[600];

		snprintf(a[0], sizeof(a[0]), "m%d", i + 1);
		snprintf(a[1], sizeof(a[1]), "%s/m%d", sv->dir, i + 1);
		snprintf(a[2], sizeof(a[2]), "http://127.0.0.1:%d",
			 sv->client_port[i]);
		snprintf(a[3], sizeof(a[3]), "http://127.0.0.1:%d",
			 base + sv->n + i);
		snprintf(a[4], sizeof(a[4]), "bench-%d", base);
		/* One flag and its value a line. */
		/* clang-format off */
		char *argv[] = {"etcd",
				"--name", a[0],
				"--data-dir", a[1],
				"--listen-client-urls", a[2],
				"--advertise-client-urls", a[2],
				"--listen-peer-urls", a[3],
				"--initial-advertise-peer-urls", a[3],
				"--initial-cluster", cluster,
				"--initial-cluster-state", "new",
				"--initial-cluster-token", a[4],
				"--logger", "zap",
				"--log-level", "warn",
				NULL};
		/* clang-format on */

		snprintf(log, sizeof(log), "%s/m%d.log", sv->dir, i + 1);
		sv->pid[i] = bc_spawn(argv, log);
		if (sv->pid[i] < 0) {
			snprintf(err, cap, "cannot start etcd");
			return -1;
		}
	}
	sv->leader = etcd_leader(sv, 20000);
	if (sv->leader < 0) {
		snprintf(err, cap, "etcd: no healthy cluster after 20 s (%s)",
			 sv->dir);
		return -1;
	}
	return 0;
}
