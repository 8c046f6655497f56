/* node_fds.c — file descriptors: how many clients the open-file limit
 * leaves room for once the log, snapshots and peers have their share. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "node_int.h"

/*
 * Design notes
 * ============
 * Every part of the node takes descriptors from one per-process limit
 * (RLIMIT_NOFILE).  Clients are the only part that outsiders can grow at
 * will, so they get what is left after a reserve; then a client flood can
 * only be refused at the RESP port ("-ERR max number of clients reached"),
 * never make the log fail to open a segment (which stops the node).
 *
 * Descriptors still to be opened after start-up, at most at once:
 *   log         current and next segment, the spare being prepared, a
 *               temporary file, directory fsyncs, hard state: 8
 *   snapshots   writer, reader for a follower, directory: 4
 *   start-up    opened after the count: the RESP listener, its epoll and
 *               spare descriptor, the loop's epoll, timerfd, signalfd,
 *               the metrics listener: 7, say 8
 *   runtime     forwarding socket, metrics connection, getaddrinfo and
 *               hwloc reads: 4
 *   slack       libraries (libfabric's providers open event fds and
 *               sockets on their own schedule): 16
 *   peers       per other peer, sockets and event fds as connections come
 *               and go (tcp opens one each way, reconnects overlap): 8
 * Descriptors open now (counted in /proc/self/fd) are subtracted as well.
 */

#define FDS_RESERVE_FIXED    40u
#define FDS_RESERVE_PER_PEER 8u
/* When /proc is missing: a generous guess at what start-up opened. */
#define FDS_OPEN_GUESS 64u

/* Descriptors open now, or FDS_OPEN_GUESS if /proc cannot tell. */
static uint64_t fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	uint64_t n = 0;

	if (d == NULL) {
		return FDS_OPEN_GUESS;
	}
	for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own */
}

/* Raise the soft limit toward the hard one if @want needs it (as Redis'
 * adjustOpenFilesLimit does); returns the soft limit in force. */
static uint64_t soft_limit(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return FDS_OPEN_GUESS * 2; /* cannot tell: stay small */
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want &&
	    (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rl.rlim_cur)) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
				  ? want
				  : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
			fr_log(FR_LOG_INFO, NULL,
			       "open-file limit raised from %" PRIu64
			       " to %" PRIu64,
			       (uint64_t)rl.rlim_cur, (uint64_t)up.rlim_cur);
			rl = up;
		}
	}
	return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
}

int node__fd_budget(const struct node_options *o, uint32_t *clients_max,
		    char *errmsg)
{
	uint64_t open_now = fds_open();
	uint64_t reserve =
	    FDS_RESERVE_FIXED +
	    FDS_RESERVE_PER_PEER * (o->n_peers > 0 ? o->n_peers - 1 : 0);
	uint64_t limit = soft_limit(open_now + reserve + o->clients_max);
	uint64_t room =
	    limit > open_now + reserve ? limit - open_now - reserve : 0;

	if (room == 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "open-file limit %" PRIu64 " too low: %" PRIu64
			 " descriptors open and %" PRIu64
			 " kept for the log, snapshots and peers leave none "
			 "for clients (raise ulimit -n)",
			 limit, open_now, reserve);
		return FR_IO;
	}
	*clients_max = room < o->clients_max ? (uint32_t)room : o->clients_max;
	fr_log(*clients_max < o->clients_max ? FR_LOG_WARN : FR_LOG_INFO, NULL,
	       "clients: at most %u (--max-clients %u; open-file limit "
	       "%" PRIu64 ": %" PRIu64 " open, %" PRIu64
	       " kept for the log, snapshots and peers)",
	       *clients_max, o->clients_max, limit, open_now, reserve);
	return 0;
}
