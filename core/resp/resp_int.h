/* resp_int.h — the RESP server's private types, shared by resp_*.c. */
#ifndef FABRAFT_RESP_INT_H
#define FABRAFT_RESP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "resp.h"
#include "resp_parse.h"

/*
 * Design notes
 * ============
 * Connection life:
 *
 *   accept -> OPEN --QUIT / protocol error--> DRAINING --queue empty and
 *                 \                                      output written-->
 * closed
 *                  `--EOF, socket error, output limit---------------------->
 * closed
 *
 * Reply queue of one connection (invariant 1 of resp.h): requests are
 * numbered seq_head <= seq < seq_next.  seq_head is the oldest request whose
 * reply has not reached @out.  A reply for seq_head goes straight to @out and
 * pulls every already-completed successor after it; a reply for a later seq
 * waits in ring[seq % ring_cap] (a copy).  Built-in commands take a number
 * too, so their replies keep their place behind pending backend replies.
 *
 * Invariants:
 *  1. seq_next - seq_head <= pending_max; at the limit the connection stops
 *     parsing (paused) until completions make room.
 *  2. queued = bytes in @out not yet written + bytes waiting in the ring;
 *     over output_bytes_max the connection is closed (never grows further).
 *  3. A connection is freed only from the top of resp_server_handle() or
 *     resp_server_flush() (never inside a callback into the backend), so a
 *     completion made during command() never sees a freed connection;
 *     inside callbacks closing only sets @close_now.
 *  4. table[slot] is the live connection of a slot; gens[slot] changes each
 *     time the slot is freed, which invalidates every handle to it.
 *  5. st.output_bytes is the sum of counted_queued and st.output_buf_bytes
 *     the sum of counted_buf over live connections that are not closing
 *     (a closing one gives its share back at once: its bytes are as good
 *     as freed, and it receives nothing more).  st.output_bytes never
 *     passes cfg.output_total_bytes_max.
 */

/* A reply that arrived ahead of its turn. */
struct resp_slot {
	uint64_t seq; /* request this reply answers (valid if done) */
	char *data;   /* owned copy of the reply; NULL if len == 0 */
	size_t len;   /* bytes */
	bool done;    /* completed (possibly with zero bytes) */
};

struct resp_conn {
	struct resp_server *srv; /* owner */
	int fd;			 /* client socket, non-blocking */
	uint32_t slot;		 /* index in srv->table */
	uint64_t id;		 /* CLIENT ID, unique per server */
	char addr[64];		 /* "ip:port" of the peer */
	char *name;	  /* CLIENT SETNAME value, NUL-terminated; owned */
	bool authed;	  /* AUTH passed, or no password configured */
	bool admin;	  /* may run admin commands (resp_req.admin) */
	bool paused;	  /* not parsing: at pending_max */
	bool draining;	  /* QUIT or protocol error: reply, then close */
	bool close_now;	  /* close at the next safe point */
	bool in_dirty;	  /* linked in srv's dirty list */
	uint32_t ev_mask; /* epoll events registered now */
	struct resp_conn *dirty_prev; /* dirty list links */
	struct resp_conn *dirty_next;

	char *rbuf;		   /* read buffer; owned */
	size_t rcap;		   /* bytes allocated */
	size_t rlen;		   /* bytes read */
	size_t rpos;		   /* start of the current, unparsed request */
	struct resp_parser parser; /* state of the request at rpos */

	struct resp_buf out; /* replies ready to write, in order */
	size_t opos;	     /* bytes of out already written */

	uint64_t seq_head;	/* oldest request without a reply in out */
	uint64_t seq_next;	/* number of the next request */
	struct resp_slot *ring; /* replies waiting for their turn; owned */
	uint32_t ring_cap;	/* entries in ring (power of two) or 0 */
	size_t ring_bytes;	/* bytes held in ring */
	/* What this connection adds to srv->st.output_bytes and
	 * output_buf_bytes (invariant 5). */
	size_t counted_queued; /* queued bytes, as last counted */
	size_t counted_buf;    /* out.cap + ring_bytes, as last counted */

	uint64_t start_ms;	  /* accepted (CLIENT LIST age) */
	uint64_t last_in_ms;	  /* last bytes received (idle timeout) */
	uint32_t auth_failures;	  /* failed AUTH attempts so far */
	struct resp_multi *multi; /* commands queued since MULTI; NULL
				     outside MULTI (resp_multi.c); owned */
};

/* Rate limit of one kind of log line (resp_guard.c). */
struct resp_ratelog {
	uint64_t window_ms; /* start of the current window */
	uint32_t lines;	    /* lines logged in the window */
	uint64_t dropped;   /* lines suppressed in the window */
};

/* Kinds of rate-limited log lines. */
enum {
	RESP__RL_AUTH, /* failed AUTH, closes after too many */
	RESP__RL_HTTP, /* HTTP request lines */
	RESP__RL_FDS,  /* out of file descriptors */
	RESP__RL_N,
};

