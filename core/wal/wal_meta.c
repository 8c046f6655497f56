/* wal_meta.c — the meta file: term, vote, cluster id and node id, replaced
 * atomically (write tmp, fsync, rename, fsync dir). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "wal_io.h"
#include "wal_private.h"

#define META_NAME "meta"
#define META_TMP  "meta.tmp"

/* Write meta with @term, @vote, @recover (and its term @rt) and the
 * durable point @di/@dt. */
static int meta_write(struct wal *w, raft_term term, raft_id vote,
		      raft_index recover, raft_term rt, raft_index di,
		      raft_term dt, char *errmsg)
{
	struct wal_meta m = {
	    .cluster_id = w->o.cluster_id,
	    .node_id = w->o.node_id,
	    .term = term,
	    .vote = vote,
	    .recover_index = recover,
	    .recover_term = rt,
	    .durable_index = di,
	    .durable_term = dt,
	};
	uint8_t buf[WAL_META_BYTES];
	const char *step = "";
	wal__meta_encode(&m, buf);
	int e = wal__replace_file(w->dir_fd, META_NAME, META_TMP, buf,
				  sizeof(buf), &step);
	if (e != 0) {
		wal__errf(errmsg, "%s/%s: %s failed: %s", w->dir, META_NAME,
			  step, strerror(e));
		return wal__errno_code(e);
	}
	return 0;
}

static int meta_read(struct wal *w, char *errmsg)
{
	uint8_t buf[WAL_META_BYTES + 1];
	int fd = openat(w->dir_fd, META_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		wal__errf(errmsg, "%s/%s: %s", w->dir, META_NAME,
			  strerror(errno));
		return FR_IO;
	}
	long long n = wal__pread_full(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n < 0) {
		wal__errf(errmsg, "%s/%s: read: %s", w->dir, META_NAME,
			  strerror((int)-n));
		return FR_IO;
	}
	struct wal_meta m;
	const char *why = "";
	if (wal__meta_decode(&m, buf, (size_t)n, &why) != 0) {
		wal__errf(errmsg, "%s/%s: %s; refusing to start", w->dir,
			  META_NAME, why);
		return FR_CORRUPT;
	}
	if (m.cluster_id != w->o.cluster_id || m.node_id != w->o.node_id) {
		wal__errf(errmsg,
			  "data dir %s belongs to cluster %#" PRIx64
			  " node %" PRIu32 ", not cluster %#" PRIx64
			  " node %" PRIu32 "; refusing to start",
			  w->dir, m.cluster_id, m.node_id, w->o.cluster_id,
			  w->o.node_id);
		return FR_MISMATCH;
	}
	w->term = m.term;
	w->vote = m.vote;
	w->recover_index = m.recover_index;
	w->recover_term = m.recover_term;
	w->meta_durable_index = m.durable_index;
	w->meta_durable_term = m.durable_term;
	return 0;
}

int wal__meta_open(struct wal *w, bool has_files, char *errmsg)
{
	unlinkat(w->dir_fd, META_TMP, 0); /* an interrupted save */
	if (faccessat(w->dir_fd, META_NAME, F_OK, 0) == 0) {
		return meta_read(w, errmsg);
	}
	if (errno != ENOENT) {
		wal__errf(errmsg, "%s/%s: %s", w->dir, META_NAME,
			  strerror(errno));
		return FR_IO;
	}
	if (has_files) {
		wal__errf(errmsg,
			  "%s: log or snapshot files exist but %s is missing; "
			  "refusing to start",
			  w->dir, META_NAME);
		return FR_CORRUPT;
	}
	w->term = 0;
	w->vote = 0;
	w->recover_index = 0;
	w->recover_term = 0;
	return meta_write(w, 0, 0, 0, 0, 0, 0, errmsg);
}

int wal__meta_save_recover(struct wal *w, raft_index index, raft_term term,
			   char *errmsg)
{
	int rv =
	    meta_write(w, w->term, w->vote, index, term, w->meta_durable_index,
		       w->meta_durable_term, errmsg);
	if (rv == 0) {
		w->recover_index = index;
		w->recover_term = term;
	}
	return rv;
}

int wal_hardstate_save(struct wal *w, raft_term term, raft_id vote)
{
	char msg[FR_ERRMSG_SIZE];
	int rv;

	if (vote > RAFT_ID_MAX) {
		return FR_INVALID;
	}
	pthread_mutex_lock(&w->meta_mu);
	pthread_mutex_lock(&w->mu);
	rv = w->err;
	/* The durable point rides along: recovery compares the log with it
	 * (docs/storage.md, "Damaged storage"); no extra sync per batch. */
	raft_index di = w->durable_index;
	raft_term dt = w->durable_term;
	pthread_mutex_unlock(&w->mu);
	if (rv != 0) {
		goto out;
	}
	if (term < w->term) {
		rv = FR_INVALID;
		goto out;
	}
	if (term == w->term && vote == w->vote) {
		goto out;
	}
	rv = meta_write(w, term, vote, w->recover_index, w->recover_term, di,
			dt, msg);
	if (rv != 0) {
		/* The rename may or may not have reached the disk: the only
		 * safe course is to stop (invariant 3). */
		pthread_mutex_lock(&w->mu);
		wal__fail_locked(w, rv, "saving term/vote: %s", msg);
		pthread_mutex_unlock(&w->mu);
		goto out;
	}
	w->term = term;
	w->vote = vote;
	w->meta_durable_index = di;
	w->meta_durable_term = dt;
out:
	pthread_mutex_unlock(&w->meta_mu);
	return rv;
}

int wal_recovering_clear(struct wal *w)
{
	char msg[FR_ERRMSG_SIZE];
	pthread_mutex_lock(&w->meta_mu);
	pthread_mutex_lock(&w->mu);
	int rv = w->err;
	raft_index di = w->durable_index;
	raft_term dt = w->durable_term;
	pthread_mutex_unlock(&w->mu);
	if (rv == 0 && w->recover_index != 0) {
		rv = meta_write(w, w->term, w->vote, 0, 0, di, dt, msg);
		if (rv != 0) {
			pthread_mutex_lock(&w->mu);
			wal__fail_locked(w, rv, "clearing recovery: %s", msg);
			pthread_mutex_unlock(&w->mu);
		} else {
			w->recover_index = 0;
			w->recover_term = 0;
			w->meta_durable_index = di;
			w->meta_durable_term = dt;
			fr_log(FR_LOG_INFO, "wal",
			       "log repaired from the leader: recovering "
			       "state cleared");
		}
	}
	pthread_mutex_unlock(&w->meta_mu);
	return rv;
}
