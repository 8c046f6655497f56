/* client.c — options, the endpoint list, open and close, error text. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_int.h"
#include "heap.h"

int64_t fabraft__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fabraft_options_default(struct fabraft_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->deadline_ms = 10000;
	o->connect_timeout_ms = 1000;
	o->io_timeout_ms = 5000;
	o->backoff_min_ms = 10;
	o->backoff_max_ms = 500;
	o->discover_leader = true;
	o->retry_idempotent = true;
}

/* One "host:port" of @len bytes at @s into @out.  NULL or why not. */
static const char *parse_one(const char *s, size_t len, char *out)
{
	const char *colon;
	char *end;
	unsigned long port;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1])) {
		len--;
	}
	if (len == 0) {
		return "empty endpoint";
	}
	if (len >= 128) {
		return "endpoint longer than 127 bytes";
	}
	memcpy(out, s, len);
	out[len] = '\0';
	colon = strrchr(out, ':');
	if (colon == NULL || colon == out) {
		return "endpoint is not HOST:PORT";
	}
	for (const char *p = out; p < colon; p++) {
		if (isspace((unsigned char)*p) || *p == '/') {
			return "bad character in host";
		}
	}
	if (!isdigit((unsigned char)colon[1])) {
		return "port is not a number";
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		return "port must be 1..65535";
	}
	return NULL;
}

/* Split o->endpoints into c->ep.  0 or FR_INVALID with @err. */
static int parse_endpoints(struct fabraft_client *c, const char *list,
			   char *err, size_t err_size)
{
	const char *p = list;

	if (list == NULL || list[0] == '\0') {
		snprintf(err, err_size, "no endpoints given (HOST:PORT,...)");
		return FR_INVALID;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *why;

		if (c->n_ep == FABRAFT_ENDPOINTS_MAX) {
			snprintf(err, err_size, "more than %d endpoints",
				 FABRAFT_ENDPOINTS_MAX);
			return FR_INVALID;
		}
		why = parse_one(p, len, c->ep[c->n_ep]);
		if (why != NULL) {
			snprintf(err, err_size, "endpoint %d ('%.*s'): %s",
				 c->n_ep + 1, (int)(len > 64 ? 64 : len), p,
				 why);
			return FR_INVALID;
		}
		c->n_ep++;
		if (comma == NULL) {
			return 0;
		}
		p = comma + 1;
	}
}

static int check_options(const struct fabraft_options *o, char *err,
			 size_t err_size)
{
	if (o->size != sizeof(*o)) {
		snprintf(err, err_size,
			 "options.size is %zu, this library expects %zu "
			 "(call fabraft_options_default first)",
			 o->size, sizeof(*o));
		return FR_INVALID;
	}
	if (o->deadline_ms < 1 || o->connect_timeout_ms < 1 ||
	    o->io_timeout_ms < 1 || o->backoff_min_ms < 1 ||
	    o->backoff_max_ms < o->backoff_min_ms) {
		snprintf(err, err_size,
			 "deadline and timeouts must be >= 1 ms, "
			 "backoff_max_ms >= backoff_min_ms >= 1");
		return FR_INVALID;
	}
	if (o->password != NULL && strlen(o->password) >= 256) {
		snprintf(err, err_size, "password longer than 255 bytes");
		return FR_INVALID;
	}
	return 0;
}

int fabraft_open(struct fabraft_client **cp, const struct fabraft_options *o,
		 char *err, size_t err_size)
{
	char buf[FR_ERRMSG_SIZE];
	struct fabraft_client *c;
	int rv;

	*cp = NULL;
	if (err == NULL || err_size == 0) {
		err = buf;
		err_size = sizeof(buf);
	}
	err[0] = '\0';
	rv = check_options(o, err, err_size);
	if (rv != 0) {
		return rv;
	}
	c = fr_calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, err_size, "out of memory");
		return FR_NOMEM;
	}
	c->o = *o;
	c->o.endpoints = NULL;
	c->o.password = NULL;
	c->conn.fd = -1;
	rv = parse_endpoints(c, o->endpoints, err, err_size);
	if (rv != 0) {
		fr_free(c);
		return rv;
	}
	if (o->password != NULL) {
		snprintf(c->password, sizeof(c->password), "%s", o->password);
	}
	c->rng = o->seed ? o->seed
			 : (uint64_t)fabraft__now_ms() * 0x9e3779b97f4a7c15ull ^
			       (uint64_t)getpid();
	*cp = c;
	return 0;
}

void fabraft_close(struct fabraft_client *c)
{
	if (c == NULL) {
		return;
	}
	fabraft__drop(c);
	fr_free(c);
}

const char *fabraft_errmsg(const struct fabraft_client *c)
{
	return c->errmsg;
}

const char *fabraft_server(const struct fabraft_client *c)
{
	return c->conn.fd >= 0 ? c->server : "";
}

void fabraft_client_stats(const struct fabraft_client *c,
			  struct fabraft_client_stats *s)
{
	*s = c->st;
}

const char *fabraft_strerror(int rv)
{
	return fr_strerror(rv);
}

void fabraft_free(void *p)
{
	fr_free(p);
}

int fabraft_connect(struct fabraft_client *c)
{
	int64_t deadline = fabraft__now_ms() + c->o.deadline_ms;
	int rv;

	for (int attempt = 0;; attempt++) {
		rv = fabraft__ensure(c, deadline);
		if (rv == 0 || rv == FR_AUTH || rv == FR_NOMEM ||
		    fabraft__now_ms() >= deadline) {
			return rv;
		}
		fabraft__backoff(c, attempt, deadline);
	}
}
