/* sim_disk.c — each node's in-memory disk: durable log and pending writes. */
#include <stdlib.h>
#include <string.h>

#include "sim_private.h"

void sim__log_free(struct sim_log *l)
{
	for (uint64_t i = 0; i < l->n; i++) {
		free((void *)l->e[i].buf);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static void log_truncate(struct sim_log *l, uint64_t keep)
{
	while (l->n > keep) {
		free((void *)l->e[--l->n].buf);
	}
}

void sim__log_copy_in(struct sim_log *l, const struct raft_entry *e, uint64_t n)
{
	l->e = sim__grow(l->e, &l->cap, l->n + n, sizeof(*l->e));
	for (uint64_t i = 0; i < n; i++) {
		struct raft_entry *d = &l->e[l->n++];
		*d = e[i];
		d->buf = NULL;
		if (e[i].len > 0) {
			void *p = malloc(e[i].len);
			if (p == NULL) {
				abort();
			}
			memcpy(p, e[i].buf, e[i].len);
			d->buf = p;
		}
	}
}

/* Storing entry i first deletes every stored entry >= i (raft.h).  The
 * stored log may start past index 1 (compacted). */
void sim__log_apply_write(struct sim_log *disk, const struct sim_log *w)
{
	if (w->n == 0) {
		return;
	}
	raft_index first = w->e[0].index;
	raft_index disk_first = disk->n > 0 ? disk->e[0].index : first;
	uint64_t keep = first > disk_first ? first - disk_first : 0;
	log_truncate(disk, keep < disk->n ? keep : disk->n);
	if (disk->n > 0 && disk->e[disk->n - 1].index + 1 != first) {
		log_truncate(disk, 0); /* not contiguous: start over */
	}
	sim__log_copy_in(disk, w->e, w->n);
}

/* Storage damage detected at @from: the wal keeps the prefix before it. */
void sim__disk_truncate(struct sim_node *n, raft_index from)
{
	struct sim_log *l = &n->disk;
	if (l->n == 0 || from < l->e[0].index) {
		log_truncate(l, 0);
		return;
	}
	uint64_t keep = from - l->e[0].index;
	log_truncate(l, keep < l->n ? keep : l->n);
}

/* Drop stored entries <= @upto (after a snapshot made them redundant). */
void sim__disk_compact(struct sim_node *n, raft_index upto)
{
	struct sim_log *l = &n->disk;
	uint64_t drop = 0;
	while (drop < l->n && l->e[drop].index <= upto) {
		free((void *)l->e[drop].buf);
		drop++;
	}
	if (drop == 0) {
		return;
	}
	memmove(l->e, l->e + drop, (l->n - drop) * sizeof(*l->e));
	l->n -= drop;
}

/* Before an install: the pending writes either complete now or are thrown
 * away (raft.h note 5 allows both); no PERSISTED report follows either
 * way. */
void sim__disk_settle(struct sim *s, struct sim_node *n)
{
	bool complete = sim__rand(s) & 1;
	while (n->pending != NULL) {
		struct sim_write *w = n->pending;
		n->pending = w->next;
		if (complete) {
			sim__log_apply_write(&n->disk, &w->entries);
		}
		sim__log_free(&w->entries);
		free(w);
	}
	n->pending_tail = NULL;
}

void sim__disk_write(struct sim *s, struct sim_node *n,
		     const struct raft_entry *e, uint32_t count)
{
	struct sim_write *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		abort();
	}
	sim__log_copy_in(&w->entries, e, count);
	if (n->pending_tail != NULL) {
		n->pending_tail->next = w;
	} else {
		n->pending = w;
	}
	n->pending_tail = w;
	uint64_t t =
	    s->now + sim__range(s, s->opt.disk_min_us, s->opt.disk_max_us);
	if (t < n->disk_busy_until) {
		t = n->disk_busy_until; /* one device: writes land in order */
	}
	n->disk_busy_until = t;
	sim__push(s, (struct sim_event){.time = t,
					.type = SIM_DISK,
					.node = n->id,
					.incarnation = n->incarnation});
}

/* The oldest pending write is durable: store it and tell the core. */
void sim__disk_complete(struct sim *s, struct sim_node *n)
{
	struct sim_write *w = n->pending;
	if (w == NULL) {
		return;
	}
	n->pending = w->next;
	if (n->pending == NULL) {
		n->pending_tail = NULL;
	}
	sim__log_apply_write(&n->disk, &w->entries);
	sim__log_free(&w->entries);
	free(w);
	(void)s;
}

/* Power loss: a random prefix of the pending writes (at entry granularity,
 * in order) reached the disk; the rest is lost. */
void sim__disk_crash(struct sim *s, struct sim_node *n)
{
	bool torn = false;
	while (n->pending != NULL) {
		struct sim_write *w = n->pending;
		n->pending = w->next;
		if (!torn) {
			uint64_t keep = sim__range(s, 0, w->entries.n * 2);
			if (keep < w->entries.n) {
				torn = true;
				log_truncate(&w->entries, keep);
			}
			sim__log_apply_write(&n->disk, &w->entries);
		}
		sim__log_free(&w->entries);
		free(w);
	}
	n->pending_tail = NULL;
	n->disk_busy_until = 0;
}

void sim__disk_free_pending(struct sim_node *n)
{
	while (n->pending != NULL) {
		struct sim_write *w = n->pending;
		n->pending = w->next;
		sim__log_free(&w->entries);
		free(w);
	}
	n->pending_tail = NULL;
}

void sim__disk_free(struct sim_node *n)
{
	sim__disk_free_pending(n);
	sim__log_free(&n->disk);
}
