/* lin_check.c — per-key preparation and the verdict over all keys (the
 * search itself is in lin_search.c). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lin_check.h"
#include "lin_int.h"

const char *lin_verdict_name(int verdict)
{
	return verdict == LIN_LINEARIZABLE ? "linearizable"
	       : verdict == LIN_VIOLATION  ? "NOT linearizable"
					   : "undecided";
}

void *lin_alloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL) {
		fprintf(stderr, "lin_check: out of memory\n");
		abort();
	}
	return p;
}

static int cmp_key_call(const void *x, const void *y)
{
	const struct lin_op *a = *(const struct lin_op *const *)x;
	const struct lin_op *b = *(const struct lin_op *const *)y;

	if (a->key != b->key) {
		return a->key < b->key ? -1 : 1;
	}
	if (a->t_call != b->t_call) {
		return a->t_call < b->t_call ? -1 : 1;
	}
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x;
	uint64_t b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Left out before the search: what certainly did not run, reads without
 * an answer. */
static bool left_out(const struct lin_op *o)
{
	return o->outcome == LIN_NOT_RUN ||
	       (o->kind == LIN_READ && o->outcome != LIN_OK) ||
	       o->kind < LIN_READ || o->kind > LIN_CAS || o->outcome < LIN_OK ||
	       o->outcome > LIN_NOT_RUN;
}

/* A write of unknown outcome whose value no read saw may be taken as
 * never run: any linearization with it stays one without it when nothing
 * compares against the register (no CAS on the key).  This keeps
 * pending-forever writes out of the search, where each would double the
 * configurations. */
static uint32_t drop_unseen(const struct lin_op **v, uint32_t n)
{
	uint64_t *seen = lin_alloc(n, sizeof(*seen));
	uint32_t k = 0, m = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (v[i]->kind == LIN_CAS) {
			free(seen);
			return n;
		}
		if (v[i]->kind == LIN_READ) {
			seen[k++] = v[i]->a;
		}
	}
	qsort(seen, k, sizeof(*seen), cmp_u64);
	for (uint32_t i = 0; i < n; i++) {
		if (v[i]->kind == LIN_WRITE && v[i]->outcome == LIN_UNKNOWN &&
		    bsearch(&v[i]->a, seen, k, sizeof(*seen), cmp_u64) ==
			NULL) {
			continue;
		}
		v[m++] = v[i];
	}
	free(seen);
	return m;
}

static void count_key(struct lin_report *r, const struct lin_op **v, uint32_t n,
		      uint32_t dropped, const struct lin_run *run)
{
	r->keys++;
	r->ops += n;
	r->dropped += dropped;
	for (uint32_t i = 0; i < n; i++) {
		r->unknown += v[i]->outcome == LIN_UNKNOWN;
	}
	r->steps += run->steps;
	if (run->steps > r->max_key_steps) {
		r->max_key_steps = run->steps;
	}
}

/* Check one key's operations @v (@n, sorted by call); 0 or a verdict with
 * @r->why written. */
static int check_key(const struct lin_op **v, uint32_t n, uint64_t budget,
		     struct lin_report *r)
{
	struct lin_run run = {.op = v, .budget = budget};
	uint32_t kept = drop_unseen(v, n);
	int verdict;

	run.n = kept;
	verdict = lin_search(&run);
	count_key(r, v, kept, n - kept, &run);
	if (verdict == LIN_UNDECIDED) {
		snprintf(r->why, sizeof(r->why),
			 "key %" PRIu64 ": undecided after %" PRIu64
			 " search steps (%u operations): the budget ran out "
			 "before a linearization was found or ruled out",
			 v[0]->key, run.steps, kept);
	} else if (verdict == LIN_VIOLATION) {
		lin_explain(&run, r->why, sizeof(r->why));
	}
	return verdict;
}

int lin_check(const struct lin_op *ops, size_t n, uint64_t budget,
	      struct lin_report *r)
{
	/* An array of pointers. */
	const struct lin_op **v = lin_alloc(n, sizeof(void *));
	uint32_t m = 0;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		if (left_out(&ops[i])) {
			r->dropped++;
		} else {
			v[m++] = &ops[i];
		}
	}
	qsort(v, m, sizeof(void *), cmp_key_call);
	for (uint32_t i = 0, j; i < m; i = j) {
		for (j = i; j < m && v[j]->key == v[i]->key; j++) {
		}
		int verdict =
		    check_key(v + i, j - i, budget ? budget : 50000000, r);
		if (verdict != LIN_LINEARIZABLE) {
			/* A violation outranks an undecided key. */
			if (r->verdict != LIN_VIOLATION) {
				r->verdict = verdict;
				r->key = v[i]->key;
			}
			if (verdict == LIN_VIOLATION) {
				break;
			}
		}
	}
	free(v);
	return r->verdict;
}
