/* sim_rt_sms.c — State Machine Safety in runtime mode: every entry each
 * node applies (node_io.applied) is checked against what the others
 * applied at that index, as it happens; at the end, acknowledged writes
 * and the nodes' state machine digests. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "le.h"
#include "sim_rt.h"

/* What the first node to apply an index applied there. */
struct srt_applied {
	raft_term term;
	uint64_t digest; /* state after it (sampled indices) */
	uint32_t crc;	 /* of the payload */
	uint8_t type;
	uint8_t node; /* 0: not applied yet */
	uint8_t digest_node;
};

static struct srt_applied *slot(struct srt_sms *m, raft_index i)
{
	if (i >= m->cap) {
		uint64_t cap = i * 2 + 1024;

		m->v = realloc(m->v, cap * sizeof(*m->v));
		if (m->v == NULL) {
			abort();
		}
		memset(m->v + m->cap, 0, (cap - m->cap) * sizeof(*m->v));
		m->cap = cap;
	}
	return &m->v[i];
}

#define SMS_ARGS_MAX 16u

/* The values of the SETs in entry @e (kvc_command_encode(): version,
 * time, argc, then length-prefixed arguments): "SET k v", or a TXN
 * "TXN 3 SET ka va 3 SET kb vb"; up to @max into @v, how many. */
static uint32_t set_values(const struct raft_entry *e, uint32_t *v,
			   uint32_t max)
{
	const uint8_t *p = e->buf;
	const uint8_t *a[SMS_ARGS_MAX];
	uint32_t l[SMS_ARGS_MAX], argc, k = 0;
	size_t off = 13;
	char num[16];

	if (e->type != RAFT_ENTRY_NORMAL || e->len < 13 ||
	    (argc = le_get_u32(p + 9)) > SMS_ARGS_MAX) {
		return 0;
	}
	for (uint32_t i = 0; i < argc; i++) {
		if (off + 4 > e->len ||
		    (l[i] = le_get_u32(p + off)) > e->len - off - 4) {
			return 0;
		}
		a[i] = p + off + 4;
		off += 4 + l[i];
	}
	for (uint32_t i = 0; i + 2 < argc && k < max; i++) {
		if (l[i] != 3 || memcmp(a[i], "SET", 3) != 0 || l[i + 2] == 0 ||
		    l[i + 2] >= sizeof(num)) {
			continue;
		}
		memcpy(num, a[i + 2], l[i + 2]);
		num[l[i + 2]] = '\0';
		v[k++] = (uint32_t)strtoul(num, NULL, 10);
		i += 2;
	}
	return k;
}

static void note_value(struct srt_sms *m, const struct raft_entry *e)
{
	uint32_t vals[SMS_ARGS_MAX];
	uint32_t k = set_values(e, vals, SMS_ARGS_MAX);

	for (uint32_t j = 0; j < k; j++) {
		uint32_t v = vals[j];

		if (v == 0) {
			continue;
		}
		if (v >= m->value_cap) {
			uint32_t cap = v * 2 + 1024;

			m->value_index = realloc(m->value_index,
						 cap * sizeof(*m->value_index));
			if (m->value_index == NULL) {
				abort();
			}
			memset(m->value_index + m->value_cap, 0,
			       (cap - m->value_cap) * sizeof(*m->value_index));
			m->value_cap = cap;
		}
		if (m->value_index[v] == 0) {
			m->value_index[v] = e->index;
		}
	}
}

/* An index applied right after the last one, or after a gap a snapshot
 * of the node's (restored at start or installed) covers. */
static int check_order(struct srt_sms *m, const struct srt_node *sn,
		       raft_index i, char *why, size_t why_len)
{
	raft_index last = m->last[sn->id];
	raft_index snap = sn->snap != NULL ? sn->snap->m.index : 0;

	if (i == last + 1 || (i > last + 1 && snap >= i - 1)) {
		return 0;
	}
	snprintf(why, why_len,
		 "state machine safety (seed %" PRIu64 "): node %u applied "
		 "index %" PRIu64 " after %" PRIu64 " (its snapshot covers "
		 "%" PRIu64 ")",
		 m->seed, sn->id, i, last, snap);
	return 1;
}

