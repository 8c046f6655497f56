/* opt_int.h — private interfaces between the option parser's files. */
#ifndef FABRAFT_OPT_INT_H
#define FABRAFT_OPT_INT_H

#include "opt.h"

/* Longest value quoted in an error line (longer ones end in "..."). */
#define OPT__QUOTE_MAX 120

/** The option of @cmd called @name (@len bytes, not terminated), or
 * NULL. */
const struct opt *opt__find(const struct opt_cmd *cmd, const char *name,
			    size_t len);

/** The option of @cmd with short name @c, or NULL. */
const struct opt *opt__find_short(const struct opt_cmd *cmd, char c);

/** True when @o takes a value on the command line. */
bool opt__takes_value(const struct opt *o);

/**
 * Check @value (borrowed) against @o and store it.  @where names the
 * option in the message ("--id" or "node.conf:3: id"); @in_file: the
 * value comes from a config file (no nested config; strings copied).
 * Returns 0, or FR_INVALID/FR_IO after printing one line.
 */
int opt__apply(const struct opt_cmd *cmd, const struct opt *o,
	       const char *value, const char *where, bool in_file);

/** What @o accepts, for messages: "an integer in 1..255". */
void opt__want(const struct opt *o, char *buf, size_t cap);

/** The error stream of @cmd. */
FILE *opt__err(const struct opt_cmd *cmd);

#endif /* FABRAFT_OPT_INT_H */
