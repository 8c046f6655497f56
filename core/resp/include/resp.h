/* resp.h — RESP2 (Redis protocol) client front: server, replies, backend. */
#ifndef FABRAFT_RESP_H
#define FABRAFT_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Design notes
 * ============
 * The RESP front speaks RESP2 to redis-cli, redis-benchmark, redis-py and
 * hiredis.  It knows nothing about Raft: every command it does not handle
 * itself (PING, ECHO, QUIT, AUTH, HELLO, CLIENT, SELECT, COMMAND, CONFIG,
 * INFO, and MULTI/EXEC/DISCARD, which queue commands per connection and
 * hand them over at EXEC as one TXN request) goes to a backend through
 * struct resp_backend.  docs/resp.md is the
 * client-facing reference.
 *
 * Embedding (single-threaded; every function below runs on the thread that
 * owns the server):
 *
 *   resp_config_default(&cfg); cfg.listen = "127.0.0.1:6379";
 *   resp_server_open(&srv, &cfg, &backend, ctx, errmsg);
 *   epoll_ctl(loop, EPOLL_CTL_ADD, resp_server_fd(srv), {EPOLLIN});
 *   for (;;) {
 *           n = epoll_wait(loop, ...);
 *           if (an event is for resp_server_fd(srv))
 *                   resp_server_handle(srv);
 *           ... Raft work; backend calls resp_req_complete() ...
 *           resp_server_flush(srv);      // before the next epoll_wait
 *   }
 *   resp_server_close(srv);
 *
 * The server owns one internal epoll fd that holds its listener and every
 * client socket (level-triggered), so the runtime adds exactly one fd; add
 * it level-triggered (no EPOLLET): one resp_server_handle() call takes at
 * most a batch of events and relies on being called again.  Never call
 * resp_server_handle(), _flush() or _close() from inside a backend
 * callback (asserted).
 *
 * Unusual events (protocol errors, clients over a limit, accept failures)
 * are logged with fr_log() (trace.h, tag "resp", level warn).
 *
 * Invariants:
 *  1. Replies leave each connection in request order, however the backend
 *     orders its completions: each request takes a sequence number; a reply
 *     completed ahead of an earlier one waits in the connection's queue.
 *  2. A struct resp_req is a value handle (server, connection slot,
 *     connection generation, sequence).  Completing a request whose
 *     connection has closed is a harmless no-op (the generation differs).
 *  3. Memory per connection is bounded: the read buffer by
 *     request_bytes_max, queued output by output_bytes_max (a client over it
 *     is disconnected; output_noauth_bytes_max before AUTH), outstanding
 *     requests by pending_max (reading pauses until the backend completes
 *     some).  Queued output over all connections stays within
 *     output_total_bytes_max: a reply that would pass it closes the
 *     connection holding the most (that one, or the receiving one).
 *  4. Malformed or oversized input gets "-ERR Protocol error: ..." and
 *     closes only that connection, after the replies already owed to it.
 *  5. Hostile or abandoned clients cost bounded resources (resp_guard.c):
 *     a request that looks like HTTP (a request line "POST / HTTP/1.1", a
 *     header "Host: ...") closes the connection before anything after it
 *     is read, so a web page cannot smuggle commands in a request body; a
 *     connection closes after auth_failures_max failed AUTHs; one idle
 *     past idle_timeout_ms closes; lines logged about them are rate
 *     limited; out of file descriptors, the listener sheds or pauses
 *     instead of spinning.  Which commands need the admin password is the
 *     backend's call: it reads resp_req.admin.
 */

/* ------------------------------------------------------------------ */
/* Arguments and replies                                               */

/** One request argument.  @ptr points into the connection's read buffer
 * (zero-copy) and is valid only during the backend's command() call: copy
 * what you keep.  Not NUL-terminated; may hold any bytes. */
struct resp_arg {
	const char *ptr; /* first byte; borrowed */
	size_t len;	 /* bytes */
};

/**
 * A growable reply buffer with RESP2 builders.  Builders return nothing:
 * the first failure (out of memory, or growing past @max) is sticky in @err
 * and later builders do nothing, so a reply is built with plain calls and
 * checked once with resp_buf_err().  The buffer owns @data.
 */
