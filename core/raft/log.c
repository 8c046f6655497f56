/* log.c — the in-memory Raft log. */
#include "log.h"

#include <assert.h>
#include <string.h>

#include "heap.h"

void raft_log_init(struct raft_log *l)
{
	memset(l, 0, sizeof(*l));
}

static void entry_free(struct raft_entry *e)
{
	fr_free((void *)e->buf);
	e->buf = NULL;
}

void raft_log_close(struct raft_log *l)
{
	for (uint64_t i = 0; i < l->n; i++) {
		entry_free(&l->entries[i]);
	}
	fr_free(l->entries);
	raft_log_init(l);
}

raft_index raft_log_last_index(const struct raft_log *l)
{
	return l->offset + l->n;
}

raft_term raft_log_last_term(const struct raft_log *l)
{
	return l->n > 0 ? l->entries[l->n - 1].term : l->offset_term;
}

const struct raft_entry *raft_log_get(const struct raft_log *l,
				      raft_index index)
{
	if (index <= l->offset || index > l->offset + l->n) {
		return NULL;
	}
	return &l->entries[index - l->offset - 1];
}

raft_term raft_log_term_of(const struct raft_log *l, raft_index index)
{
	if (index == l->offset) {
		return l->offset_term;
	}
	const struct raft_entry *e = raft_log_get(l, index);
	return e != NULL ? e->term : 0;
}

bool raft_log_matches(const struct raft_log *l, raft_index index,
		      raft_term term)
{
	if (index == 0) {
		return term == 0;
	}
	if (index < l->offset) {
		/* Compacted: only committed entries are compacted, and a
		 * committed entry matches every leader's log (§5.4). */
		return true;
	}
	return raft_log_term_of(l, index) == term &&
	       index <= raft_log_last_index(l);
}

int raft_log_reserve(struct raft_log *l, uint64_t n)
{
	if (l->n + n <= l->cap) {
		return 0;
	}
	uint64_t cap = l->cap > 0 ? l->cap : 64;
	while (cap < l->n + n) {
		cap *= 2;
	}
	struct raft_entry *e = fr_realloc(l->entries, cap * sizeof(*e));
	if (e == NULL) {
		return FR_NOMEM;
	}
	l->entries = e;
	l->cap = cap;
	return 0;
}

int raft_log_append(struct raft_log *l, raft_term term, uint8_t type,
		    const void *buf, uint32_t len)
{
	assert(term >= raft_log_last_term(l));
	int rv = raft_log_reserve(l, 1);
	if (rv != 0) {
		return rv;
	}
	void *copy = NULL;
	if (len > 0) {
		copy = fr_malloc(len);
		if (copy == NULL) {
			return FR_NOMEM;
		}
		memcpy(copy, buf, len);
	}
	struct raft_entry *e = &l->entries[l->n];
	e->term = term;
	e->index = raft_log_last_index(l) + 1;
	e->type = type;
	e->len = len;
	e->buf = copy;
	l->n++;
	return 0;
}

void raft_log_truncate(struct raft_log *l, raft_index from)
{
	assert(from > l->offset);
	while (raft_log_last_index(l) >= from) {
		entry_free(&l->entries[l->n - 1]);
		l->n--;
	}
}

void raft_log_compact(struct raft_log *l, raft_index upto)
{
	assert(upto > l->offset && upto <= raft_log_last_index(l));
	uint64_t drop = upto - l->offset;
	raft_term t = raft_log_term_of(l, upto);
	for (uint64_t i = 0; i < drop; i++) {
		entry_free(&l->entries[i]);
	}
	memmove(l->entries, l->entries + drop,
		(l->n - drop) * sizeof(*l->entries));
	l->n -= drop;
	l->offset = upto;
	l->offset_term = t;
}

void raft_log_reset(struct raft_log *l, raft_index index, raft_term term)
{
	for (uint64_t i = 0; i < l->n; i++) {
		entry_free(&l->entries[i]);
	}
	l->n = 0;
	l->offset = index;
	l->offset_term = term;
}

int raft_log_merge(struct raft_log *l, raft_index prev_index,
		   const struct raft_entry *entries, uint32_t n,
		   raft_index *truncated_from, raft_index *appended_from)
{
	*truncated_from = 0;
	*appended_from = 0;
	uint32_t i = 0;
	/* Skip what we already hold with the same term (or what was
	 * compacted, which is committed and so identical). */
	for (; i < n; i++) {
		raft_index idx = prev_index + 1 + i;
		if (idx <= l->offset) {
			continue;
		}
		if (idx > raft_log_last_index(l)) {
			break;
		}
		if (raft_log_term_of(l, idx) != entries[i].term) {
			raft_log_truncate(l, idx);
			*truncated_from = idx;
			break;
		}
	}
	for (; i < n; i++) {
		int rv = raft_log_append(l, entries[i].term, entries[i].type,
					 entries[i].buf, entries[i].len);
		if (rv != 0) {
			return rv;
		}
		if (*appended_from == 0) {
			*appended_from = entries[i].index;
		}
	}
	return 0;
}

raft_index raft_log_term_start(const struct raft_log *l, raft_index index)
{
	raft_term t = raft_log_term_of(l, index);
	while (index > l->offset + 1 && raft_log_term_of(l, index - 1) == t) {
		index--;
	}
	return index;
}

raft_index raft_log_last_of_term(const struct raft_log *l, raft_term term,
				 raft_index upto)
{
	raft_index last = raft_log_last_index(l);
	if (upto > last) {
		upto = last;
	}
	for (raft_index i = upto; i > l->offset; i--) {
		raft_term t = raft_log_term_of(l, i);
		if (t == term) {
			return i;
		}
		if (t < term) {
			break; /* terms only decrease going back */
		}
	}
	return 0;
}
