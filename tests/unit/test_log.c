/* test_log.c — the in-memory log and the corrected §5.3 merge rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"
#include "log.h"

/* Build a log whose entry terms are @terms[0..n) from index 1. */
static void log_of(struct raft_log *l, const raft_term *terms, unsigned n)
{
	raft_log_init(l);
	for (unsigned i = 0; i < n; i++) {
		char payload[16];
		int len = snprintf(payload, sizeof(payload), "e%u.%llu", i + 1,
				   (unsigned long long)terms[i]);
		assert_int_equal(raft_log_append(l, terms[i], RAFT_ENTRY_NORMAL,
						 payload, (uint32_t)len),
				 0);
	}
}

static void entries_of(struct raft_entry *e, raft_index first,
		       const raft_term *terms, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		e[i] = (struct raft_entry){.term = terms[i],
					   .index = first + i,
					   .type = RAFT_ENTRY_NORMAL,
					   .len = 1,
					   .buf = "x"};
	}
}

static void append_and_lookup(void **state)
{
	(void)state;
	struct raft_log l;
	raft_term t[] = {1, 1, 2, 3, 3};
	log_of(&l, t, 5);
	assert_int_equal(raft_log_last_index(&l), 5);
	assert_int_equal(raft_log_last_term(&l), 3);
	assert_int_equal(raft_log_term_of(&l, 0), 0);
	assert_int_equal(raft_log_term_of(&l, 3), 2);
	assert_int_equal(raft_log_term_of(&l, 6), 0);
	assert_null(raft_log_get(&l, 0));
	assert_null(raft_log_get(&l, 6));
	assert_int_equal(raft_log_get(&l, 4)->index, 4);
	assert_true(raft_log_matches(&l, 0, 0));
	assert_true(raft_log_matches(&l, 5, 3));
	assert_false(raft_log_matches(&l, 5, 2));
	assert_false(raft_log_matches(&l, 6, 3));
	assert_int_equal(raft_log_term_start(&l, 5), 4);
	assert_int_equal(raft_log_term_start(&l, 2), 1);
	assert_int_equal(raft_log_last_of_term(&l, 1, 5), 2);
	assert_int_equal(raft_log_last_of_term(&l, 2, 5), 3);
	assert_int_equal(raft_log_last_of_term(&l, 4, 5), 0);
	raft_log_truncate(&l, 3);
	assert_int_equal(raft_log_last_index(&l), 2);
	raft_log_close(&l);
}

/*
 * The Raft paper's reference rule, as the issue states it: if the entry at
 * prev_index carries prev_term, replace everything after prev_index with
 * the message's entries.  Kept here only to show why ours differs.
 */
static void reference_append(struct raft_log *l, raft_index prev_index,
			     const struct raft_entry *e, uint32_t n)
{
	if (raft_log_last_index(l) > prev_index) {
		raft_log_truncate(l, prev_index + 1);
	}
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(raft_log_append(l, e[i].term, e[i].type,
						 e[i].buf, e[i].len),
				 0);
	}
}

/*
 * A leader sends AppendEntries(prev=0, [1..2]) then (prev=0, [1..4]); the
 * network delivers the longer one first.  Entries 3..4 match the leader
 * and may already count towards a commit.  The delayed shorter message
 * must not remove them: our merge keeps them, the reference cuts them.
 */
static void delayed_shorter_append_keeps_matching_suffix(void **state)
{
	(void)state;
	raft_term lt[] = {1, 1, 1, 1};
	struct raft_entry longer[4], shorter[2];
	entries_of(longer, 1, lt, 4);
	entries_of(shorter, 1, lt, 2);
	raft_index tr, ap;

	struct raft_log ours;
	raft_log_init(&ours);
	assert_int_equal(raft_log_merge(&ours, 0, longer, 4, &tr, &ap), 0);
	assert_int_equal(raft_log_merge(&ours, 0, shorter, 2, &tr, &ap), 0);
	assert_int_equal(raft_log_last_index(&ours), 4);
	assert_int_equal(tr, 0); /* nothing truncated */
	assert_int_equal(ap, 0); /* nothing appended */

	struct raft_log ref;
	raft_log_init(&ref);
	reference_append(&ref, 0, longer, 4);
	reference_append(&ref, 0, shorter, 2);
	/* The reference lost two matching entries. */
	assert_int_equal(raft_log_last_index(&ref), 2);

	raft_log_close(&ours);
	raft_log_close(&ref);
}

/* A conflicting entry truncates from the conflict, not from prev. */
static void merge_truncates_from_first_conflict(void **state)
{
	(void)state;
	struct raft_log l;
	raft_term t[] = {1, 1, 2, 2, 2};
	log_of(&l, t, 5);
	raft_term nt[] = {1, 3, 3};
	struct raft_entry e[3];
	entries_of(e, 2, nt, 3);
	raft_index tr, ap;
	assert_int_equal(raft_log_merge(&l, 1, e, 3, &tr, &ap), 0);
	assert_int_equal(tr, 3);
	assert_int_equal(ap, 3);
	assert_int_equal(raft_log_last_index(&l), 4);
	assert_int_equal(raft_log_term_of(&l, 2), 1);
	assert_int_equal(raft_log_term_of(&l, 3), 3);
	assert_int_equal(raft_log_term_of(&l, 4), 3);
	/* Re-delivery is idempotent. */
	assert_int_equal(raft_log_merge(&l, 1, e, 3, &tr, &ap), 0);
	assert_int_equal(tr, 0);
	assert_int_equal(ap, 0);
	assert_int_equal(raft_log_last_index(&l), 4);
	raft_log_close(&l);
}

/* Out of memory part way leaves a consistent prefix. */
static void merge_oom_keeps_prefix(void **state)
{
	(void)state;
	struct raft_log l;
	raft_log_init(&l);
	raft_term t[] = {1, 1, 1, 1};
	struct raft_entry e[4];
	entries_of(e, 1, t, 4);
	raft_index tr, ap;
	assert_int_equal(raft_log_reserve(&l, 8), 0);
	fr_heap_fault_config(2, 1); /* the third payload copy fails */
	assert_int_equal(raft_log_merge(&l, 0, e, 4, &tr, &ap), FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	assert_int_equal(raft_log_last_index(&l), 2);
	for (raft_index i = 1; i <= 2; i++) {
		assert_int_equal(raft_log_get(&l, i)->index, i);
	}
	raft_log_close(&l);
}

static void append_oom_leaves_log_unchanged(void **state)
{
	(void)state;
	struct raft_log l;
	raft_log_init(&l);
	fr_heap_fault_config(0, 1); /* slot array */
	assert_int_equal(raft_log_append(&l, 1, RAFT_ENTRY_NORMAL, "a", 1),
			 FR_NOMEM);
	assert_int_equal(raft_log_last_index(&l), 0);
	assert_int_equal(raft_log_append(&l, 1, RAFT_ENTRY_NORMAL, "a", 1), 0);
	fr_heap_fault_config(0, 1); /* payload copy */
	assert_int_equal(raft_log_append(&l, 1, RAFT_ENTRY_NORMAL, "b", 1),
			 FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	assert_int_equal(raft_log_last_index(&l), 1);
	raft_log_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(append_and_lookup),
	    cmocka_unit_test(delayed_shorter_append_keeps_matching_suffix),
	    cmocka_unit_test(merge_truncates_from_first_conflict),
	    cmocka_unit_test(merge_oom_keeps_prefix),
	    cmocka_unit_test(append_oom_leaves_log_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
