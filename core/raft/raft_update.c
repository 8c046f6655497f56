/* raft_update.c — the one definition of the order in which a driver
 * carries out a raft_update (raft.h note 5). */
#include <assert.h>
#include <stddef.h>

#include "raft.h"

/* The callback @f of @ops, or NULL when the caller's table is too old to
 * have it (ops->size says how much of the table the caller knows). */
#define UPDATE_OP(ops, f)                                                      \
	((ops)->size >= offsetof(struct raft_update_ops, f) + sizeof((ops)->f) \
	     ? (ops)->f                                                        \
	     : NULL)

static int storage_parts(const struct raft_update *u,
			 const struct raft_update_ops *ops, void *arg)
{
	int rv = 0;

	if ((u->flags & RAFT_UPDATE_HARDSTATE) && UPDATE_OP(ops, hardstate)) {
		rv = ops->hardstate(arg, u->term, u->vote);
	}
	if (rv == 0 && (u->flags & RAFT_UPDATE_RECOVERED) &&
	    UPDATE_OP(ops, recovered)) {
		rv = ops->recovered(arg);
	}
	if (rv == 0 && (u->flags & RAFT_UPDATE_SNAPSHOT_CHUNK) &&
	    UPDATE_OP(ops, snapshot_chunk)) {
		rv = ops->snapshot_chunk(arg, u->chunk);
	}
	if (rv == 0 && (u->flags & RAFT_UPDATE_SNAPSHOT_INSTALL) &&
	    UPDATE_OP(ops, snapshot_install)) {
		rv = ops->snapshot_install(arg, u);
	}
	if (rv == 0 && (u->flags & RAFT_UPDATE_ENTRIES) &&
	    UPDATE_OP(ops, entries)) {
		rv = ops->entries(arg, u->entries, u->n_entries);
	}
	return rv;
}

static int state_parts(const struct raft_update *u,
		       const struct raft_update_ops *ops, void *arg)
{
	int rv = 0;

	if ((u->flags & RAFT_UPDATE_COMMIT) && UPDATE_OP(ops, commit)) {
		rv = ops->commit(arg, u);
	}
	if ((u->flags & RAFT_UPDATE_APPLY) && UPDATE_OP(ops, apply)) {
		for (uint32_t i = 0; i < u->n_apply && rv == 0; i++) {
			rv = ops->apply(arg, &u->apply[i]);
		}
	}
	if (rv == 0 && (u->flags & (RAFT_UPDATE_APPLY | RAFT_UPDATE_READS)) &&
	    UPDATE_OP(ops, reads)) {
		rv = ops->reads(arg, u);
	}
	if (rv == 0 && (u->flags & RAFT_UPDATE_ROLE) && UPDATE_OP(ops, role)) {
		rv = ops->role(arg, u);
	}
	if (rv == 0 && (u->flags & RAFT_UPDATE_SNAPSHOT_WANTED) &&
	    UPDATE_OP(ops, snapshot_wanted)) {
		rv = ops->snapshot_wanted(arg, u->snapshot_index);
	}
	return rv;
}

int raft_update_carry_out(const struct raft_update *u,
			  const struct raft_update_ops *ops, void *arg)
{
	int rv;

	assert(ops->size >= offsetof(struct raft_update_ops, hardstate));
	rv = storage_parts(u, ops, arg);
	if (rv == 0) {
		rv = state_parts(u, ops, arg);
	}
	if (rv == 0 && (u->flags & RAFT_UPDATE_MESSAGES) &&
	    UPDATE_OP(ops, message)) {
		for (uint32_t i = 0; i < u->n_messages && rv == 0; i++) {
			rv = ops->message(arg, &u->messages[i]);
		}
	}
	return rv;
}
