/* opt_value.c — check one option's value against its table entry and
 * store it. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "opt_int.h"

/* Longest comma list item (a name or an integer). */
#define ITEM_MAX 64

/* An unsigned integer: decimal, or hex after "0x"; no sign, no spaces. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	char buf[ITEM_MAX];
	const char *digits = buf;
	char *end;
	int base = 10;
	unsigned long long v;

	if (len == 0 || len >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
		base = 16;
		digits = buf + 2;
	}
	/* strtoull would skip spaces and take a sign: refuse both. */
	if (base == 10 ? !isdigit((unsigned char)digits[0])
		       : !isxdigit((unsigned char)digits[0])) {
		return false;
	}
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno != 0 || *end != '\0') {
		return false;
	}
	*out = v;
	return true;
}

static bool in_range(const struct opt *o, uint64_t v)
{
	return v >= o->min && v <= o->max;
}

static bool parse_double(const struct opt *o, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || s[0] == ' ') {
		return false;
	}
	/* Written so that NaN fails every comparison. */
	if (!(o->min_open ? v > o->dmin : v >= o->dmin) || !(v <= o->dmax)) {
		return false;
	}
	*out = v;
	return true;
}

static const struct opt_choice *choice(const struct opt *o, const char *s,
				       size_t len)
{
	for (const struct opt_choice *c = o->choices; c->name != NULL; c++) {
		if (strlen(c->name) == len && memcmp(c->name, s, len) == 0) {
			return c;
		}
	}
	return NULL;
}

/*
 * Walk the comma list @s: each item must be valid for @o (an integer in
 * range for OPT_LIST, a choice for OPT_NAMES).  With @store, the values
 * are written; a first pass without it validates, so that a bad list
 * leaves the destination untouched.
 */
static bool walk_list(const struct opt *o, const char *s, bool store)
{
	uint32_t n = 0;
	uint32_t cap =
	    o->count != NULL ? (uint32_t)o->size : (uint32_t)o->size - 1;
	unsigned mask = 0;

	if (*s == '\0') {
		return false;
	}
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		uint64_t v;

		if (o->type == OPT_NAMES) {
			const struct opt_choice *c = choice(o, s, len);

			if (c == NULL) {
				return false;
			}
			mask |= 1u << c->value;
		} else {
			if (n == cap || !parse_u64(s, len, &v) ||
			    !in_range(o, v)) {
				return false;
			}
			if (store) {
				((uint32_t *)o->dst)[n] = (uint32_t)v;
			}
			n++;
		}
		if (comma == NULL) {
			break;
		}
		s = comma + 1;
	}
	if (store && o->type == OPT_NAMES) {
		*(unsigned *)o->dst = mask;
	} else if (store && o->count != NULL) {
		*o->count = n;
	} else if (store) {
		((uint32_t *)o->dst)[n] = 0;
	}
	return true;
}

static bool on_off(const char *v, bool *out)
{
	if (strcmp(v, "on") == 0) {
		*out = true;
	} else if (strcmp(v, "off") == 0) {
		*out = false;
	} else {
		return false;
	}
	return true;
}

static bool store_string(const struct opt *o, const char *v)
{
	size_t len = strlen(v);

	if (len == 0) {
		return false;
	}
	if (o->size == 0) {
		*(const char **)o->dst = v;
		return true;
	}
	if (len >= o->size) {
		return false;
	}
	memcpy(o->dst, v, len + 1);
	return true;
}

static bool store_enum(const struct opt *o, const char *v)
{
	const struct opt_choice *c = choice(o, v, strlen(v));

	if (c == NULL) {
		return false;
	}
	if (o->size == 0) {
		*(int *)o->dst = c->value;
	} else {
		assert(strlen(c->name) < o->size);
		memcpy(o->dst, c->name, strlen(c->name) + 1);
	}
	return true;
}

/* A value-less flag; in a config file it reads on|off (on: as given). */
static bool store_flag(const struct opt *o, const char *v)
{
	bool given = true;

	if (v != NULL && !on_off(v, &given)) {
		return false;
	}
	*(bool *)o->dst = o->type == OPT_FLAG ? given : !given;
	return true;
}

static bool store_int(const struct opt *o, const char *v)
{
	uint64_t x;

	if (!parse_u64(v, strlen(v), &x) || !in_range(o, x)) {
		return false;
	}
	if (o->type == OPT_INT) {
		assert(o->max <= INT_MAX);
		*(int *)o->dst = (int)x;
	} else if (o->type == OPT_UINT) {
		assert(o->max <= UINT32_MAX);
		*(uint32_t *)o->dst = (uint32_t)x;
	} else {
		*(uint64_t *)o->dst = x;
	}
	return true;
}

/* Store @v; false when it is refused (@why may say why). */
static bool store(const struct opt *o, const char *v, char *why, size_t why_cap)
{
	switch (o->type) {
	case OPT_FLAG:
	case OPT_NOFLAG:
		return store_flag(o, v);
	case OPT_BOOL:
		return on_off(v, (bool *)o->dst);
	case OPT_INT:
	case OPT_UINT:
	case OPT_U64:
		return store_int(o, v);
	case OPT_DOUBLE:
		return parse_double(o, v, (double *)o->dst);
	case OPT_STRING:
		return store_string(o, v);
	case OPT_ENUM:
		return store_enum(o, v);
	case OPT_NAMES:
	case OPT_LIST:
		return walk_list(o, v, false) && walk_list(o, v, true);
	case OPT_CALL:
		return o->fn(o, v, why, why_cap) == 0;
	case OPT_CONFIG:
		break;
	}
	assert(false);
	return false;
}

int opt__apply(const struct opt_cmd *cmd, const struct opt *o,
	       const char *value, const char *where, bool in_file)
{
	char why[256] = "";
	char want[256];
	int rv;

	if (o->type == OPT_CONFIG) {
		if (in_file) {
			fprintf(
			    opt__err(cmd),
			    "%s: %s: a config file cannot include another\n",
			    cmd->prog, where);
			return FR_INVALID;
		}
		rv = opt_config_file(cmd, value);
		if (rv == 0 && o->seen != NULL) {
			*o->seen = true;
		}
		return rv;
	}
	/* A config line does not outlive the parse: a string kept by
	 * reference can only come from argv. */
	if (in_file && o->type == OPT_STRING && o->size == 0) {
		fprintf(opt__err(cmd),
			"%s: %s: can be set on the command line only\n",
			cmd->prog, where);
		return FR_INVALID;
	}
	if (!store(o, value, why, sizeof(why))) {
		if (why[0] != '\0') {
			fprintf(opt__err(cmd), "%s: %s: %s\n", cmd->prog, where,
				why);
			return FR_INVALID;
		}
		opt__want(o, want, sizeof(want));
		fprintf(opt__err(cmd), "%s: %s: want %s, got '%.*s%s'\n",
			cmd->prog, where, want, OPT__QUOTE_MAX, value,
			strlen(value) > OPT__QUOTE_MAX ? "..." : "");
		return FR_INVALID;
	}
	if (o->seen != NULL) {
		*o->seen = true;
	}
	return 0;
}
