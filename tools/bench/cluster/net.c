/* net.c — loopback helpers of the cluster benchmark: free
 * ports, a one-shot HTTP GET for metrics pages, Prometheus sums. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_cluster.h"

static bool port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0) {
		return false;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int bc_ports(int n)
{
	static unsigned seed;

	if (seed == 0) {
		seed = (unsigned)getpid() ^ (unsigned)bc_now_ns();
	}
	for (int tries = 0; tries < 200; tries++) {
		/* Below the kernel's ephemeral range (32768-60999), where
		 * the clients' own sockets never land. */
		int base = 20000 + (int)(rand_r(&seed) % 600) * 20;
		int ok = 1;

		for (int p = base; p < base + n && ok; p++) {
			ok = port_free(p);
		}
		if (ok) {
			return base;
		}
	}
	return -1;
}

static int dial(int port, int timeout_ms)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	if (fd < 0) {
		return -1;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

char *bc_http_get(int port, const char *path, int timeout_ms)
{
	return bc_http_req(port, path, NULL, timeout_ms);
}

char *bc_http_req(int port, const char *path, const char *post, int timeout_ms)
{
	char req[1024];
	size_t len = 0;
	size_t cap = 65536;
	char *buf;
	char *body;
	int fd;
	int k =
	    post == NULL
		? snprintf(req, sizeof(req),
			   "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path)
		: snprintf(req, sizeof(req),
			   "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
			   "Content-Type: application/json\r\n"
			   "Content-Length: %zu\r\n\r\n%s",
			   path, strlen(post), post);

	if (k < 0 || (size_t)k >= sizeof(req)) {
		return NULL;
	}

	fd = dial(port, timeout_ms);
	if (fd < 0) {
		return NULL;
	}
	buf = malloc(cap);
	if (buf == NULL || send(fd, req, (size_t)k, MSG_NOSIGNAL) != k) {
		goto err;
	}
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			char *b =
			    cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

			if (b == NULL) {
				goto err;
			}
			buf = b;
			cap *= 2;
		}
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r == 0) {
			break;
		}
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			goto err;
		}
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || strstr(buf, " 200 ") == NULL ||
	    (body = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
err:
	free(buf);
	close(fd);
	return NULL;
}

double bc_prom_sum(const char *page, const char *metric)
{
	size_t ml = strlen(metric);
	const char *p = page;
	double sum = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, metric, ml) == 0 &&
		    (p[ml] == '{' || p[ml] == ' ')) {
			const char *v = p + ml;

			if (*v == '{') {
				v = strchr(v, '}');
			}
			if (v != NULL) {
				sum += strtod(v + 1, NULL);
			}
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return sum;
}
