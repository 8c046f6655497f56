/* trace.h — the one logging interface: a level enum, one sink, fr_log(). */
#ifndef FABRAFT_TRACE_H
#define FABRAFT_TRACE_H

/*
 * Every library logs through fr_log() with a module tag; the program sets
 * one sink and one level at start-up (fr_log_set()).  Modeled on Redis
 * serverLog() (a macro that drops a line below the verbosity before any
 * formatting) and cowsql src/tracing.h (one process-wide switch, a printf-
 * like call with the module's name).
 *
 * Named trace.h so it is not confused with core/raft's log.h, the Raft log.
 *
 * Base is pure: it keeps the sink pointer and formats a message into a
 * stack buffer; where the line goes (stderr, a file), its time stamp and
 * its framing are the sink's business.  Without a sink nothing is
 * formatted and nothing is written.
 *
 * Invariants:
 *  1. A line is formatted only when a sink is set and its level passes.
 *  2. The sink sees one message of at most FR_LOG_LINE_MAX - 1 bytes; a
 *     longer one is cut and ends in "...".
 *  3. fr_log() may be called from any thread at once; it formats on the
 *     caller's stack, so the sink must be thread-safe.
 *  4. fr_log_set() is called before the threads that log start (or while
 *     none runs): the sink, its context and the level are plain globals.
 */

#include <stdbool.h>

/* Lower is more severe; a line passes when its level <= the set level. */
enum fr_log_level {
	FR_LOG_ERROR = 1, /* the process or a subsystem stops working */
	FR_LOG_WARN,	  /* something unusual that was handled */
	FR_LOG_INFO,	  /* lifecycle: start, role changes, recovery */
	FR_LOG_DEBUG,	  /* per-peer and per-message detail */
};

/* Bytes of one formatted message, NUL included. */
#define FR_LOG_LINE_MAX 512u

/**
 * Install @sink with @ctx, passing lines at @level and more severe (0 or
 * NULL @sink: log nothing).  See invariant 4 for when to call it.
 *
 * @sink gets one message, no newline.  @tag names the module ("wal",
 * "fabric", "resp"), or is NULL for the program's own runtime (core/node);
 * @line is borrowed for the call.  @ctx is borrowed while installed.
 */
void fr_log_set(void (*sink)(void *ctx, int level, const char *tag,
			     const char *line),
		void *ctx, int level);

/* The effective level: 0 while no sink is set.  Read by fr_log_enabled()
 * only; written by fr_log_set() only. */
extern int fr__log_level;

/** Whether a line at @level would reach the sink; lets a caller skip
 * work done only to log. */
static inline bool fr_log_enabled(int level)
{
	return level <= fr__log_level;
}

/**
 * Log one printf-like line at @level from module @tag.  A macro, like
 * serverLog(): below the level neither the format nor the arguments are
 * evaluated.
 */
#define fr_log(level, tag, ...)                                                \
	do {                                                                   \
		if (fr_log_enabled(level)) {                                   \
			fr_log_write((level), (tag), __VA_ARGS__);             \
		}                                                              \
	} while (0)

/** Format and hand to the sink without the level check (use fr_log()). */
void fr_log_write(int level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** "error", "warn", "info", "debug", or "?" for anything else. */
const char *fr_log_level_name(int level);

#endif /* FABRAFT_TRACE_H */
