/* lin_search.c — Wing & Gong's search with Lowe's memoisation over one
 * key's call and return events.
 *
 * The linearized set is a bitset over the operations in call order.  A
 * search mostly linearizes operations roughly in call order, so the set is
 * "everything below some word, plus a few bits above": the cache stores
 * only the words from the first one not full to the last one not empty,
 * which keeps a cache entry small on histories of tens of thousands of
 * operations. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lin_int.h"

struct ev {
	struct ev *prev;
	struct ev *next;
	struct ev *match; /* call <-> return */
	uint64_t t;
	uint32_t id; /* operation */
	bool call;
};

struct entry {
	uint64_t hash;
	uint64_t state;
	size_t off; /* first word in the arena */
	uint32_t lo;
	uint32_t len;
};

struct cache {
	struct entry *e;
	size_t n, cap;
	uint64_t *arena;
	size_t a_n, a_cap;
	uint32_t *slot; /* entry index + 1; 0 = empty */
	size_t n_slots;
};

struct search {
	struct lin_run *run;
	struct ev *ev; /* 2n events, then the list head */
	struct ev *head;
	uint64_t *bits;
	uint32_t words;
	uint32_t lo; /* every word below is full */
	uint32_t hi; /* every word from here on is empty */
	struct cache c;
};

/* ---- the register ---- */

static bool apply(const struct lin_op *o, uint64_t s, uint64_t *out)
{
	*out = s;
	switch (o->kind) {
	case LIN_READ:
		return o->a == s;
	case LIN_WRITE:
		*out = o->a;
		return true;
	default: /* LIN_CAS */
		if (o->outcome == LIN_OK) {
			*out = o->b;
			return s == o->a;
		}
		if (o->outcome == LIN_CAS_MISS) {
			return s != o->a;
		}
		*out = s == o->a ? o->b : s; /* unknown: ran, or not */
		return true;
	}
}

/* ---- the linearized set ---- */

static void bit_set(struct search *s, uint32_t id)
{
	s->bits[id / 64] |= 1ull << (id % 64);
	if (id / 64 + 1 > s->hi) {
		s->hi = id / 64 + 1;
	}
	while (s->lo < s->words && s->bits[s->lo] == UINT64_MAX) {
		s->lo++;
	}
}

static void bit_clear(struct search *s, uint32_t id)
{
	s->bits[id / 64] &= ~(1ull << (id % 64));
	if (id / 64 < s->lo) {
		s->lo = id / 64;
	}
	while (s->hi > 0 && s->bits[s->hi - 1] == 0) {
		s->hi--;
	}
}

/* ---- the cache of (linearized set, state) ---- */

