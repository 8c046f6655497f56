/* snap.c — snapshot files: atomic streaming writer, checksummed reader, and
 * the search for the newest valid snapshot at start. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "crc32c.h"
#include "heap.h"
#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * A snapshot is written to snap-<index>.tmp, followed by a trailer (content
 * length and CRC32C), fsynced, renamed to snap-<index>.snap and the
 * directory fsynced: a .snap file is always complete.  The two newest are
 * kept so that a damaged newest one leaves an older one to fall back to
 * (as long as the log still reaches back to it; wal_open checks).  Only one
 * writer at a time per directory.
 */

#define SNAP_KEEP      2u
#define SNAP_NAME_SIZE 48u

struct wal_snap_writer {
	struct wal *w;		   /* borrowed; outlives the writer */
	int fd;			   /* the tmp file */
	char tmp[SNAP_NAME_SIZE];  /* snap-<index>.tmp */
	char name[SNAP_NAME_SIZE]; /* snap-<index>.snap */
	uint64_t len;		   /* content bytes written */
	uint64_t len_max;	   /* wal_snap_writer_limit(), 0 = none */
	uint32_t crc;		   /* CRC32C of the content so far */
};

struct wal_snap_reader {
	int fd; /* the .snap file */
	char name[SNAP_NAME_SIZE];
	uint64_t data_len; /* content bytes */
	uint64_t pos;	   /* content bytes read */
	uint32_t crc;	   /* CRC32C of what was read */
	uint32_t want_crc; /* from the trailer */
};

static bool parse_snap_name(const char *name, uint64_t *index, bool *tmp)
{
	size_t n = strlen(name);
	if (strncmp(name, "snap-", 5) != 0) {
		return false;
	}
	if (n == 26 && strcmp(name + 21, ".snap") == 0) {
		*tmp = false;
	} else if (n == 25 && strcmp(name + 21, ".tmp") == 0) {
		*tmp = true;
	} else {
		return false;
	}
	return wal__parse_hex16(name + 5, index);
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x > y ? -1 : x < y;
}

/* Indices of the .snap files, newest first; with @clean_tmp (at start,
 * when no writer can exist) removes leftover tmp files. */
static int snap_list(struct wal *w, bool clean_tmp, uint64_t **out,
		     uint32_t *n_out)
{
	int fd = openat(w->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	uint64_t *v = NULL;
	uint32_t n = 0, cap = 0;
	if (d == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return FR_IO;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t index;
		bool tmp;
		if (!parse_snap_name(de->d_name, &index, &tmp)) {
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			uint64_t *nv = fr_realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				fr_free(v);
				closedir(d);
				return FR_NOMEM;
			}
			v = nv;
		}
		if (!tmp) {
			v[n++] = index;
		} else if (clean_tmp) {
			unlinkat(w->dir_fd, de->d_name, 0);
		}
	}
	closedir(d);
	if (n > 0) {
		qsort(v, n, sizeof(*v), cmp_desc);
	}
	*out = v;
	*n_out = n;
	return 0;
}

static void snap_name(char *name, uint64_t index, const char *ext)
{
	snprintf(name, SNAP_NAME_SIZE, "snap-%016" PRIx64 ".%s", index, ext);
}

/* Fully validate a .snap file: header, identity, trailer, size, content
 * checksum.  Returns 0, FR_CORRUPT (@why set), FR_MISMATCH or FR_IO. */
