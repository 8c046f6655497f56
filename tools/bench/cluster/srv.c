/* srv.c — what every store of the cluster benchmark shares:
 * stop, CPU time, peer bytes from its metrics page. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"

int bc_server_stop(struct bc_server *sv, bool keep)
{
	/* An etcd member whose peers stopped first keeps trying to reach
	 * them for seconds; its data is thrown away, so 2 s is enough. */
	int grace_ms = sv->sys == BC_ETCD ? 2000 : 5000;
	int killed = 0;

	/* All at once: an etcd member whose peers are gone may wait for
	 * them before it exits. */
	for (int i = 0; i < sv->n; i++) {
		if (sv->pid[i] > 0) {
			kill(-sv->pid[i], SIGTERM);
		}
	}
	for (int i = 0; i < sv->n; i++) {
		if (sv->pid[i] > 0) {
			killed += bc_reap(sv->pid[i], grace_ms);
			sv->pid[i] = 0;
		}
	}
	if (!keep && sv->dir[0] != '\0') {
		bc_rmtree(sv->dir);
	}
	return killed;
}

double bc_server_cpu_s(const struct bc_server *sv)
{
	double sum = 0;

	for (int i = 0; i < sv->n; i++) {
		double c = bc_proc_cpu_s(sv->pid[i]);

		sum += c > 0 ? c : 0;
	}
	return sum;
}

/* Sum of @metric over the metrics pages of @sv's processes. */
static bool counter(const struct bc_server *sv, const char *metric,
		    uint64_t *out)
{
	double sum = 0;

	for (int i = 0; i < sv->n; i++) {
		int port = sv->sys == BC_FABRAFT ? sv->metrics_port[i]
						 : sv->client_port[i];
		char *page = bc_http_get(port, "/metrics", 2000);

		if (page == NULL) {
			return false;
		}
		sum += bc_prom_sum(page, metric);
		free(page);
	}
	*out = (uint64_t)sum;
	return true;
}

/* One counter summed over the members: fabraft's metric or etcd's (redis
 * has none of these). */
static bool fab_or_etcd(const struct bc_server *sv, const char *fab_metric,
			const char *etcd_metric, uint64_t *out)
{
	if (sv->sys == BC_REDIS) {
		return false;
	}
	return counter(sv, sv->sys == BC_FABRAFT ? fab_metric : etcd_metric,
		       out);
}

bool bc_server_peer_bytes(const struct bc_server *sv, uint64_t *bytes)
{
	/* fabraft: frames and ring batches sent to peers (both paths);
	 * etcd: rafthttp's bytes sent to peers. */
	return fab_or_etcd(sv, "fabraft_replicated_bytes_total",
			   "etcd_network_peer_sent_bytes_total", bytes);
}

bool bc_server_fsyncs(const struct bc_server *sv, uint64_t *fsyncs)
{
	/* Log fsyncs of every member: the group commit, made visible. */
	return fab_or_etcd(sv, "fabraft_wal_fsyncs_total",
			   "etcd_disk_wal_fsync_duration_seconds_count",
			   fsyncs);
}