int srt_sms_applied(struct srt_sms *m, const struct srt_node *sn,
		    const struct raft_entry *e, const uint64_t *digest,
		    char *why, size_t why_len)
{
	uint32_t crc = fr_crc32c(0, e->buf, e->len);
	struct srt_applied *a = slot(m, e->index);

	if (check_order(m, sn, e->index, why, why_len)) {
		return 1;
	}
	m->last[sn->id] = e->index;
	if (a->node == 0) {
		*a = (struct srt_applied){.term = e->term,
					  .crc = crc,
					  .type = e->type,
					  .node = (uint8_t)sn->id};
		note_value(m, e);
	} else if (a->term != e->term || a->crc != crc || a->type != e->type) {
		snprintf(why, why_len,
			 "state machine safety (seed %" PRIu64 "): at index "
			 "%" PRIu64 " node %u applied term %" PRIu64
			 " crc %08x, node %u applied term %" PRIu64 " crc %08x",
			 m->seed, e->index, a->node, a->term, a->crc, sn->id,
			 e->term, crc);
		return 1;
	}
	if (digest == NULL) {
		return 0;
	}
	if (a->digest_node == 0) {
		a->digest = *digest;
		a->digest_node = (uint8_t)sn->id;
	} else if (a->digest != *digest) {
		snprintf(why, why_len,
			 "state machine safety (seed %" PRIu64 "): after "
			 "index %" PRIu64
			 " node %u has state digest %016" PRIx64
			 ", node %u %016" PRIx64,
			 m->seed, e->index, a->digest_node, a->digest, sn->id,
			 *digest);
		return 1;
	}
	return 0;
}

/* Every acknowledged write was applied at some index.  Any node that
 * applied past that index applied the same entry there (checked as it
 * applied) or holds a snapshot covering it (check_order). */
static int acked_writes(const struct srt_sms *m, const struct srt_hist *h,
			char *why, size_t why_len)
{
	for (uint32_t i = 0; i < h->n; i++) {
		const struct srt_op *o = &h->v[i];

		if (!o->write || !o->acked || o->key >= SIM_RT_KEYS ||
		    (o->value < m->value_cap && m->value_index[o->value])) {
			continue;
		}
		snprintf(why, why_len,
			 "state machine safety (seed %" PRIu64 "): SET k%u %u "
			 "acknowledged at %" PRIu64
			 " us was applied by no node",
			 m->seed, o->key, o->value, o->complete_us);
		return 1;
	}
	return 0;
}

int srt_sms_final(const struct srt_sms *m, const struct srt_hist *h,
		  const struct srt_node *nodes, uint32_t n, char *why,
		  size_t why_len)
{
	raft_index at[SIM_RT_NODES_MAX + 1] = {0};
	uint64_t d[SIM_RT_NODES_MAX + 1] = {0};

	if (acked_writes(m, h, why, why_len)) {
		return 1;
	}
	for (uint32_t a = 1; a <= n; a++) {
		if (nodes[a].n != NULL) {
			d[a] = node__driven_digest(nodes[a].n, &at[a]);
		}
		for (uint32_t b = 1; b < a; b++) {
			if (nodes[b].n == NULL || nodes[a].n == NULL ||
			    at[a] != at[b] || d[a] == d[b]) {
				continue;
			}
			snprintf(why, why_len,
				 "state machine safety (seed %" PRIu64
				 "): at the end nodes %u and %u applied "
				 "through index %" PRIu64 " but their state "
				 "digests differ (%016" PRIx64 " %016" PRIx64
				 ")",
				 m->seed, b, a, at[a], d[b], d[a]);
			return 1;
		}
	}
	return 0;
}

void srt_sms_restart(struct srt_sms *m, raft_id node)
{
	m->last[node] = 0;
}

void srt_sms_free(struct srt_sms *m)
{
	free(m->v);
	free(m->value_index);
	memset(m, 0, sizeof(*m));
}

bool srt_corrupt(struct raft_message *m)
{
	if (m->type != RAFT_MSG_APPEND) {
		return false;
	}
	for (uint32_t i = 0; i < m->append.n_entries; i++) {
		struct raft_entry *e =
		    (struct raft_entry *)&m->append.entries[i];
		uint32_t v;

		if (e->len > 0 && set_values(e, &v, 1) == 1) {
			/* The last value's last digit: still a valid SET
			 * (or TXN of SETs). */
			uint8_t *last = (uint8_t *)e->buf + e->len - 1;

			*last = *last == '9' ? '0' : (uint8_t)(*last + 1);
			return true;
		}
	}
	return false;
}
