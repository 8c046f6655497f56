/* opt_help.c — the --help text and the "want ..." part of error lines,
 * both generated from the option table. */
#include <math.h>
#include <string.h>

#include "opt_int.h"

/* Help lines wrap before this column. */
#define WIDTH 79
/* The help text of an option starts at most this far right; longer
 * option names put it on the next line. */
#define HELP_COL_MAX 26

/* "a|b|c" of @o's choices into @buf. */
static void choices(const struct opt *o, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const struct opt_choice *c = o->choices; c->name != NULL; c++) {
		int k = snprintf(buf + n, cap - n, "%s%s",
				 c == o->choices ? "" : "|", c->name);

		if (k < 0 || (size_t)k >= cap - n) {
			return;
		}
		n += (size_t)k;
	}
}

void opt__want(const struct opt *o, char *buf, size_t cap)
{
	char list[200];

	switch (o->type) {
	case OPT_FLAG:
	case OPT_NOFLAG:
	case OPT_BOOL:
		snprintf(buf, cap, "on|off");
		return;
	case OPT_INT:
	case OPT_UINT:
	case OPT_U64:
		snprintf(buf, cap, "an integer in %llu..%llu",
			 (unsigned long long)o->min,
			 (unsigned long long)o->max);
		return;
	case OPT_DOUBLE:
		snprintf(buf, cap, "a number %s %g",
			 o->min_open ? "above" : "from", o->dmin);
		if (!isinf(o->dmax)) {
			size_t n = strlen(buf);

			snprintf(buf + n, cap - n, " up to %g", o->dmax);
		}
		return;
	case OPT_STRING:
		if (o->size > 0) {
			snprintf(buf, cap, "1..%zu bytes", o->size - 1);
		} else {
			snprintf(buf, cap, "a non-empty value");
		}
		return;
	case OPT_ENUM:
		choices(o, list, sizeof(list));
		snprintf(buf, cap, "one of %s", list);
		return;
	case OPT_NAMES:
		choices(o, list, sizeof(list));
		snprintf(buf, cap, "a comma list of %s", list);
		return;
	case OPT_LIST:
		snprintf(buf, cap,
			 "a comma list of up to %zu integers in "
			 "%llu..%llu",
			 o->count != NULL ? o->size : o->size - 1,
			 (unsigned long long)o->min,
			 (unsigned long long)o->max);
		return;
	case OPT_CALL:
		snprintf(buf, cap, "%s", o->want);
		return;
	case OPT_CONFIG:
		snprintf(buf, cap, "a config file");
		return;
	}
}

/* The value placeholder of @o in --help ("" for flags). */
static void placeholder(const struct opt *o, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (o->arg != NULL) {
		snprintf(buf, cap, " %s", o->arg);
		return;
	}
	switch (o->type) {
	case OPT_FLAG:
	case OPT_NOFLAG:
		return;
	case OPT_BOOL:
		snprintf(buf, cap, " on|off");
		return;
	case OPT_ENUM:
		buf[0] = ' ';
		choices(o, buf + 1, cap - 1);
		return;
	case OPT_DOUBLE:
		snprintf(buf, cap, " X");
		return;
	case OPT_NAMES:
	case OPT_LIST:
		snprintf(buf, cap, " LIST");
		return;
	case OPT_CONFIG:
		snprintf(buf, cap, " FILE");
		return;
	default:
		snprintf(buf, cap, " N");
		return;
	}
}

/* "  -x, --name ARG" or "  --name ARG" into @buf. */
static void head(const struct opt *o, char *buf, size_t cap)
{
	char arg[128];

	placeholder(o, arg, sizeof(arg));
	if (o->short_name != 0) {
		snprintf(buf, cap, "  -%c, --%s%s", o->short_name, o->name,
			 arg);
	} else {
		snprintf(buf, cap, "  --%s%s", o->name, arg);
	}
}

/*
 * Write @text word by word from column @col, wrapping before WIDTH and
 * indenting continuation lines to @indent; '\n' in @text breaks the line.
 * Returns the column reached.
 */
static size_t wrap(FILE *f, const char *text, size_t col, size_t indent)
{
	const char *s = text;

	while (*s != '\0') {
		size_t len = strcspn(s, " \n");

		if (col > indent && col + 1 + len > WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)len, s);
		col += len;
		s += len;
		if (*s == '\n') {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		}
		while (*s == ' ' || *s == '\n') {
			s++;
		}
	}
	return col;
}

/* The help column: two spaces after the longest head that fits. */
static size_t help_col(const struct opt_cmd *cmd)
{
	size_t col = 0;
	char h[256];

	for (size_t i = 0; i < cmd->n_opts; i++) {
		size_t len;

		head(&cmd->opts[i], h, sizeof(h));
		len = strlen(h) + 2;
		if (len <= HELP_COL_MAX && len > col) {
			col = len;
		}
	}
	return col > 0 ? col : HELP_COL_MAX;
}

static void one(FILE *f, const char *h, const char *help, const char *def,
		size_t hc)
{
	size_t col;

	fputs(h, f);
	col = strlen(h);
	if (col + 2 > hc) {
		fprintf(f, "\n%*s", (int)hc, "");
	} else {
		fprintf(f, "%*s", (int)(hc - col), "");
	}
	col = wrap(f, help, hc, hc);
	if (def != NULL) {
		char d[300];

		snprintf(d, sizeof(d), "(default %s)", def);
		wrap(f, d, col, hc);
	}
	fputc('\n', f);
}

void opt_help(const struct opt_cmd *cmd, FILE *f)
{
	size_t hc = help_col(cmd);
	char h[256];

	fprintf(f, "usage: %s\n", cmd->usage);
	if (cmd->about != NULL) {
		fprintf(f, "%s\n", cmd->about);
	}
	fputc('\n', f);
	for (size_t i = 0; i < cmd->n_opts; i++) {
		const struct opt *o = &cmd->opts[i];

		head(o, h, sizeof(h));
		one(f, h, o->help, o->def, hc);
	}
	if (opt__find(cmd, "help", 4) == NULL) {
		one(f, "  -h, --help", "this text", NULL, hc);
	}
	if (cmd->epilog != NULL) {
		fprintf(f, "%s", cmd->epilog);
	}
}
