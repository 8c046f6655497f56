/* resp_server.c — server life cycle, event handling, request completion. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "heap.h"
#include "resp_int.h"

/* Events taken from the internal epoll per resp_server_handle() call. */
#define EVENTS_BATCH 256

/* Before AUTH a client may send only small requests, as in Redis
 * (processMultibulkBuffer: 10 arguments, 16 KiB each). */
#define NOAUTH_ARGS_MAX	 10u
#define NOAUTH_BULK_MAX	 16384u
#define NOAUTH_TOTAL_MAX (NOAUTH_ARGS_MAX * (NOAUTH_BULK_MAX + 32u))

/* Upper bounds on the configuration, far above any sane value; they keep
 * size arithmetic away from overflow. */
#define CLIENTS_LIMIT (1u << 22)
#define PENDING_LIMIT (1u << 20)
#define ARGS_LIMIT    (1u << 24)
#define BYTES_LIMIT   (1ull << 40)

void resp_config_default(struct resp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "127.0.0.1:6379";
	cfg->clients_max = 10000;
	cfg->args_max = 1024 * 1024;
	cfg->bulk_bytes_max = 64ull << 20;
	cfg->request_bytes_max = 64ull << 20;
	/* Above bulk_bytes_max, so a reply holding one maximal value fits. */
	cfg->output_bytes_max = 128ull << 20;
	/* Replies before AUTH are short errors and PONGs; a client that
	 * pipelines them without reading is cut off early. */
	cfg->output_noauth_bytes_max = 64ull << 10;
	/* Four connections at their limit; more only if the operator says. */
	cfg->output_total_bytes_max = 512ull << 20;
	cfg->pending_max = 1024;
	/* Not Redis' 0 (never): an abandoned connection must give its slot
	 * and descriptor back; 5 minutes outlasts any pause of a live tool. */
	cfg->idle_timeout_ms = 300000;
	cfg->auth_failures_max = 3;
	cfg->multi_cmds_max = 1024;
	cfg->multi_args_max = 65536;
	cfg->multi_bytes_max = 32ull << 20;
}

/* 0 selects the default of a MULTI limit (resp_config_default()). */
static void multi_defaults(struct resp_config *c)
{
	struct resp_config d;
	resp_config_default(&d);
	if (c->multi_cmds_max == 0) {
		c->multi_cmds_max = d.multi_cmds_max;
	}
	if (c->multi_args_max == 0) {
		c->multi_args_max = d.multi_args_max;
	}
	if (c->multi_bytes_max == 0) {
		c->multi_bytes_max = d.multi_bytes_max;
	}
}

static int check_config(const struct resp_config *cfg,
			const struct resp_backend *be, char *errmsg)
{
	const char *bad = NULL;
	if (cfg->listen == NULL) {
		bad = "listen address missing";
	} else if (cfg->clients_max < 1 || cfg->clients_max > CLIENTS_LIMIT) {
		bad = "clients_max out of range (1..4194304)";
	} else if (cfg->args_max < 1 || cfg->args_max > ARGS_LIMIT) {
		bad = "args_max out of range (1..16777216)";
	} else if (cfg->request_bytes_max < 64 ||
		   cfg->request_bytes_max > BYTES_LIMIT) {
		bad = "request_bytes_max out of range (64..2^40)";
	} else if (cfg->bulk_bytes_max < 1 ||
		   cfg->bulk_bytes_max > cfg->request_bytes_max) {
		bad = "bulk_bytes_max out of range (1..request_bytes_max)";
	} else if (cfg->output_bytes_max < 1024 ||
		   cfg->output_bytes_max > BYTES_LIMIT) {
		bad = "output_bytes_max out of range (1024..2^40)";
	} else if (cfg->output_noauth_bytes_max < 1024 ||
		   cfg->output_noauth_bytes_max > BYTES_LIMIT) {
		bad = "output_noauth_bytes_max out of range (1024..2^40)";
	} else if (cfg->output_total_bytes_max < cfg->output_bytes_max ||
		   cfg->output_total_bytes_max > BYTES_LIMIT) {
		bad = "output_total_bytes_max out of range "
		      "(output_bytes_max..2^40)";
	} else if (cfg->pending_max < 1 || cfg->pending_max > PENDING_LIMIT) {
		bad = "pending_max out of range (1..1048576)";
	} else if (be == NULL ||
		   be->size < offsetof(struct resp_backend, command) +
				  sizeof(be->command) ||
		   be->command == NULL) {
		bad = "backend without a command operation";
	}
	if (bad != NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "resp config: %s", bad);
		return FR_INVALID;
	}
	return 0;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = fr_malloc(n + 1);
	if (d != NULL) {
		memcpy(d, s, n + 1);
	}
	return d;
}

