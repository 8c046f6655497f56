/* opt.c — parse a program's command line with its option table. */
#include <assert.h>
#include <string.h>

#include "err.h"
#include "opt_int.h"

FILE *opt__err(const struct opt_cmd *cmd)
{
	return cmd->err != NULL ? cmd->err : stderr;
}

const struct opt *opt__find(const struct opt_cmd *cmd, const char *name,
			    size_t len)
{
	for (size_t i = 0; i < cmd->n_opts; i++) {
		const struct opt *o = &cmd->opts[i];

		if (strlen(o->name) == len && memcmp(o->name, name, len) == 0) {
			return o;
		}
	}
	return NULL;
}

const struct opt *opt__find_short(const struct opt_cmd *cmd, char c)
{
	for (size_t i = 0; i < cmd->n_opts; i++) {
		if (c != 0 && cmd->opts[i].short_name == c) {
			return &cmd->opts[i];
		}
	}
	return NULL;
}

bool opt__takes_value(const struct opt *o)
{
	return o->type != OPT_FLAG && o->type != OPT_NOFLAG;
}

/* The table is the program's own code: a broken entry is a programmer
 * error, caught on every run whatever the flags. */
static void check_table(const struct opt_cmd *cmd)
{
	assert(cmd->prog != NULL && cmd->opts != NULL);
	for (size_t i = 0; i < cmd->n_opts; i++) {
		const struct opt *o = &cmd->opts[i];

		assert(o->name != NULL && o->help != NULL);
		assert(o->dst != NULL || o->type == OPT_CONFIG);
		assert(o->min <= o->max);
		assert(o->type != OPT_LIST || o->size > (o->count == NULL));
		assert(o->type != OPT_CALL || (o->fn != NULL && o->want));
		assert((o->type != OPT_ENUM && o->type != OPT_NAMES) ||
		       o->choices != NULL);
		assert(opt__find(cmd, o->name, strlen(o->name)) == o);
		(void)o;
	}
}

static bool is_help(const struct opt_cmd *cmd, const char *a)
{
	return (strcmp(a, "--help") == 0 &&
		opt__find(cmd, "help", 4) == NULL) ||
	       (strcmp(a, "-h") == 0 && opt__find_short(cmd, 'h') == NULL);
}

/* Split argv[*i] into its option and value (NULL when it has none);
 * NULL and a message when it names no option. */
static const struct opt *split(const struct opt_cmd *cmd, const char *a,
			       const char **value)
{
	const struct opt *o = NULL;

	*value = NULL;
	if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);

		o = opt__find(cmd, a + 2, len);
		*value = eq != NULL ? eq + 1 : NULL;
		if (o == NULL) {
			fprintf(opt__err(cmd),
				"%s: unknown option '--%.*s' (see --help)\n",
				cmd->prog, (int)(len < 64 ? len : 64), a + 2);
		}
		return o;
	}
	if (a[0] == '-' && a[1] != '\0' && a[2] == '\0') {
		o = opt__find_short(cmd, a[1]);
		if (o == NULL) {
			fprintf(opt__err(cmd),
				"%s: unknown option '%s' (see --help)\n",
				cmd->prog, a);
		}
		return o;
	}
	fprintf(opt__err(cmd), "%s: unexpected argument '%.*s' (see --help)\n",
		cmd->prog, OPT__QUOTE_MAX, a);
	return NULL;
}

int opt_parse(const struct opt_cmd *cmd, int argc, char *const argv[],
	      bool *help)
{
	*help = false;
	check_table(cmd);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *value;
		const struct opt *o;
		char where[80];
		int rv;

		if (is_help(cmd, a)) {
			opt_help(cmd, cmd->out != NULL ? cmd->out : stdout);
			*help = true;
			return 0;
		}
		o = split(cmd, a, &value);
		if (o == NULL) {
			return FR_INVALID;
		}
		snprintf(where, sizeof(where), "--%s", o->name);
		if (!opt__takes_value(o) && value != NULL) {
			fprintf(opt__err(cmd), "%s: %s takes no value\n",
				cmd->prog, where);
			return FR_INVALID;
		}
		if (opt__takes_value(o) && value == NULL) {
			if (i + 1 == argc) {
				fprintf(opt__err(cmd), "%s: %s needs a value\n",
					cmd->prog, where);
				return FR_INVALID;
			}
			value = argv[++i];
		}
		rv = opt__apply(cmd, o, value, where, false);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

int opt_parse_main(const struct opt_cmd *cmd, const struct opt *opts,
		   size_t n_opts, int argc, char *const argv[])
{
	struct opt_cmd c = *cmd;
	bool help;

	assert(cmd->opts == NULL);
	c.opts = opts;
	c.n_opts = n_opts;
	if (opt_parse(&c, argc, argv, &help) != 0) {
		return 2;
	}
	return help ? 0 : -1;
}
