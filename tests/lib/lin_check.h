/* lin_check.h — a linearizability checker for histories of registers
 * (read, write, compare-and-set), one register per key, shared by the
 * runtime-mode simulator (tests/sim/sim_rt_check.c) and the e2e history
 * recorder (tests/e2e/lincheck.c).
 *
 * Linearizability is compositional (Herlihy & Wing, "P-compositionality"):
 * each key is checked alone.  Per key the search is Wing & Gong's with
 * Lowe's memoisation ("Testing for linearizability", 2017): walk the call
 * and return events in time order, linearize a pending call when the
 * register allows it, backtrack when a return is reached whose call is not
 * linearized; a cache of (linearized set, register value) prunes
 * configurations already explored.
 */
#ifndef FABRAFT_LIN_CHECK_H
#define FABRAFT_LIN_CHECK_H

#include <stddef.h>
#include <stdint.h>

enum lin_kind {
	LIN_READ = 1, /* returns a (0 = nil) */
	LIN_WRITE,    /* sets a */
	LIN_CAS,      /* sets b if the value is a */
};

enum lin_outcome {
	LIN_OK = 1,   /* answered; a CAS that answered OK swapped */
	LIN_CAS_MISS, /* a CAS that ran and found another value */
	/* No definite answer: a write or CAS may take effect at any point
	 * after its call, or never (its return is taken as +infinity); a
	 * read without an answer constrains nothing and is left out. */
	LIN_UNKNOWN,
	LIN_NOT_RUN, /* certainly not executed: left out */
};

/* One operation.  Values are unique per write and never 0 (0 is the
 * initial register value, "no key"). */
struct lin_op {
	uint64_t key;
	uint64_t a;	 /* READ: value read; WRITE: value; CAS: expected */
	uint64_t b;	 /* CAS: new value */
	uint64_t t_call; /* any unit, one clock for the whole history */
	uint64_t t_ret;	 /* ignored for LIN_UNKNOWN */
	uint8_t kind;	 /* enum lin_kind */
	uint8_t outcome; /* enum lin_outcome */
};

enum lin_verdict {
	LIN_LINEARIZABLE = 0,
	LIN_VIOLATION = 1, /* some key has no linearization */
	LIN_UNDECIDED = 2, /* the search budget ran out first: no verdict */
};

struct lin_report {
	int verdict;		/* enum lin_verdict */
	uint64_t key;		/* the first key that failed or was undecided */
	uint32_t keys;		/* keys checked */
	uint32_t ops;		/* operations checked */
	uint32_t unknown;	/* of which with an unknown outcome */
	uint32_t dropped;	/* left out (not run, unanswered reads, unknown
				   writes nobody could have observed) */
	uint64_t steps;		/* search steps, all keys */
	uint64_t max_key_steps; /* search steps of the costliest key */
	char why[384];		/* for a violation or undecided */
};

/**
 * Check @ops (@n of them, any order, any mix of keys).  @budget bounds the
 * search steps of one key (0: 50 million); a key that needs more makes the
 * verdict LIN_UNDECIDED (never a silent pass).  Fills @r and returns its
 * verdict; aborts only when out of memory.
 */
int lin_check(const struct lin_op *ops, size_t n, uint64_t budget,
	      struct lin_report *r);

/* "linearizable", "NOT linearizable", "undecided". */
const char *lin_verdict_name(int verdict);

#endif /* FABRAFT_LIN_CHECK_H */