static int alloc_tables(struct resp_server *s)
{
	uint32_t n = s->cfg.clients_max;
	s->table = fr_calloc(n, sizeof(*s->table));
	s->gens = fr_calloc(n, sizeof(*s->gens));
	s->free_slots = fr_calloc(n, sizeof(*s->free_slots));
	if (s->table == NULL || s->gens == NULL || s->free_slots == NULL) {
		return FR_NOMEM;
	}
	/* Pop order 0, 1, 2, ...: lowest slots first. */
	for (uint32_t i = 0; i < n; i++) {
		s->free_slots[i] = n - 1 - i;
	}
	s->nfree = n;
	return 0;
}

static void free_server(struct resp_server *s)
{
	if (s->epfd >= 0) {
		close(s->epfd);
	}
	if (s->lfd >= 0) {
		close(s->lfd);
	}
	if (s->spare_fd >= 0) {
		close(s->spare_fd);
	}
	fr_free(s->table);
	fr_free(s->gens);
	fr_free(s->free_slots);
	fr_free(s->requirepass);
	fr_free(s->adminpass);
	fr_free(s->version);
	resp_buf_close(&s->scratch);
	fr_free(s);
}

static void set_limits(struct resp_server *s)
{
	const struct resp_config *cfg = &s->cfg;
	s->lim.args_max = cfg->args_max;
	s->lim.bulk_bytes_max = cfg->bulk_bytes_max;
	s->lim.request_bytes_max = cfg->request_bytes_max;
	s->lim_noauth = s->lim;
	if (s->lim_noauth.args_max > NOAUTH_ARGS_MAX) {
		s->lim_noauth.args_max = NOAUTH_ARGS_MAX;
	}
	if (s->lim_noauth.bulk_bytes_max > NOAUTH_BULK_MAX) {
		s->lim_noauth.bulk_bytes_max = NOAUTH_BULK_MAX;
	}
	if (s->lim_noauth.request_bytes_max > NOAUTH_TOTAL_MAX) {
		s->lim_noauth.request_bytes_max = NOAUTH_TOTAL_MAX;
	}
	/* Never looser before AUTH than after. */
	if (s->cfg.output_noauth_bytes_max > cfg->output_bytes_max) {
		s->cfg.output_noauth_bytes_max = cfg->output_bytes_max;
	}
}

int resp_server_open(struct resp_server **out, const struct resp_config *cfg,
		     const struct resp_backend *backend, void *ctx,
		     char *errmsg)
{
	int rv = check_config(cfg, backend, errmsg);
	if (rv != 0) {
		return rv;
	}
	struct resp_server *s = fr_calloc(1, sizeof(*s));
	if (s == NULL) {
		goto err_nomem;
	}
	s->epfd = -1;
	s->lfd = -1;
	s->spare_fd = -1;
	s->cfg = *cfg;
	multi_defaults(&s->cfg);
	s->cfg.listen = NULL; /* borrowed only for the call */
	/* Zero-extend an older, shorter backend table (STYLE §5). */
	size_t n =
	    backend->size < sizeof(s->be) ? backend->size : sizeof(s->be);
	memcpy(&s->be, backend, n);
	s->be.size = sizeof(s->be);
	s->be_ctx = ctx;
	if (cfg->requirepass != NULL && cfg->requirepass[0] != '\0') {
		s->requirepass = dup_str(cfg->requirepass);
		if (s->requirepass == NULL) {
			goto err_free;
		}
	}
	if (cfg->adminpass != NULL && cfg->adminpass[0] != '\0') {
		s->adminpass = dup_str(cfg->adminpass);
		if (s->adminpass == NULL) {
			goto err_free;
		}
	}
	s->version = dup_str(cfg->version != NULL ? cfg->version : "0.1.0");
	if (s->version == NULL || alloc_tables(s) != 0) {
		goto err_free;
	}
	s->cfg.requirepass = NULL;
	s->cfg.adminpass = NULL;
	s->cfg.version = NULL;
	set_limits(s);
	resp_buf_init(&s->scratch, 0);
	s->next_id = 1;
	s->start_ms = resp__now_ms();
	rv = resp__listen(s, cfg->listen, errmsg);
	if (rv != 0) {
		free_server(s);
		return rv;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = RESP__LISTENER_TAG};
	if (s->epfd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "resp: epoll: %s",
			 strerror(errno));
		free_server(s);
		return FR_IO;
	}
	/* Kept so that running out of fds can still shed a connection. */
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	*out = s;
	return 0;