static uint64_t hash_of(const struct search *s, uint64_t state)
{
	uint64_t h = (state + s->lo) * 0x9e3779b97f4a7c15ull;

	for (uint32_t i = s->lo; i < s->hi; i++) {
		h ^= s->bits[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	}
	return h ? h : 1;
}

static bool same(const struct search *s, const struct entry *e, uint64_t h,
		 uint64_t state)
{
	uint32_t len = s->hi > s->lo ? s->hi - s->lo : 0;

	return e->hash == h && e->state == state && e->lo == s->lo &&
	       e->len == len &&
	       memcmp(&s->c.arena[e->off], &s->bits[s->lo], (size_t)len * 8u) ==
		   0;
}

static void rehash(struct cache *c)
{
	free(c->slot);
	c->n_slots = c->n_slots ? c->n_slots * 2 : 4096;
	c->slot = lin_alloc(c->n_slots, sizeof(*c->slot));
	for (size_t i = 0; i < c->n; i++) {
		size_t k = c->e[i].hash % c->n_slots;

		while (c->slot[k] != 0) {
			k = (k + 1) % c->n_slots;
		}
		c->slot[k] = (uint32_t)(i + 1);
	}
}

static void *grow(void *p, size_t *cap, size_t want, size_t size)
{
	if (want <= *cap) {
		return p;
	}
	*cap = want > *cap * 2 ? want : *cap * 2;
	p = realloc(p, *cap * size);
	if (p == NULL) {
		fprintf(stderr, "lin_check: out of memory\n");
		abort();
	}
	return p;
}

/* Remember the current set with @state; false if it was seen before. */
static bool cache_add(struct search *s, uint64_t state)
{
	struct cache *c = &s->c;
	uint64_t h = hash_of(s, state);
	uint32_t len = s->hi > s->lo ? s->hi - s->lo : 0;
	size_t k;

	if ((c->n + 1) * 2 > c->n_slots) {
		rehash(c);
	}
	for (k = h % c->n_slots; c->slot[k] != 0; k = (k + 1) % c->n_slots) {
		/* A used slot names an entry, so c->e is set. */
		if (c->e != NULL && same(s, &c->e[c->slot[k] - 1], h, state)) {
			return false;
		}
	}
	c->e = grow(c->e, &c->cap, c->n + 1, sizeof(*c->e));
	c->arena = grow(c->arena, &c->a_cap, c->a_n + len, sizeof(uint64_t));
	memcpy(&c->arena[c->a_n], &s->bits[s->lo], (size_t)len * 8u);
	c->e[c->n] = (struct entry){h, state, c->a_n, s->lo, len};
	c->a_n += len;
	c->slot[k] = (uint32_t)++c->n;
	return true;
}

/* ---- the event list ---- */

static int ev_cmp(const void *x, const void *y)
{
	const struct ev *a = x;
	const struct ev *b = y;

	if (a->t != b->t) {
		return a->t < b->t ? -1 : 1;
	}
	/* Calls first on a tie: the two operations count as concurrent. */
	if (a->call != b->call) {
		return a->call ? -1 : 1;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

static void build(struct search *s)
{
	const struct lin_run *r = s->run;
	/* An array of pointers. */
	struct ev **call_of = lin_alloc(r->n, sizeof(void *));
	uint32_t m = 2 * r->n;

	s->ev = lin_alloc(m + 1, sizeof(*s->ev));
	for (uint32_t i = 0; i < r->n; i++) {
		const struct lin_op *o = r->op[i];
		uint64_t ret =
		    o->outcome == LIN_UNKNOWN ? UINT64_MAX : o->t_ret;

		s->ev[(size_t)2 * i] =
		    (struct ev){.t = o->t_call, .id = i, .call = 1};
		/* A return before its call (a bad clock) counts as at it. */
		s->ev[(size_t)2 * i + 1] = (struct ev){
		    .t = ret < o->t_call ? o->t_call : ret, .id = i};
	}
	qsort(s->ev, m, sizeof(*s->ev), ev_cmp);
	for (uint32_t i = 0; i < m; i++) {
		if (s->ev[i].call) {
			call_of[s->ev[i].id] = &s->ev[i];
		}
	}
	for (uint32_t i = 0; i < m; i++) {
		if (!s->ev[i].call) {
			s->ev[i].match = call_of[s->ev[i].id];
			call_of[s->ev[i].id]->match = &s->ev[i];
		}
	}
	free(call_of);
	s->head = &s->ev[m];
	s->head->next = m ? &s->ev[0] : NULL;
	for (uint32_t i = 0; i < m; i++) {
		s->ev[i].prev = i ? &s->ev[i - 1] : s->head;
		s->ev[i].next = i + 1 < m ? &s->ev[i + 1] : NULL;
	}
}

static void lift(struct ev *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->match->prev->next = e->match->next;
	if (e->match->next != NULL) {
		e->match->next->prev = e->match->prev;
	}
}

static void unlift(struct ev *e)
{
	e->match->prev->next = e->match;
	if (e->match->next != NULL) {
		e->match->next->prev = e->match;
	}
	e->prev->next = e;
	e->next->prev = e;
}

/* ---- the search ---- */

struct frame {
	struct ev *e;
	uint64_t state;
};

static int walk(struct search *s, struct frame *stack)
{
	struct lin_run *r = s->run;
	struct ev *e = s->head->next;
	uint64_t state = 0, ns;
	uint32_t top = 0;

	while (s->head->next != NULL) {
		if (++r->steps > r->budget) {
			return LIN_UNDECIDED;
		}
		if (e->call) {
			bit_set(s, e->id);
			if (apply(r->op[e->id], state, &ns) &&
			    cache_add(s, ns)) {
				stack[top++] = (struct frame){e, state};
				state = ns;
				lift(e);
				e = s->head->next;
				continue;
			}
			bit_clear(s, e->id);
			e = e->next;
			continue;
		}
		/* A return whose call is not linearized: back off. */
		if (top >= r->best_depth) {
			r->best_depth = top;
			r->stuck = e->id;
			r->stuck_state = state;
		}
		if (top == 0) {
			return LIN_VIOLATION;
		}
		top--;
		e = stack[top].e;
		state = stack[top].state;
		bit_clear(s, e->id);
		unlift(e);
		e = e->next;
	}
	return LIN_LINEARIZABLE;
}

int lin_search(struct lin_run *r)
{
	struct search s = {.run = r, .words = (r->n + 63) / 64};
	struct frame *stack = lin_alloc(r->n + 1, sizeof(*stack));
	int verdict;

	s.bits = lin_alloc(s.words + 1, sizeof(*s.bits));
	build(&s);
	verdict = walk(&s, stack);
	free(stack);
	free(s.bits);
	free(s.ev);
	free(s.c.e);
	free(s.c.arena);
	free(s.c.slot);
	return verdict;
}

static void describe(const struct lin_op *o, char *buf, size_t len)
{
	static const char *const outcome[] = {"?", "ok", "miss", "unknown",
					      "not run"};
	static const char *const kind[] = {"?", "read", "write", "cas"};
	char ret[32] = "?";

	if (o->outcome == LIN_UNKNOWN) {
		snprintf(ret, sizeof(ret), "never");
	} else {
		snprintf(ret, sizeof(ret), "%" PRIu64, o->t_ret);
	}
	if (o->kind == LIN_CAS) {
		snprintf(buf, len,
			 "cas %" PRIu64 "->%" PRIu64 " (%s) %" PRIu64 "..%s",
			 o->a, o->b, outcome[o->outcome], o->t_call, ret);
		return;
	}
	snprintf(buf, len, "%s %" PRIu64 " (%s) %" PRIu64 "..%s", kind[o->kind],
		 o->a, outcome[o->outcome], o->t_call, ret);
}

void lin_explain(const struct lin_run *r, char *why, size_t why_len)
{
	char op[160];

	describe(r->op[r->stuck], op, sizeof(op));
	snprintf(why, why_len,
		 "key %" PRIu64 ": no linearization of %u operations; the "
		 "longest linearized prefix (%u operations) ends with the "
		 "register at %" PRIu64 " and then cannot place %s",
		 r->op[0]->key, r->n, r->best_depth, r->stuck_state, op);
}
