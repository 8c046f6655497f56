/* lin_int.h — private to lin_check.c and lin_search.c. */
#ifndef FABRAFT_LIN_INT_H
#define FABRAFT_LIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lin_check.h"

/* One key's search. */
struct lin_run {
	const struct lin_op **op; /* the key's operations, by call time */
	uint32_t n;
	uint64_t budget; /* steps allowed */
	uint64_t steps;	 /* steps taken */
	/* The deepest configuration reached, for the report. */
	uint32_t best_depth; /* operations linearized there */
	uint32_t stuck;	     /* the operation that could not follow */
	uint64_t stuck_state;
};

/* calloc() that aborts when out of memory. */
void *lin_alloc(size_t n, size_t size);
/* LIN_LINEARIZABLE, LIN_VIOLATION or LIN_UNDECIDED. */
int lin_search(struct lin_run *run);
/* Describe a violation found by lin_search(). */
void lin_explain(const struct lin_run *run, char *why, size_t why_len);

#endif /* FABRAFT_LIN_INT_H */
