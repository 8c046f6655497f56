/* log.h — the in-memory Raft log: append, term lookup, truncation (private). */
#ifndef FABRAFT_LOG_H
#define FABRAFT_LOG_H

#include "raft.h"

/*
 * Design notes
 * ============
 * Entries live in one array in index order: entries[i] has index
 * offset + 1 + i.  `offset` is the last index covered by a snapshot (0 when
 * none) and `offset_term` its term, so term lookups at the compaction point
 * still answer (needed by the AppendEntries consistency check).
 *
 * Invariants:
 *  1. entries[i].index == offset + 1 + i.
 *  2. Terms never decrease along the log.
 *  3. Each entry's payload (buf, len) is owned by the log; len == 0 <=>
 *     buf == NULL.
 *
 * A single array keeps every slice the core hands out (entries to persist,
 * to send, to apply) contiguous.  Pointers into it are invalidated by the
 * next append (realloc), which is why the core resolves them only when it
 * finishes a step.
 */
struct raft_log {
	struct raft_entry *entries; /* owned array, `cap` slots */
	uint64_t n;		    /* entries in use */
	uint64_t cap;		    /* slots allocated */
	raft_index offset;	    /* index before entries[0] */
	raft_term offset_term;	    /* term at `offset` (0 if offset == 0) */
};

void raft_log_init(struct raft_log *l);
void raft_log_close(struct raft_log *l);

/** Index of the last entry (offset when empty). */
raft_index raft_log_last_index(const struct raft_log *l);
/** Term of the last entry (offset_term when empty). */
raft_term raft_log_last_term(const struct raft_log *l);
/** Term at @index: offset_term at the offset, 0 when not held. */
raft_term raft_log_term_of(const struct raft_log *l, raft_index index);
/** Entry at @index, NULL when not held. */
const struct raft_entry *raft_log_get(const struct raft_log *l,
				      raft_index index);
/** True when the log holds (@index, @term), or @index is the offset with
 * that term (index 0 always matches term 0). */
bool raft_log_matches(const struct raft_log *l, raft_index index,
		      raft_term term);

/** Make room for @n more entries, so that @n appends cannot fail for lack
 * of slots.  Returns 0 or FR_NOMEM. */
int raft_log_reserve(struct raft_log *l, uint64_t n)
    __attribute__((warn_unused_result));

/** Append a copy of @buf as entry last+1 with @term and @type.  @term must
 * be >= the last term.  Returns 0 or FR_NOMEM (log unchanged). */
int raft_log_append(struct raft_log *l, raft_term term, uint8_t type,
		    const void *buf, uint32_t len)
    __attribute__((warn_unused_result));

/** Drop every entry with index >= @from (from > offset). */
void raft_log_truncate(struct raft_log *l, raft_index from);

/** Drop every entry with index <= @upto (offset < upto <= last index): the
 * prefix a snapshot covers.  The term at @upto is kept as offset_term. */
void raft_log_compact(struct raft_log *l, raft_index upto);

/** Drop the whole log; it now starts after (@index, @term) (a snapshot
 * installed over a log that does not hold that entry). */
void raft_log_reset(struct raft_log *l, raft_index index, raft_term term);

/**
 * The AppendEntries rule of §5.3 with the paper's correction: @entries
 * (consecutive from @prev_index + 1, already validated) are merged into a
 * log that matches at @prev_index.  Entries already present with the same
 * term are kept; the log is truncated only from the first entry whose term
 * conflicts, then the rest is appended.  A delayed or duplicated message
 * therefore never removes entries that match.
 *
 * @truncated_from: set to the first index removed, 0 if none.
 * @appended_from: set to the first index appended, 0 if none.
 * Returns 0, or FR_NOMEM having merged a prefix of @entries (consistent).
 */
int raft_log_merge(struct raft_log *l, raft_index prev_index,
		   const struct raft_entry *entries, uint32_t n,
		   raft_index *truncated_from, raft_index *appended_from)
    __attribute__((warn_unused_result));

/** First index of the run of @term that contains @index (for the reject
 * hint).  @index must be held. */
raft_index raft_log_term_start(const struct raft_log *l, raft_index index);

/** Largest index <= @upto whose term is @term, 0 if none. */
raft_index raft_log_last_of_term(const struct raft_log *l, raft_term term,
				 raft_index upto);

#endif /* FABRAFT_LOG_H */