struct resp_server {
	struct resp_config cfg;	      /* copy; strings below are owned */
	char *requirepass;	      /* NULL = no AUTH */
	char *version;		      /* reported version */
	struct resp_backend be;	      /* copy, zero-extended */
	void *be_ctx;		      /* backend's context */
	int epfd;		      /* internal epoll */
	int lfd;		      /* listening socket */
	int spare_fd;		      /* reserve fd to shed EMFILE */
	uint16_t port;		      /* bound port */
	struct resp_conn **table;     /* clients_max live connections */
	uint32_t *gens;		      /* generation of each table slot */
	uint32_t *free_slots;	      /* stack of unused slots */
	uint32_t nfree;		      /* entries in free_slots */
	struct resp_conn *dirty;      /* connections with work to flush */
	uint64_t next_id;	      /* next CLIENT ID */
	uint64_t start_ms;	      /* for uptime */
	struct resp_stats st;	      /* counters */
	struct resp_buf scratch;      /* built-in command replies; freed
					 after a large one */
	struct resp_parse_limits lim; /* limits once authenticated */
	struct resp_parse_limits lim_noauth; /* before AUTH (small) */
	uint32_t in_callback;		     /* > 0 inside a backend call */
	char *adminpass;		     /* NULL = no admin password */
	struct resp_ratelog rl[RESP__RL_N];  /* log rate limits by kind */
	uint64_t cron_ms;		     /* last idle scan */
	uint64_t accept_resume_ms;   /* listener paused until then; 0 = on */
	char errmsg[FR_ERRMSG_SIZE]; /* last error */
};

/* epoll data of the listener; connections use (gen << 32 | slot). */
#define RESP__LISTENER_TAG UINT64_MAX

/* resp_listen.c: bind @addr (sets lfd and port); accept what is waiting. */
int resp__listen(struct resp_server *s, const char *addr, char *errmsg);
void resp__accept(struct resp_server *s);

/* resp_conn.c */
int resp__conn_new(struct resp_server *s, int fd, const char *addr,
		   struct resp_conn **out);
void resp__conn_free(struct resp_conn *c);
void resp__conn_on_event(struct resp_conn *c, uint32_t events);
void resp__conn_service(struct resp_conn *c);
void resp__conn_dirty(struct resp_conn *c);
void resp__conn_deliver(struct resp_conn *c, uint64_t seq, const void *p,
			size_t len);
/** Log an unusual event (warn, tag "resp") and keep it, prefixed "resp: ",
 * as the server's last error (resp_server_errmsg()). */
void resp__log(struct resp_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* resp_listen.c: stop polling the listener for a while (no fds left);
 * resp_server_cron() resumes it. */
void resp__accept_pause(struct resp_server *s);
void resp__accept_resume(struct resp_server *s);

/* resp_guard.c */
/** resp__log() at most a few lines per 10 s for each @kind (RESP__RL_*);
 * the number suppressed is logged when the window ends. */
void resp__log_limited(struct resp_server *s, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Whether a request is an HTTP request line or header (cross-protocol:
 * a web page posting to the RESP port). */
bool resp__is_http(uint32_t argc, const struct resp_arg *argv);
/** Close @c at once for an HTTP request, executing nothing after it. */
void resp__http_close(struct resp_conn *c, const struct resp_arg *argv0);
/** Count a failed AUTH on @c; at auth_failures_max the connection stops
 * reading and closes once the reply is sent. */
void resp__auth_failed(struct resp_conn *c);

/* resp_multi.c: what resp__multi_intercept() did with a request. */
enum {
	RESP__MULTI_PASS,  /* nothing: dispatch it as usual */
	RESP__MULTI_REPLY, /* answered: the reply is in @r */
	RESP__MULTI_TAKEN, /* EXEC went to the backend, which completes it */
};
/** MULTI, EXEC, DISCARD, WATCH, UNWATCH, and every command between MULTI
 * and EXEC (queued); @req is the request's handle, @builtin whether the
 * front itself implements the command.  Only for authenticated
 * connections. */
int resp__multi_intercept(struct resp_conn *c, const struct resp_req *req,
			  bool builtin, uint32_t argc,
			  const struct resp_arg *argv, struct resp_buf *r);
/** Drop @c's queue (DISCARD, EXEC, close); NULL-safe. */
void resp__multi_free(struct resp_conn *c);
/** Commands queued since MULTI (-1 outside MULTI) and their bytes. */
int64_t resp__multi_count(const struct resp_conn *c, size_t *bytes);

/* resp_cmd.c: CLOCK_MONOTONIC in milliseconds. */
uint64_t resp__now_ms(void);
/* resp_cmd.c: run a built-in command, or the backend; replies in order. */
void resp__dispatch(struct resp_conn *c, uint32_t argc,
		    const struct resp_arg *argv);

#endif /* FABRAFT_RESP_INT_H */