err_free:
	free_server(s);
err_nomem:
	snprintf(errmsg, FR_ERRMSG_SIZE, "resp: out of memory");
	return FR_NOMEM;
}

void resp_server_close(struct resp_server *s)
{
	if (s == NULL) {
		return;
	}
	assert(s->in_callback == 0);
	for (uint32_t i = 0; i < s->cfg.clients_max; i++) {
		if (s->table[i] != NULL) {
			resp__conn_free(s->table[i]);
		}
	}
	free_server(s);
}

void resp_server_shutdown(struct resp_server *s)
{
	assert(s->in_callback == 0);
	if (s->lfd >= 0) {
		close(s->lfd); /* leaves the epoll set with it */
		s->lfd = -1;
	}
	for (uint32_t i = 0; i < s->cfg.clients_max; i++) {
		struct resp_conn *c = s->table[i];
		if (c != NULL && !c->draining) {
			c->draining = true; /* as after QUIT */
			resp__conn_dirty(c);
		}
	}
	resp_server_flush(s);
}

int resp_server_fd(const struct resp_server *s)
{
	return s->epfd;
}

uint16_t resp_server_port(const struct resp_server *s)
{
	return s->port;
}

const char *resp_server_errmsg(const struct resp_server *s)
{
	return s->errmsg;
}

void resp_server_stats(const struct resp_server *s, struct resp_stats *st)
{
	*st = s->st;
	st->output_buf_bytes += s->scratch.cap;
}

int resp_server_handle(struct resp_server *s)
{
	assert(s->in_callback == 0); /* not from inside a backend call */
	struct epoll_event evs[EVENTS_BATCH];
	int n = epoll_wait(s->epfd, evs, EVENTS_BATCH, 0);
	if (n < 0) {
		if (errno == EINTR) {
			return 0;
		}
		snprintf(s->errmsg, sizeof(s->errmsg), "resp: epoll_wait: %s",
			 strerror(errno));
		return FR_IO;
	}
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		if (tag == RESP__LISTENER_TAG) {
			if (s->lfd >= 0) {
				resp__accept(s);
			}
			continue;
		}
		uint32_t slot = (uint32_t)tag;
		uint32_t gen = (uint32_t)(tag >> 32);
		struct resp_conn *c = s->table[slot];
		if (c == NULL || s->gens[slot] != gen) {
			continue; /* closed earlier in this batch */
		}
		resp__conn_on_event(c, evs[i].events);
		resp__conn_service(c);
	}
	resp_server_flush(s);
	return 0;
}

void resp_server_flush(struct resp_server *s)
{
	assert(s->in_callback == 0);
	while (s->dirty != NULL) {
		resp__conn_service(s->dirty);
	}
}

bool resp_server_needs_flush(const struct resp_server *s)
{
	return s->dirty != NULL;
}

int resp_req_complete(const struct resp_req *req, const void *resp, size_t len)
{
	struct resp_server *s = req->srv;
	assert(req->slot < s->cfg.clients_max);
	struct resp_conn *c = s->table[req->slot];
	if (c == NULL || s->gens[req->slot] != req->gen) {
		return FR_STALE;
	}
	/* Completing twice, or a forged handle, is a programmer error. */
	assert(req->seq >= c->seq_head && req->seq < c->seq_next);
	resp__conn_deliver(c, req->seq, resp, len);
	return 0;
}

bool resp_req_alive(const struct resp_req *req)
{
	struct resp_server *s = req->srv;
	assert(req->slot < s->cfg.clients_max);
	struct resp_conn *c = s->table[req->slot];
	return c != NULL && s->gens[req->slot] == req->gen && !c->close_now;
}
