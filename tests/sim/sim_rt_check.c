/* sim_rt_check.c — the client history of a runtime-mode run and its check
 * against a register per key: a fast pass over linearizability's necessary
 * conditions (no read from the future, no nil after a completed write, no
 * read of a value overwritten before the read began), whose messages are
 * the plainest, then the full check (tests/lib/lin_check.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lin_check.h"
#include "sim_rt.h"

uint32_t srt_hist_add(struct srt_hist *h, const struct srt_op *op)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 1024;
		h->v = realloc(h->v, h->cap * sizeof(*h->v));
		if (h->v == NULL) {
			abort();
		}
	}
	h->v[h->n] = *op;
	return h->n++;
}

/* A write of one key, and the earliest completion of any write of that
 * key invoked after it completed (UINT64_MAX: none): once a read starts
 * after that, the write's value is overwritten for good. */
struct wr {
	const struct srt_op *op;
	uint64_t overwritten_us;
};

static int cmp_invoke(const void *a, const void *b)
{
	const struct wr *x = a;
	const struct wr *y = b;

	return x->op->invoke_us < y->op->invoke_us   ? -1
	       : x->op->invoke_us > y->op->invoke_us ? 1
						     : 0;
}

/* Writes of @key sorted by invoke time, with overwritten_us filled. */
static uint32_t key_writes(const struct srt_hist *h, uint8_t key, struct wr *w)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < h->n; i++) {
		if (h->v[i].write && h->v[i].key == key) {
			w[k].op = &h->v[i];
			w[k++].overwritten_us = UINT64_MAX;
		}
	}
	qsort(w, k, sizeof(*w), cmp_invoke);
	/* suffix minimum of acknowledged completions, by invoke order */
	uint64_t *suf = malloc((k + 1) * sizeof(*suf));
	if (suf == NULL) {
		abort();
	}
	suf[k] = UINT64_MAX;
	for (uint32_t i = k; i-- > 0;) {
		uint64_t c = w[i].op->acked ? w[i].op->complete_us : UINT64_MAX;
		suf[i] = c < suf[i + 1] ? c : suf[i + 1];
	}
	for (uint32_t i = 0; i < k; i++) {
		uint64_t done = w[i].op->complete_us;
		uint32_t lo = 0, hi = k; /* first write invoked after done */

		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			if (w[mid].op->invoke_us <= done) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		w[i].overwritten_us = done == UINT64_MAX ? UINT64_MAX : suf[lo];
	}
	free(suf);
	return k;
}

static int check_read(const struct srt_op *r, const struct wr *w, uint32_t k,
		      uint64_t first_ack_us, char *why, size_t why_len)
{
	if (r->value == 0) {
		if (first_ack_us < r->invoke_us) {
			snprintf(why, why_len,
				 "key %u: read at %" PRIu64 "..%" PRIu64
				 " us returned nil after a write completed at "
				 "%" PRIu64,
				 r->key, r->invoke_us, r->complete_us,
				 first_ack_us);
			return 1;
		}
		return 0;
	}
	for (uint32_t i = 0; i < k; i++) {
		if (w[i].op->value != r->value) {
			continue;
		}
		if (w[i].op->invoke_us > r->complete_us) {
			snprintf(why, why_len,
				 "key %u: read returned %u before its write "
				 "was invoked",
				 r->key, r->value);
			return 1;
		}
		if (w[i].overwritten_us < r->invoke_us) {
			snprintf(why, why_len,
				 "key %u: stale read at %" PRIu64 "..%" PRIu64
				 " us returned %u, overwritten by a write "
				 "completed at %" PRIu64 " us",
				 r->key, r->invoke_us, r->complete_us, r->value,
				 w[i].overwritten_us);
			return 1;
		}
		return 0;
	}
	snprintf(why, why_len, "key %u: read returned %u, never written",
		 r->key, r->value);
	return 1;
}

