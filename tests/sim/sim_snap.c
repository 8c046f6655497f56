/* sim_snap.c — snapshots of the toy state machine: take, send, install. */
#include <stdlib.h>
#include <string.h>

#include "sim_private.h"

/* Layout: u64 index, u64 state-machine hash, then padding bytes that are a
 * function of (index, position), so a chunk placed at the wrong offset or
 * a mixed-up transfer is detected at install.  Sizes vary with the index
 * so that transfers take a varying number of chunks. */
static uint64_t snap_size(raft_index index)
{
	return 16 + 8 * (1 + index % 29);
}

static unsigned char pad(raft_index index, uint64_t k)
{
	return (unsigned char)((index * 131 + k * 7) ^ (k >> 3));
}

bool sim__snap_parse(const unsigned char *data, uint64_t size, raft_index index,
		     uint64_t *sm)
{
	raft_index got;
	if (data == NULL || size != snap_size(index)) {
		return false;
	}
	memcpy(&got, data, 8);
	memcpy(sm, data + 8, 8);
	for (uint64_t k = 16; k < size; k++) {
		if (data[k] != pad(index, k)) {
			return false;
		}
	}
	return got == index;
}

void sim__snap_free(struct sim_node *n)
{
	free(n->snap.data);
	free(n->in_data);
	memset(&n->snap, 0, sizeof(n->snap));
	n->in_data = NULL;
	n->in_cap = 0;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL) {
		abort();
	}
	return p;
}

/* The core asked for a snapshot: serialize the state as applied (which is
 * through @index), make it durable, report it, then compact the disk the
 * way the core compacted its log. */
void sim__snap_take(struct sim *s, struct sim_node *n, raft_index index)
{
	if (index != n->applied) {
		sim__violate(
		    s, "node %u asked for a snapshot at %llu but applied %llu",
		    n->id, (unsigned long long)index,
		    (unsigned long long)n->applied);
		return;
	}
	uint64_t size = snap_size(index);
	unsigned char *d = xmalloc(size);
	memcpy(d, &index, 8);
	memcpy(d + 8, &n->sm_hash, 8);
	for (uint64_t k = 16; k < size; k++) {
		d[k] = pad(index, k);
	}
	sim__check_snapshot_state(s, n, index, n->sm_hash);
	struct raft_event e = {.type = RAFT_EVENT_SNAPSHOT};
	e.snapshot.index = index;
	e.snapshot.size = size;
	e.time_us = sim__clock(s, n);
	struct raft_update u;
	int rv = raft_step(n->raft, &e, &u);
	if (rv != 0) {
		free(d);
		sim__violate(s, "node %u refused its own snapshot at %llu: %s",
			     n->id, (unsigned long long)index, fr_strerror(rv));
		return;
	}
	free(n->snap.data);
	n->snap.data = d;
	/* Term and configuration as of index: what the core will send. */
	raft_snapshot_get(n->raft, &n->snap.meta);
	s->snapshots++;
	struct raft_status st;
	raft_status_get(n->raft, &st);
	sim__disk_compact(n, st.first_index - 1);
	/* The SNAPSHOT step itself produces nothing to carry out. */
	(void)u;
}

void sim__snap_chunk(struct sim *s, struct sim_node *n,
		     const struct raft_snapshot_chunk *c)
{
	if (c->offset + c->len > c->total) {
		sim__violate(s, "node %u got a chunk past the snapshot end",
			     n->id);
		return;
	}
	if (c->total > n->in_cap) {
		n->in_data = realloc(n->in_data, c->total);
		if (n->in_data == NULL) {
			abort();
		}
		n->in_cap = c->total;
	}
	memcpy(n->in_data + c->offset, c->data, c->len);
}

void sim__snap_install(struct sim *s, struct sim_node *n,
		       const struct raft_update *u)
{
	const struct raft_snapshot_meta *m = &u->install;
	uint64_t sm;
	if (!sim__snap_parse(n->in_data, m->size, m->index, &sm)) {
		sim__violate(s,
			     "node %u installs snapshot %llu from chunks "
			     "that do not add up to it",
			     n->id, (unsigned long long)m->index);
		return;
	}
	sim__disk_settle(s, n);
	free(n->snap.data);
	n->snap.data = xmalloc(m->size);
	memcpy(n->snap.data, n->in_data, m->size);
	n->snap.meta = *m;
	if (u->keep_log) {
		sim__disk_compact(n, m->index);
	} else {
		sim__disk_compact(n, UINT64_MAX);
	}
	s->installs++;
	sim__check_install(s, n, m, sm, u->keep_log);
}

/* A SNAPSHOT message leaves @from: fill its bytes from the durable
 * snapshot it names, or drop it (false) if that snapshot is gone. */
bool sim__snap_fill(struct sim *s, raft_id from, struct raft_snapshot_chunk *c,
		    unsigned char *dst)
{
	const struct sim_snap *sn = &s->nodes[from].snap;
	if (sn->meta.index != c->last_index || sn->meta.size != c->total ||
	    c->offset + c->len > sn->meta.size) {
		return false;
	}
	memcpy(dst, sn->data + c->offset, c->len);
	c->data = dst;
	return true;
}