struct resp_buf {
	char *data; /* owned; NULL until the first byte */
	size_t len; /* bytes written */
	size_t cap; /* bytes allocated */
	size_t max; /* growth limit in bytes; 0 = unlimited */
	int err;    /* first error: FR_NOMEM or FR_TOOBIG; 0 = none */
};

/** Initialise an empty buffer that may grow to @max bytes (0: unlimited). */
void resp_buf_init(struct resp_buf *b, size_t max);
/** Free the buffer's memory; it may be initialised again. */
void resp_buf_close(struct resp_buf *b);
/** Forget the content (and a sticky error), keep the memory. */
void resp_buf_reset(struct resp_buf *b);
/** 0, or the first error a builder met (FR_NOMEM, FR_TOOBIG). */
__attribute__((warn_unused_result)) int resp_buf_err(const struct resp_buf *b);

/** "+@s\r\n".  CR and LF in @s become spaces.  @s is borrowed. */
void resp_buf_simple(struct resp_buf *b, const char *s);
/** "-<text>\r\n" from a printf format; the text starts with its code, e.g.
 * resp_buf_error(b, "ERR no such key %s", k).  CR/LF become spaces. */
void resp_buf_error(struct resp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** ":@v\r\n". */
void resp_buf_int(struct resp_buf *b, int64_t v);
/** "$@len\r\n" + @len bytes of @p + "\r\n".  @p is borrowed. */
void resp_buf_bulk(struct resp_buf *b, const void *p, size_t len);
/** resp_buf_bulk() of a NUL-terminated string. */
void resp_buf_bulk_str(struct resp_buf *b, const char *s);
/** The null bulk string "$-1\r\n" (e.g. GET of a missing key). */
void resp_buf_null(struct resp_buf *b);
/** The null array "*-1\r\n". */
void resp_buf_null_array(struct resp_buf *b);
/** An array header "*@n\r\n"; the caller then writes @n elements. */
void resp_buf_array(struct resp_buf *b, size_t n);
/** Append bytes that are already valid RESP. */
void resp_buf_raw(struct resp_buf *b, const void *p, size_t len);

/** Redis' exact reply to an unknown command:
 * "-ERR unknown command 'xyz', with args beginning with: 'a' 'b' ".
 * @argv[0] is the command name; names and args are cut to 128 bytes. */
void resp_buf_unknown_command(struct resp_buf *b, uint32_t argc,
			      const struct resp_arg *argv);
/** "-ERR wrong number of arguments for 'get' command" (name lowercased). */
void resp_buf_wrong_arity(struct resp_buf *b, const struct resp_arg *name);

/** True if @a equals the NUL-terminated @s, ignoring ASCII case (for
 * matching command names). */
bool resp_arg_is(const struct resp_arg *a, const char *s);

/* ------------------------------------------------------------------ */
/* Requests and completion                                             */

struct resp_server;

/**
 * Handle of one request.  The backend receives a pointer to a library-owned
 * struct that is valid only during command(); copy the struct by value to
 * complete the request later.  Treat the fields as opaque.
 */
struct resp_req {
	struct resp_server *srv; /* owning server; must outlive the handle */
	uint32_t slot;		 /* connection table slot */
	uint32_t gen;		 /* generation of that slot at parse time */
	uint64_t seq;		 /* request number on the connection */
	uint64_t client_id;	 /* CLIENT ID of the connection */
	bool admin; /* the connection may run admin commands: it sent the
		       admin password, or none is configured */
};

/**
 * Complete @req with the RESP-encoded reply @resp (@len bytes, copied; may be
 * several RESP values).  May be called during command() or any time later,
 * exactly once per request, from the server's thread.  Returns 0, or
 * FR_STALE when the connection has closed since (the bytes are dropped; this
 * is expected and harmless, so the result may be ignored).  The reply is
 * sent at the next resp_server_flush() or resp_server_handle().  Completing
 * a request twice is a programmer error (assertion).  If the reply would
 * take the connection's queued output past its limit (output_bytes_max, or
 * output_noauth_bytes_max before AUTH), the client is disconnected instead
 * (and later completions return FR_STALE); past output_total_bytes_max,
 * the connection holding the most queued output is.
 */
int resp_req_complete(const struct resp_req *req, const void *resp, size_t len);
/** Whether @req's connection is still open (so a reply would be sent). */
bool resp_req_alive(const struct resp_req *req);

/* ------------------------------------------------------------------ */
/* INFO                                                                */

/** Collects the backend's INFO sections; see resp_info_section(). */
struct resp_info_writer;

/** Start section "# @name".  Lines added until the next section are
 * dropped when the client asked for other sections (INFO <section>). */
void resp_info_section(struct resp_info_writer *w, const char *name);
/** Add "@key:<printf(@fmt, ...)>".  CR/LF become spaces. */
void resp_info_add(struct resp_info_writer *w, const char *key, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* Backend                                                             */

/**
 * What the runtime plugs in.  Versioned: set @size to
 * sizeof(struct resp_backend); fields past the caller's size are treated as
 * NULL, so later versions may append operations (STYLE §5).
 */
struct resp_backend {
	size_t size; /* sizeof(struct resp_backend) of the caller */
	/**
	 * A command the library does not handle (required).  @argv[0] is the
	 * name as sent (any case); @argc >= 1; @argv is valid only during the
	 * call.  Complete @req now or later with resp_req_complete() (copy
	 * *@req to keep it).  Return 0, or an FR_* code without completing:
	 * the library then replies "-ERR <fr_strerror()>".
	 */
	int (*command)(void *ctx, const struct resp_req *req, uint32_t argc,
		       const struct resp_arg *argv);
	/** Optional: add sections to INFO (e.g. "Replication": role, term). */
	void (*info)(void *ctx, struct resp_info_writer *w);
	/** Optional: a connection closed; its outstanding requests are stale.
	 */
	void (*closed)(void *ctx, uint64_t client_id);
	/**
	 * Optional: may this command be queued after MULTI?  Same arguments
	 * as command() (@req is not completed: the library answers +QUEUED
	 * or the error).  Return 0 to queue it; otherwise write the error
	 * reply into @err (e.g. resp_buf_error()) and return an FR_* code
	 * (an empty @err is answered "-ERR <fr_strerror()>").  At EXEC the
	 * queue reaches command() as ONE request, "TXN n1 cmd1... n2
	 * cmd2..." (each command preceded by its word count), and its reply
	 * is EXEC's.  NULL: every command is queued.
	 */
	int (*queue_check)(void *ctx, const struct resp_req *req, uint32_t argc,
			   const struct resp_arg *argv, struct resp_buf *err);
};

/* ------------------------------------------------------------------ */
/* Server                                                              */

/** Defaults: clients_max 10000, args_max 1048576, bulk and request
 * 64 MiB, output 128 MiB per connection, 64 KiB before AUTH, 512 MiB over
 * all connections, pending_max 1024, no password, no admin password, idle
 * timeout 300 s, 3 failed AUTHs per connection, MULTI queues of 1024
 * commands, 65536 words and 32 MiB.  Keep output_bytes_max
 * above bulk_bytes_max: one reply over it is never sent. */
struct resp_config {
	const char *listen;	    /* "HOST:PORT", "[v6]:PORT", ":PORT";
				       port 0 = ephemeral; borrowed */
	const char *requirepass;    /* NULL or "" = no AUTH; copied */
	const char *version;	    /* reported by HELLO/INFO; copied */
	uint32_t clients_max;	    /* concurrent connections */
	uint32_t args_max;	    /* arguments per request */
	uint64_t bulk_bytes_max;    /* one argument */
	uint64_t request_bytes_max; /* one request, encoded */
	uint64_t output_bytes_max;  /* queued replies per connection */
	/* Output limits beyond one connection (docs/resp.md "Limits"): a
	 * stranger who has not authenticated may make the server hold
	 * little, and all clients together may not take unbounded memory. */
	uint64_t output_noauth_bytes_max; /* per connection before AUTH;
					     at most output_bytes_max */
	uint64_t output_total_bytes_max;  /* over all connections;
					     >= output_bytes_max */
	uint32_t pending_max; /* outstanding requests per connection */

	/* Connection admission and AUTH (docs/resp.md "Guards"). */
	const char *adminpass;	  /* NULL or "" = every authenticated connection
				     is admin; else AUTH with it grants admin
				     (and authenticates); copied */
	uint32_t idle_timeout_ms; /* close a connection with nothing owed
				     after this long without input; 0 =
				     never */
	uint32_t auth_failures_max; /* failed AUTH/HELLO AUTH before the
				       connection is closed; 0 = never */
	/* MULTI queue of one connection (docs/resp.md "Transactions");
	 * 0 selects the default. */
	uint32_t multi_cmds_max;  /* commands (default 1024) */
	uint32_t multi_args_max;  /* words of the TXN request, with the
				     name and word counts (default 65536) */
	uint64_t multi_bytes_max; /* argument bytes (default 32 MiB) */
};

/** Fill @cfg with the defaults above (listen = "127.0.0.1:6379"). */
void resp_config_default(struct resp_config *cfg);

/**
 * Bind and listen on @cfg->listen and create the internal epoll fd.
 * @backend and @ctx are borrowed until resp_server_close().  On failure
 * returns FR_INVALID (bad config or address), FR_IO (socket, bind: the
 * reason is in @errmsg, FR_ERRMSG_SIZE bytes) or FR_NOMEM.
 */
__attribute__((warn_unused_result)) int
resp_server_open(struct resp_server **out, const struct resp_config *cfg,
		 const struct resp_backend *backend, void *ctx, char *errmsg);

/**
 * Graceful stop: close the listener (new connections are refused) and stop
 * reading from every client; each connection closes once the replies it is
 * owed have been sent.  Keep running resp_server_handle()/_flush() until
 * resp_server_stats() shows 0 clients (or a deadline passes), then
 * resp_server_close().  Idempotent.
 */
void resp_server_shutdown(struct resp_server *s);

/** Close every connection (calling backend closed()), the listener and the
 * epoll fd; free the server.  Outstanding handles become invalid. */
void resp_server_close(struct resp_server *s);

/** The fd to watch for EPOLLIN in the runtime's event loop. */
int resp_server_fd(const struct resp_server *s);

/** The bound TCP port (useful with port 0). */
uint16_t resp_server_port(const struct resp_server *s);

/**
 * Without blocking, process what is ready: accept, read, parse, dispatch,
 * write.  Returns 0, or FR_IO if epoll itself failed (errmsg says why).
 */
__attribute__((warn_unused_result)) int
resp_server_handle(struct resp_server *s);

/** Send replies completed outside resp_server_handle() and resume
 * connections paused on pending_max.  Call before blocking in epoll. */
void resp_server_flush(struct resp_server *s);

/**
 * Housekeeping; call every few ms to 100 ms (e.g. on the runtime's tick):
 * closes connections idle past idle_timeout_ms and resumes accepting after
 * the listener was paused for lack of file descriptors.  Cheap when called
 * often: it scans the connections at most every 100 ms.
 */
void resp_server_cron(struct resp_server *s);

/** Whether resp_server_flush() has work (connections with new replies, or
 * to close, or paused ones that may resume). */
bool resp_server_needs_flush(const struct resp_server *s);

/** Counters, also shown by INFO. */
struct resp_stats {
	uint64_t clients;	     /* connected now */
	uint64_t connections_total;  /* accepted since open */
	uint64_t rejected_total;     /* refused at clients_max */
	uint64_t commands_total;     /* requests dispatched */
	uint64_t protocol_errors;    /* connections closed for bad input */
	uint64_t output_limit_drops; /* closed over an output limit */
	uint64_t output_bytes;	     /* replies queued now, all clients */
	uint64_t output_buf_bytes;   /* output buffers allocated now, with
					the shared one of built-ins */
	uint64_t bytes_in;	     /* read from clients */
	uint64_t bytes_out;	     /* written to clients */
	uint64_t idle_closes;	     /* closed after idle_timeout_ms */
	uint64_t auth_failures;	     /* AUTH/HELLO AUTH refused */
	uint64_t auth_closes;	     /* closed at auth_failures_max */
	uint64_t http_closes;	     /* closed: an HTTP request line */
	uint64_t accept_pauses;	     /* listener paused: no fds left */
};

/** Copy the counters into @st. */
void resp_server_stats(const struct resp_server *s, struct resp_stats *st);

/** The last error message of the server (never NULL). */
const char *resp_server_errmsg(const struct resp_server *s);

#endif /* FABRAFT_RESP_H */
