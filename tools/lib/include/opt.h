/* opt.h — one table-driven option parser for the programs: command-line
 * flags, `name = value` config files, and the --help text, all from one
 * table of options. */
#ifndef FABRAFT_OPT_H
#define FABRAFT_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Design notes.
 * 1. A program describes each option once (struct opt): its name, type,
 *    destination, bounds, default and help.  The same table parses argv,
 *    parses config files and prints --help, so the three cannot drift.
 * 2. Accepted forms: `--name value`, `--name=value`, `-x value` (short
 *    name), `--help`/`-h`.  Names must match in full (no abbreviations:
 *    a later option could make an abbreviation mean something else), and
 *    there are no positional arguments.  The last occurrence wins; lists
 *    and name sets are replaced, not merged.
 * 3. Config files hold `name = value` lines (blanks and `#` lines
 *    skipped), names as on the command line without the dashes; a flag's
 *    value there is on|off.  A config file cannot include another.
 * 4. Bad input prints exactly one line to the error stream naming the
 *    option, the value and what is allowed, and the parse stops; a value
 *    is written to its destination only once it is entirely valid.
 * 5. Integers are decimal or 0x-prefixed hex, without sign or spaces.
 * 6. Nothing is allocated: values are parsed in place or in bounded
 *    buffers.  Not thread-safe (programs parse once, at start-up).
 */

/* What an option's value is, and what C object its destination is. */
enum opt_type {
	OPT_FLAG,   /* no value; bool *dst = true */
	OPT_NOFLAG, /* no value; bool *dst = false (for --no-X flags) */
	OPT_BOOL,   /* on|off; bool *dst */
	OPT_INT,    /* integer in min..max (max <= INT_MAX); int *dst */
	OPT_UINT,   /* integer in min..max (max <= UINT32_MAX); uint32_t *dst */
	OPT_U64,    /* integer in min..max; uint64_t *dst */
	OPT_DOUBLE, /* number in dmin..dmax (see min_open); double *dst */
	OPT_STRING, /* non-empty; size > 0: copied into char[size] (at most
		       size - 1 bytes); size 0: the argv string itself is kept
		       in const char **dst (command line only) */
	OPT_ENUM,   /* one of choices; size 0: int *dst = its value; size >
		       0: its name copied into char[size] */
	OPT_NAMES,  /* comma list of choice names; unsigned *dst = the mask
		       of (1u << value) over them (values 0..31) */
	OPT_LIST,   /* comma list of integers in min..max; uint32_t[size]
		       *dst; *count = how many (count NULL: at most size - 1,
		       and a 0 is stored after the last) */
	OPT_CALL,   /* fn checks and stores the value */
	OPT_CONFIG, /* the name of a config file, read with the same table */
};

/* One name of an OPT_ENUM or OPT_NAMES option. */
struct opt_choice {
	const char *name; /* as typed; NULL ends the list */
	int value;	  /* stored (OPT_ENUM) or bit number (OPT_NAMES) */
};

struct opt;

/**
 * An OPT_CALL parser: check @value (borrowed for the call) and store it
 * through @o->dst.  Returns 0, or nonzero when @value is refused; it may
 * then write the reason into @why (@why_cap bytes, "" on entry), else the
 * message quotes @o->want.
 */
typedef int (*opt_fn)(const struct opt *o, const char *value, char *why,
		      size_t why_cap);

/*
 * One option.  A table row gives the common fields in order, the rest by
 * name, help last:
 *   {"nodes", OPT_UINT, &a->nodes, 1, 9, .def = "5", .help = "cluster size"}
 *   {"quiet", OPT_FLAG, &a->quiet, .help = "print less"}
 * Unused fields are 0.  (help is named so that every row names a field:
 * a row of positional fields only would trip -Wmissing-field-initializers.)
 */
struct opt {
	const char *name;		  /* long name, no dashes */
	enum opt_type type;		  /* value and destination */
	void *dst;			  /* where the value goes (not owned) */
	uint64_t min;			  /* integer bounds, inclusive */
	uint64_t max;			  /* (OPT_INT, UINT, U64, LIST) */
	char short_name;		  /* -x, or 0 */
	size_t size;			  /* buffer or array size, see type */
	uint32_t *count;		  /* OPT_LIST: values stored */
	double dmin;			  /* OPT_DOUBLE bounds */
	double dmax;			  /* inclusive */
	bool min_open;			  /* OPT_DOUBLE: dmin itself refused */
	const struct opt_choice *choices; /* OPT_ENUM, OPT_NAMES */
	opt_fn fn;			  /* OPT_CALL */
	const char *want;		  /* OPT_CALL: what is accepted */
	bool *seen;			  /* set when given, or NULL */
	const char *arg;  /* value placeholder in --help ("N"); NULL: derived
			     from the type */
	const char *def;  /* default shown in --help, or NULL */
	const char *help; /* --help text; wrapped, '\n' breaks a line */
};

/*
 * A program's (or suite's) options: its fixed texts, its table and its
 * streams.  A program usually keeps the texts in a file-scope constant
 * without a table and gives the table, which points at its locals, to
 * opt_parse_main() apart.
 */
struct opt_cmd {
	const char *prog;	/* message prefix: "fabraftd" */
	const char *usage;	/* after "usage: " on the first help line */
	const char *about;	/* help text before the options, or NULL */
	const char *epilog;	/* help text after the options, or NULL */
	const struct opt *opts; /* the table, not owned; NULL when it is
				   given to opt_parse_main() */
	size_t n_opts;		/* entries in opts */
	FILE *out;		/* --help goes here; NULL: stdout */
	FILE *err;		/* error lines go here; NULL: stderr */
};

/** The number of entries of a table array. */
#define OPT_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/**
 * Parse @argv[1..@argc-1] (borrowed; strings of size-0 OPT_STRING options
 * stay referenced) into the destinations of @cmd's table.  On --help/-h
 * the help is printed, *@help set and parsing stops.  Returns 0, or
 * FR_INVALID after printing one line (programs exit 2), or FR_IO when a
 * config file cannot be read (also printed).
 */
int opt_parse(const struct opt_cmd *cmd, int argc, char *const argv[],
	      bool *help) __attribute__((warn_unused_result));

/**
 * opt_parse() for a program's main(), of the table @opts (@n_opts
 * entries, borrowed for the call) under @cmd's texts and streams (@cmd's
 * own opts must be NULL).  Returns the exit code when the program is done
 * (2 after a bad option, already reported; 0 after --help), or -1 when it
 * should go on and run.
 */
int opt_parse_main(const struct opt_cmd *cmd, const struct opt *opts,
		   size_t n_opts, int argc, char *const argv[])
    __attribute__((warn_unused_result));

/**
 * Read `name = value` lines from @f (borrowed) until EOF, applying each
 * as the option @name; @origin names the source in messages.  Returns 0,
 * FR_INVALID (reported with origin:line) or FR_IO.
 */
int opt_config_read(const struct opt_cmd *cmd, FILE *f, const char *origin)
    __attribute__((warn_unused_result));

/** opt_config_read() of the file at @path.  FR_IO when it cannot be
 * opened (reported). */
int opt_config_file(const struct opt_cmd *cmd, const char *path)
    __attribute__((warn_unused_result));

/** Print the --help text generated from @cmd to @f. */
void opt_help(const struct opt_cmd *cmd, FILE *f);

#endif /* FABRAFT_OPT_H */
