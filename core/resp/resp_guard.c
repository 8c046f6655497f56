/* resp_guard.c — defences against hostile or abandoned clients: HTTP
 * requests on the RESP port, AUTH guessing, idle connections, and logs that
 * such clients cannot flood. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "resp_int.h"

/*
 * Design notes
 * ============
 * 1. Cross-protocol: a web page can make a browser POST to 127.0.0.1:6379
 *    with a body of RESP commands; the request line and headers arrive
 *    first, as inline requests.  Like Redis (securityWarningCommand) the
 *    connection closes, with no reply, at a request named "POST" or
 *    "Host:"; we also close at any first word ending in ':' (a header
 *    line) and at "<METHOD> <target> HTTP/x" for every HTTP method, so a
 *    GET or PUT is refused too.  The body after the line is never parsed.
 *    "GET key" without an HTTP version stays an ordinary GET.
 * 2. AUTH guessing: each failure counts on the connection; at
 *    auth_failures_max the connection stops reading (later pipelined
 *    attempts are never looked at) and closes after the WRONGPASS reply.
 * 3. Log lines a client can trigger at will are limited per kind to
 *    RL_BURST per RL_WINDOW_MS; the count suppressed is logged after.
 * 4. Idle connections (nothing owed either way: no request waiting for the
 *    backend, no reply unsent) close after idle_timeout_ms without input,
 *    silently, as Redis' "timeout" does; a scan runs at most every
 *    CRON_MS from resp_server_cron().
 */

#define RL_BURST     3u
#define RL_WINDOW_MS 10000u
#define CRON_MS	     100u

/* Report lines suppressed in a window that has ended, and start anew. */
static void rl_roll(struct resp_server *s, struct resp_ratelog *rl,
		    uint64_t now)
{
	if (now - rl->window_ms < RL_WINDOW_MS) {
		return;
	}
	if (rl->dropped > 0) {
		resp__log(s, "%llu similar lines suppressed in the last %u s",
			  (unsigned long long)rl->dropped,
			  RL_WINDOW_MS / 1000u);
	}
	rl->window_ms = now;
	rl->lines = 0;
	rl->dropped = 0;
}

void resp__log_limited(struct resp_server *s, int kind, const char *fmt, ...)
{
	struct resp_ratelog *rl = &s->rl[kind];
	uint64_t now = resp__now_ms();
	char msg[FR_ERRMSG_SIZE];
	va_list ap;

	rl_roll(s, rl, now);
	if (rl->lines >= RL_BURST) {
		rl->dropped++;
		return;
	}
	rl->lines++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp__log(s, "%s", msg);
}

static bool arg_eq(const struct resp_arg *a, const char *s)
{
	size_t n = strlen(s);
	return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

static bool is_http_method(const struct resp_arg *a)
{
	static const char *const methods[] = {
	    "GET",     "HEAD",	  "POST",  "PUT",   "DELETE",
	    "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI",
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (arg_eq(a, methods[i])) {
			return true;
		}
	}
	return false;
}

bool resp__is_http(uint32_t argc, const struct resp_arg *argv)
{
	const struct resp_arg *a0 = &argv[0];
	if (arg_eq(a0, "post") || arg_eq(a0, "host:")) {
		return true; /* Redis' own check */
	}
	if (a0->len > 0 && a0->ptr[a0->len - 1] == ':') {
		return true; /* "Origin:", "Content-Type:": a header line */
	}
	/* A request line is exactly "METHOD TARGET HTTP/x.y". */
	return argc == 3 && is_http_method(a0) && argv[2].len >= 5 &&
	       strncasecmp(argv[2].ptr, "HTTP/", 5) == 0;
}

void resp__http_close(struct resp_conn *c, const struct resp_arg *argv0)
{
	struct resp_server *s = c->srv;
	s->st.http_closes++;
	resp__log_limited(s, RESP__RL_HTTP,
			  "client %s id=%llu sent an HTTP request ('%.*s'), "
			  "a possible cross-protocol attack; closing",
			  c->addr, (unsigned long long)c->id,
			  (int)(argv0->len < 16 ? argv0->len : 16), argv0->ptr);
	c->close_now = true;
	resp__conn_dirty(c);
}

void resp__auth_failed(struct resp_conn *c)
{
	struct resp_server *s = c->srv;
	uint32_t max = s->cfg.auth_failures_max;
	s->st.auth_failures++;
	c->auth_failures++;
	if (max == 0 || c->auth_failures < max) {
		resp__log_limited(s, RESP__RL_AUTH,
				  "client %s id=%llu: AUTH failed", c->addr,
				  (unsigned long long)c->id);
		return;
	}
	s->st.auth_closes++;
	resp__log_limited(s, RESP__RL_AUTH,
			  "client %s id=%llu: AUTH failed %u times; closing",
			  c->addr, (unsigned long long)c->id, c->auth_failures);
	c->draining = true; /* read no more; close once the reply is sent */
}

static bool idle(const struct resp_conn *c, uint64_t now, uint32_t timeout)
{
	return !c->close_now && c->seq_head == c->seq_next &&
	       c->opos == c->out.len && now - c->last_in_ms >= timeout;
}

void resp_server_cron(struct resp_server *s)
{
	uint64_t now = resp__now_ms();
	assert(s->in_callback == 0);
	if (s->accept_resume_ms != 0 && now >= s->accept_resume_ms) {
		resp__accept_resume(s);
	}
	if (now - s->cron_ms < CRON_MS) {
		return;
	}
	s->cron_ms = now;
	for (int k = 0; k < RESP__RL_N; k++) {
		rl_roll(s, &s->rl[k], now);
	}
	uint32_t timeout = s->cfg.idle_timeout_ms;
	if (timeout == 0 || s->st.clients == 0) {
		return;
	}
	for (uint32_t i = 0; i < s->cfg.clients_max; i++) {
		struct resp_conn *c = s->table[i];
		if (c != NULL && idle(c, now, timeout)) {
			s->st.idle_closes++;
			resp__conn_free(c);
		}
	}
}
