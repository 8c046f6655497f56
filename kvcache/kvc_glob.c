/* kvc_glob.c — Redis-style glob matching for SCAN MATCH. */
#include <string.h>

#include "kvc_int.h"

/*
 * The pattern language of Redis' MATCH: `*` any run of bytes, `?` one
 * byte, `[abc]` one of a set, `[^abc]` none of it, `[a-z]` a range (either
 * order), `\x` the byte x (also inside a set); a `\` at the pattern's end
 * matches itself; a set without its `]` runs to the pattern's end; `[]`
 * matches nothing.  Byte-wise and case-sensitive; keys may hold any byte.
 *
 * One pass with a single backtrack point (the last `*`): every other token
 * matches exactly one byte, so on a mismatch it suffices to let the last
 * star swallow one more byte.  Work is at most (pattern bytes + 1) x (key
 * bytes + 1) token steps, counted in *steps so that callers can bound a
 * whole scan.
 */

/* Does the set starting after '[' at @p (up to @end) match @ch?  Sets
 * *@next to the byte after the closing ']' (or @end). */
static bool class_match(const char *p, const char *end, unsigned char ch,
			const char **next)
{
	bool neg = p < end && *p == '^';
	bool hit = false;
	p += neg;
	while (p < end && *p != ']') {
		if (*p == '\\' && end - p >= 2) {
			p++;
			hit |= (unsigned char)*p == ch;
		} else if (end - p >= 3 && p[1] == '-') {
			unsigned char lo = (unsigned char)p[0];
			unsigned char hi = (unsigned char)p[2];
			if (lo > hi) {
				unsigned char t = lo;
				lo = hi;
				hi = t;
			}
			hit |= ch >= lo && ch <= hi;
			p += 2;
		} else {
			hit |= (unsigned char)*p == ch;
		}
		p++;
	}
	*next = p < end ? p + 1 : end;
	return hit != neg;
}

/* Match one non-star token at @p against @ch; *@next is the token's end. */
static bool token_match(const char *p, const char *end, unsigned char ch,
			const char **next)
{
	switch (*p) {
	case '?':
		*next = p + 1;
		return true;
	case '[':
		return class_match(p + 1, end, ch, next);
	case '\\':
		if (end - p >= 2) {
			p++;
		}
		break;
	default:
		break;
	}
	*next = p + 1;
	return (unsigned char)*p == ch;
}

bool kvc__glob_match(const char *pat, size_t plen, const char *s, size_t slen,
		     uint64_t *steps)
{
	const char *p = pat;
	const char *pend = pat + plen;
	const char *star = NULL; /* pattern just after the last '*' */
	size_t star_s = 0;	 /* key position that star swallowed up to */
	size_t i = 0;
	while (i < slen) {
		const char *next;
		(*steps)++;
		if (p < pend && *p == '*') {
			while (p < pend && *p == '*') {
				p++;
			}
			star = p;
			star_s = i;
		} else if (p < pend &&
			   token_match(p, pend, (unsigned char)s[i], &next)) {
			p = next;
			i++;
		} else if (star != NULL) {
			p = star;
			i = ++star_s;
		} else {
			return false;
		}
	}
	while (p < pend && *p == '*') {
		p++;
	}
	return p == pend;
}