int srt_hist_necessary(const struct srt_hist *h, char *why, size_t why_len)
{
	struct wr *w = malloc((h->n + 1) * sizeof(*w));
	int bad = 0;

	if (w == NULL) {
		abort();
	}
	for (uint8_t key = 0; key < SIM_RT_KEYS && !bad; key++) {
		uint32_t k = key_writes(h, key, w);
		uint64_t first_ack = UINT64_MAX;

		for (uint32_t i = 0; i < k; i++) {
			if (w[i].op->acked &&
			    w[i].op->complete_us < first_ack) {
				first_ack = w[i].op->complete_us;
			}
		}
		for (uint32_t i = 0; i < h->n && !bad; i++) {
			const struct srt_op *r = &h->v[i];

			if (!r->write && r->acked && r->key == key) {
				bad = check_read(r, w, k, first_ack, why,
						 why_len);
			}
		}
	}
	free(w);
	return bad;
}

/* The history as register operations: an acknowledged write or read is
 * OK; a write answered "not executed" certainly did not run (left out: a
 * read of its value then matches no write); any other write without a
 * definite answer ("outcome unknown", an error, no answer) may have run;
 * a read without an answer and a KVC.* command (key UINT8_MAX) are left
 * out. */
static struct lin_op *to_lin(const struct srt_hist *h)
{
	struct lin_op *v = calloc(h->n + 1, sizeof(*v));

	if (v == NULL) {
		abort();
	}
	for (uint32_t i = 0; i < h->n; i++) {
		const struct srt_op *o = &h->v[i];

		v[i] = (struct lin_op){.key = o->key,
				       .a = o->value,
				       .t_call = o->invoke_us,
				       .t_ret = o->complete_us,
				       .kind = o->write ? LIN_WRITE : LIN_READ,
				       .outcome = o->acked   ? LIN_OK
						  : o->write ? LIN_UNKNOWN
							     : LIN_NOT_RUN};
		if (o->key >= SIM_RT_KEYS || (o->unexecuted && !o->acked)) {
			v[i].outcome = LIN_NOT_RUN;
		}
	}
	return v;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int srt_hist_full(const struct srt_hist *h, struct srt_lin_stats *st, char *why,
		  size_t why_len)
{
	struct lin_op *v = to_lin(h);
	struct lin_report r;
	double t0 = cpu_now();
	int verdict = lin_check(v, h->n, SRT_LIN_BUDGET, &r);

	free(v);
	if (st != NULL) {
		st->ops = r.ops;
		st->unknown = r.unknown;
		st->steps = r.steps;
		st->cpu_s = cpu_now() - t0;
	}
	if (verdict == LIN_LINEARIZABLE) {
		return 0;
	}
	snprintf(why, why_len, "%s: %s",
		 verdict == LIN_UNDECIDED ? "linearizability UNDECIDED"
					  : "not linearizable",
		 r.why);
	return 1;
}

int srt_hist_check(const struct srt_hist *h, char *why, size_t why_len)
{
	if (srt_hist_necessary(h, why, why_len) != 0) {
		return 1;
	}
	return srt_hist_full(h, NULL, why, why_len);
}

/* Log Matching on the durable logs of @a and @b: where both hold an entry
 * of the same index and term, they hold the same entry. */
static int pair_matches(const struct srt_node *a, const struct srt_node *b,
			char *why, size_t why_len)
{
	uint32_t i = 0, j = 0;

	while (i < a->log.n && j < b->log.n) {
		const struct raft_entry *x = &a->log.v[i].e;
		const struct raft_entry *y = &b->log.v[j].e;

		if (x->index < y->index) {
			i++;
			continue;
		}
		if (y->index < x->index) {
			j++;
			continue;
		}
		if (x->term == y->term &&
		    (x->type != y->type || x->len != y->len ||
		     (x->len > 0 && memcmp(x->buf, y->buf, x->len) != 0))) {
			snprintf(why, why_len,
				 "log matching: nodes %u and %u hold different "
				 "entries at index %" PRIu64 " term %" PRIu64,
				 a->id, b->id, x->index, x->term);
			return 1;
		}
		i++;
		j++;
	}
	return 0;
}

int srt_check_logs(const struct srt_node *nodes, uint32_t n, char *why,
		   size_t why_len)
{
	for (uint32_t a = 1; a <= n; a++) {
		for (uint32_t b = a + 1; b <= n; b++) {
			if (pair_matches(&nodes[a], &nodes[b], why, why_len)) {
				return 1;
			}
		}
	}
	return 0;
}