static int snap_check(struct wal *w, int fd, struct wal_snap_hdr *h,
		      struct wal_snap_trailer *t, const char **why)
{
	uint8_t hb[WAL_SNAP_HDR_BYTES], tb[WAL_SNAP_TRAILER_BYTES];
	struct stat st;
	if (fstat(fd, &st) != 0) {
		*why = strerror(errno);
		return FR_IO;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size < sizeof(hb) + sizeof(tb) ||
	    wal__pread_full(fd, hb, sizeof(hb), 0) != sizeof(hb) ||
	    wal__pread_full(fd, tb, sizeof(tb), size - sizeof(tb)) !=
		sizeof(tb)) {
		*why = "file too short";
		return FR_CORRUPT;
	}
	if (wal__snap_hdr_decode(h, hb, why) != 0 ||
	    wal__snap_trailer_decode(t, tb, why) != 0) {
		return FR_CORRUPT;
	}
	if (h->cluster_id != w->o.cluster_id || h->node_id != w->o.node_id) {
		*why = "belongs to another cluster or node";
		return FR_MISMATCH;
	}
	if (t->data_len != size - sizeof(hb) - sizeof(tb)) {
		*why = "content length does not match the file size";
		return FR_CORRUPT;
	}
	uint8_t buf[64 * 1024];
	uint32_t crc = 0;
	for (uint64_t off = 0; off < t->data_len;) {
		size_t n = sizeof(buf);
		if (t->data_len - off < n) {
			n = (size_t)(t->data_len - off);
		}
		if (wal__pread_full(fd, buf, n, sizeof(hb) + off) !=
		    (long long)n) {
			*why = "read error";
			return FR_IO;
		}
		crc = fr_crc32c(crc, buf, n);
		off += n;
	}
	if (crc != t->data_crc) {
		*why = "content checksum mismatch";
		return FR_CORRUPT;
	}
	return 0;
}

/* Open the newest valid snapshot: fd and metadata. FR_NOTFOUND if none. */
static int snap_find(struct wal *w, bool at_start, int *fd_out, char *name,
		     struct wal_snap_hdr *h, struct wal_snap_trailer *t,
		     char *errmsg)
{
	uint64_t *v;
	uint32_t n;
	int rv = snap_list(w, at_start, &v, &n);
	if (rv != 0) {
		wal__errf(errmsg, "%s: listing snapshots failed", w->dir);
		return rv;
	}
	rv = FR_NOTFOUND;
	for (uint32_t i = 0; i < n; i++) {
		const char *why = "";
		snap_name(name, v[i], "snap");
		int fd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
		int crv = fd < 0 ? FR_IO : snap_check(w, fd, h, t, &why);
		if (crv == 0 && h->index != v[i]) {
			crv = FR_CORRUPT;
			why = "header names another index";
		}
		if (crv == 0) {
			*fd_out = fd;
			rv = 0;
			break;
		}
		if (fd >= 0) {
			close(fd);
		}
		if (crv == FR_MISMATCH) {
			wal__errf(errmsg, "%s/%s %s; refusing to start", w->dir,
				  name, why);
			rv = crv;
			break;
		}
		fr_log(FR_LOG_WARN, "wal", "%s: %s; ignoring this snapshot",
		       name, fd < 0 ? strerror(errno) : why);
	}
	fr_free(v);
	return rv;
}

int wal__snap_recover(struct wal *w, struct wal_recovered *rec, char *errmsg)
{
	char name[SNAP_NAME_SIZE];
	struct wal_snap_hdr h;
	struct wal_snap_trailer t;
	int fd;
	int rv = snap_find(w, true, &fd, name, &h, &t, errmsg);
	if (rv == FR_NOTFOUND) {
		return 0;
	}
	if (rv != 0) {
		return rv;
	}
	close(fd);
	rec->snapshot_index = h.index;
	rec->snapshot_term = h.term;
	rec->snapshot_config = h.config;
	fr_log(FR_LOG_INFO, "wal",
	       "snapshot %s: index %" PRIu64 " term %" PRIu64, name, h.index,
	       h.term);
	return 0;
}

