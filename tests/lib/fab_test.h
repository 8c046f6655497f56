/* fab_test.h — small helpers shared by the fabric tests (fab_mp.c,
 * test_fab_pair.c) and the fabric bench (tools/bench/bench_fabric.c): a
 * monotonic clock in ms, a free loopback port, and a stderr log sink. */
#ifndef FABRAFT_FAB_TEST_H
#define FABRAFT_FAB_TEST_H

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

static inline uint64_t fab_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A TCP port on 127.0.0.1 that was free a moment ago (0 if none). */
static inline uint16_t fab_test_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0) {
		port = ntohs(a.sin_port);
	}
	if (s >= 0) {
		close(s);
	}
	return port;
}

static inline void fab_test_log_line(void *ctx, int level, const char *tag,
				     const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s: %s: %s\n", fr_log_level_name(level),
		tag != NULL ? tag : "-", line);
}

/* Log to stderr: info and above, debug too with FAB_DEBUG set. */
static inline void fab_test_log_init(void)
{
	fr_log_set(fab_test_log_line, NULL,
		   getenv("FAB_DEBUG") != NULL ? FR_LOG_DEBUG : FR_LOG_INFO);
}

#endif /* FABRAFT_FAB_TEST_H */
