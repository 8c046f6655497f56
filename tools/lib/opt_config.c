/* opt_config.c — config files: `name = value` lines applied through the
 * same option table as the command line. */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "opt_int.h"

/* Longest line (a peer list of 32 addresses fits several times). */
#define LINE_MAX_BYTES 4096

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r')) {
		*--e = '\0';
	}
	return s;
}

/* One non-blank, non-comment line: "name = value". */
static int line(const struct opt_cmd *cmd, char *s, const char *origin,
		int lineno)
{
	char where[600];
	char *eq = strchr(s, '=');
	const struct opt *o;
	char *name;

	if (eq == NULL) {
		fprintf(opt__err(cmd), "%s: %s:%d: want 'name = value'\n",
			cmd->prog, origin, lineno);
		return FR_INVALID;
	}
	*eq = '\0';
	name = trim(s);
	o = opt__find(cmd, name, strlen(name));
	if (o == NULL) {
		fprintf(opt__err(cmd), "%s: %s:%d: unknown setting '%.64s'\n",
			cmd->prog, origin, lineno, name);
		return FR_INVALID;
	}
	snprintf(where, sizeof(where), "%.500s:%d: %s", origin, lineno,
		 o->name);
	return opt__apply(cmd, o, trim(eq + 1), where, true);
}

int opt_config_read(const struct opt_cmd *cmd, FILE *f, const char *origin)
{
	char buf[LINE_MAX_BYTES];
	int lineno = 0;

	while (fgets(buf, sizeof(buf), f) != NULL) {
		size_t len = strlen(buf);
		char *s;
		int rv;

		lineno++;
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n' &&
		    !feof(f)) {
			fprintf(opt__err(cmd),
				"%s: %s:%d: line longer than %d bytes\n",
				cmd->prog, origin, lineno, LINE_MAX_BYTES - 2);
			return FR_INVALID;
		}
		s = trim(buf);
		if (*s == '#' || *s == '\0') {
			continue;
		}
		rv = line(cmd, s, origin, lineno);
		if (rv != 0) {
			return rv;
		}
	}
	if (ferror(f)) {
		fprintf(opt__err(cmd), "%s: %s: read error\n", cmd->prog,
			origin);
		return FR_IO;
	}
	return 0;
}

int opt_config_file(const struct opt_cmd *cmd, const char *path)
{
	FILE *f = fopen(path, "r");
	int rv;

	if (f == NULL) {
		fprintf(opt__err(cmd), "%s: --config %s: %s\n", cmd->prog, path,
			strerror(errno));
		return FR_IO;
	}
	rv = opt_config_read(cmd, f, path);
	fclose(f);
	return rv;
}