int wal_snap_writer_open(struct wal_snap_writer **out, struct wal *w,
			 const struct wal_snap_meta *m, char *errmsg)
{
	struct wal_snap_hdr h = {
	    .cluster_id = w->o.cluster_id,
	    .node_id = w->o.node_id,
	    .index = m->index,
	    .term = m->term,
	    .config = m->config,
	};
	uint8_t hb[WAL_SNAP_HDR_BYTES];
	const char *why;
	wal__snap_hdr_encode(&h, hb);
	if (m->config.n > RAFT_MAX_SERVERS ||
	    wal__snap_hdr_decode(&h, hb, &why) != 0) {
		wal__errf(errmsg, "snapshot: bad metadata (index 0, term 0 or "
				  "a bad configuration)");
		return FR_INVALID;
	}
	struct wal_snap_writer *sw = fr_calloc(1, sizeof(*sw));
	if (sw == NULL) {
		return FR_NOMEM;
	}
	sw->w = w;
	snap_name(sw->tmp, m->index, "tmp");
	snap_name(sw->name, m->index, "snap");
	sw->fd = openat(w->dir_fd, sw->tmp,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e = sw->fd < 0 ? errno : wal__pwrite_all(sw->fd, hb, sizeof(hb), 0);
	if (e != 0) {
		wal__errf(errmsg, "%s/%s: %s", w->dir, sw->tmp, strerror(e));
		wal_snap_writer_abort(sw);
		return wal__errno_code(e);
	}
	*out = sw;
	return 0;
}

int wal_snap_writer_write(struct wal_snap_writer *sw, const void *buf,
			  size_t len, char *errmsg)
{
	if (sw->len_max != 0 && len > sw->len_max - sw->len) {
		wal__errf(errmsg,
			  "%s/%s: %zu more bytes would pass the limit of "
			  "%" PRIu64,
			  sw->w->dir, sw->tmp, len, sw->len_max);
		return FR_TOOBIG;
	}
	int e = wal__pwrite_all(sw->fd, buf, len, WAL_SNAP_HDR_BYTES + sw->len);
	if (e != 0) {
		wal__errf(errmsg, "%s/%s: write: %s", sw->w->dir, sw->tmp,
			  strerror(e));
		return wal__errno_code(e);
	}
	sw->crc = fr_crc32c(sw->crc, buf, len);
	sw->len += len;
	return 0;
}

void wal_snap_writer_limit(struct wal_snap_writer *sw, uint64_t bytes_max)
{
	assert(bytes_max >= sw->len);
	sw->len_max = bytes_max;
}

int wal_snap_fits(uint64_t bytes, uint64_t bytes_max, uint64_t free_bytes,
		  uint64_t reserve_bytes)
{
	const uint64_t frame = WAL_SNAP_HDR_BYTES + WAL_SNAP_TRAILER_BYTES;

	if (bytes_max != 0 && bytes > bytes_max) {
		return FR_TOOBIG;
	}
	/* Written as subtractions: no sum can wrap. */
	if (free_bytes < reserve_bytes || free_bytes - reserve_bytes < frame ||
	    free_bytes - reserve_bytes - frame < bytes) {
		return FR_NOSPACE;
	}
	return 0;
}

int wal_snap_space_check(struct wal *w, uint64_t bytes, uint64_t bytes_max,
			 uint64_t reserve_bytes, char *errmsg)
{
	struct statvfs sv;
	uint64_t free_bytes;
	int rv;

	if (fstatvfs(w->dir_fd, &sv) != 0) {
		wal__errf(errmsg, "%s: statvfs: %s", w->dir, strerror(errno));
		return FR_IO;
	}
	free_bytes = (uint64_t)sv.f_bavail;
	/* f_bavail * f_frsize, saturated (a huge file system cannot wrap). */
	if (sv.f_frsize != 0 && free_bytes > UINT64_MAX / sv.f_frsize) {
		free_bytes = UINT64_MAX;
	} else {
		free_bytes *= sv.f_frsize;
	}
	rv = wal_snap_fits(bytes, bytes_max, free_bytes, reserve_bytes);
	if (rv == FR_TOOBIG) {
		wal__errf(errmsg,
			  "snapshot of %" PRIu64 " bytes is over the limit of "
			  "%" PRIu64 " bytes",
			  bytes, bytes_max);
	} else if (rv == FR_NOSPACE) {
		wal__errf(errmsg,
			  "snapshot of %" PRIu64 " bytes does not fit in %s: "
			  "%" PRIu64 " bytes free, %" PRIu64 " kept in reserve",
			  bytes, w->dir, free_bytes, reserve_bytes);
	}
	return rv;
}

/* Delete all but the SNAP_KEEP newest snapshots. */
static void snap_retain(struct wal *w)
{
	uint64_t *v;
	uint32_t n;
	if (snap_list(w, false, &v, &n) != 0) {
		return;
	}
	for (uint32_t i = SNAP_KEEP; i < n; i++) {
		char name[SNAP_NAME_SIZE];
		snap_name(name, v[i], "snap");
		unlinkat(w->dir_fd, name, 0);
	}
	fr_free(v);
}

int wal_snap_writer_commit(struct wal_snap_writer *sw, char *errmsg)
{
	struct wal_snap_trailer t = {.data_len = sw->len, .data_crc = sw->crc};
	uint8_t tb[WAL_SNAP_TRAILER_BYTES];
	const char *step = "write trailer";
	struct wal *w = sw->w;
	wal__snap_trailer_encode(&t, tb);
	int e = wal__pwrite_all(sw->fd, tb, sizeof(tb),
				WAL_SNAP_HDR_BYTES + sw->len);
	if (e == 0 && fsync(sw->fd) != 0) {
		e = errno;
		step = "fsync";
	}
	if (e == 0 && renameat(w->dir_fd, sw->tmp, w->dir_fd, sw->name) != 0) {
		e = errno;
		step = "rename";
	}
	if (e != 0) {
		wal__errf(errmsg, "%s/%s: %s: %s", w->dir, sw->tmp, step,
			  strerror(e));
		wal_snap_writer_abort(sw);
		return wal__errno_code(e);
	}
	close(sw->fd);
	fr_free(sw);
	if (fsync(w->dir_fd) != 0) {
		e = errno;
		wal__errf(errmsg, "%s: fsync: %s", w->dir, strerror(e));
		return wal__errno_code(e);
	}
	snap_retain(w);
	return 0;
}

void wal_snap_writer_abort(struct wal_snap_writer *sw)
{
	if (sw == NULL) {
		return;
	}
	if (sw->fd >= 0) {
		close(sw->fd);
	}
	unlinkat(sw->w->dir_fd, sw->tmp, 0);
	fr_free(sw);
}

int wal_snap_reader_open(struct wal_snap_reader **out, struct wal *w,
			 struct wal_snap_meta *m, char *errmsg)
{
	struct wal_snap_hdr h;
	struct wal_snap_trailer t;
	struct wal_snap_reader *r = fr_calloc(1, sizeof(*r));
	if (r == NULL) {
		return FR_NOMEM;
	}
	int rv = snap_find(w, false, &r->fd, r->name, &h, &t, errmsg);
	if (rv != 0) {
		fr_free(r);
		if (rv == FR_NOTFOUND) {
			wal__errf(errmsg, "%s: no valid snapshot", w->dir);
		}
		return rv;
	}
	r->data_len = t.data_len;
	r->want_crc = t.data_crc;
	m->index = h.index;
	m->term = h.term;
	m->config = h.config;
	*out = r;
	return 0;
}

int wal_snap_reader_read(struct wal_snap_reader *r, void *buf, size_t cap,
			 size_t *n, char *errmsg)
{
	size_t want = cap;
	if (r->data_len - r->pos < want) {
		want = (size_t)(r->data_len - r->pos);
	}
	*n = 0;
	if (want == 0) {
		if (r->crc != r->want_crc) {
			wal__errf(errmsg, "%s: content checksum mismatch",
				  r->name);
			return FR_CORRUPT;
		}
		return 0;
	}
	long long got =
	    wal__pread_full(r->fd, buf, want, WAL_SNAP_HDR_BYTES + r->pos);
	if (got != (long long)want) {
		wal__errf(errmsg, "%s: read failed", r->name);
		return FR_IO;
	}
	r->crc = fr_crc32c(r->crc, buf, want);
	r->pos += want;
	*n = want;
	return 0;
}

uint64_t wal_snap_reader_size(const struct wal_snap_reader *r)
{
	return r->data_len;
}

void wal_snap_reader_close(struct wal_snap_reader *r)
{
	if (r == NULL) {
		return;
	}
	close(r->fd);
	fr_free(r);
}
