/* wal_recover.c — recovery: scan the segments, verify every record,
 * truncate a torn tail, refuse damage anywhere else. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap.h"
#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * Batches are numbered; each record carries its batch number and the
 * number of the batch written before it (prev_batch).  The writer writes
 * batch N+1 only after the fdatasync of batch N returned (wal.h invariant
 * 2).  So when the scan meets something that is not a valid record at
 * offset X, with S the last complete batch before X:
 *
 *   - if a valid record with prev_batch > S exists anywhere after X (in
 *     this segment or a later one), the batch after S was durable before
 *     that record was written: the damage is not a torn write.  Refuse,
 *     naming the file and offset.
 *   - otherwise the damage lies in the last batch, which was never
 *     acknowledged as durable (or, without a CLOSE marker, cannot be told
 *     from such a batch): drop it, zero the rest of the segment, delete
 *     later segments.
 *
 * A record whose checksums are valid but whose content is inconsistent
 * (index gap, decreasing term, batch numbers out of order) cannot come from
 * a torn write and is refused.
 *
 * With o.recover_damage (the daemon) damage is not refused but cut
 * (damage_cut): the damaged record and everything after it go, and X, the
 * highest index that may have been lost, is persisted in meta first; the
 * runtime then starts Raft recovering up to X (raft.h note 7).  Damage in
 * the last batch counts as corruption rather than a torn write when no
 * unwritten (zero) sector can explain it (torn_explains).
 */

struct rseg {
	uint64_t seg_no;
	char name[32];
	int fd;
	uint8_t *map;  /* whole file, read-only */
	uint64_t size; /* file size */
	struct wal_seg_hdr hdr;
};

struct rentry {
	uint32_t seg; /* index into rseg array */
	uint64_t off; /* record offset */
	raft_index index;
	raft_term term;
	uint32_t len;
	uint8_t type;
};

struct rstate {
	struct rseg *segs;
	uint32_t n_segs;
	struct rentry *ents; /* accepted entries */
	uint32_t n_ents;
	uint32_t cap_ents;
	uint32_t n_pending; /* entries of the open batch, after n_ents */
	uint64_t S;	    /* last complete batch */
	uint64_t open;	    /* open batch number, 0 if none */
	uint64_t open_off;  /* its first record */
	uint64_t max_batch;
	raft_index next; /* next expected entry index */
	raft_term last_term;
	bool sealed;		  /* last complete record is a CLOSE */
	uint32_t end_seg;	  /* segment holding the end of the log */
	uint64_t end_off;	  /* end of valid data in it */
	bool rolled;		  /* end_seg ends with a ROLL */
	bool torn;		  /* a torn tail was found (or damage cut) */
	bool corrupt;		  /* flushed records were found damaged and cut
				     (only with o.recover_damage) */
	raft_index recover_index; /* with corrupt: highest index cut */
	struct wal_slot claim;	  /* the newest segment's tail slot */
};

static int cmp_rseg(const void *a, const void *b)
{
	const struct rseg *x = a, *y = b;
	return x->seg_no < y->seg_no ? -1 : x->seg_no > y->seg_no;
}

static bool parse_seg_name(const char *name, uint64_t *no, bool *tmp)
{
	if (strlen(name) != 24 || strncmp(name, "wal-", 4) != 0) {
		return false;
	}
	if (strcmp(name + 20, ".seg") == 0) {
		*tmp = false;
	} else if (strcmp(name + 20, ".tmp") == 0) {
		*tmp = true;
	} else {
		return false;
	}
	return wal__parse_hex16(name + 4, no);
}

static int list_segments(struct wal *w, struct rstate *r, char *errmsg)
{
	DIR *d;
	uint32_t cap = 0;
	int rv = wal__dir_list(w, &d, errmsg);
	if (rv != 0) {
		return rv;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t no;
		bool tmp = strcmp(de->d_name, WAL_SPARE_NAME) == 0;
		if (!tmp && !parse_seg_name(de->d_name, &no, &tmp)) {
			continue;
		}
		if (tmp) {
			/* Never part of the log: a spare being zero-filled
			 * or taken but not renamed yet, a segment whose
			 * creation was interrupted, or the copy of an
			 * interrupted truncation. */
			fr_log(FR_LOG_INFO, "wal",
			       "removing %s: an unfinished %s, not part of "
			       "the log",
			       de->d_name,
			       strcmp(de->d_name, WAL_SPARE_NAME) == 0
				   ? "spare segment"
				   : "segment creation or truncation copy");
			if (unlinkat(w->dir_fd, de->d_name, 0) != 0) {
				fr_log(FR_LOG_WARN, "wal", "%s: unlink: %s",
				       de->d_name, strerror(errno));
			}
			continue;
		}
		struct rseg *segs =
		    wal__grow(r->segs, r->n_segs, &cap, 16, sizeof(*segs));
		if (segs == NULL) {
			closedir(d);
			return FR_NOMEM;
		}
		r->segs = segs;
		struct rseg *s = &r->segs[r->n_segs++];
		memset(s, 0, sizeof(*s));
		s->seg_no = no;
		s->fd = -1;
		wal__seg_name(s->name, no);
	}
	closedir(d);
	if (r->n_segs > 0) {
		qsort(r->segs, r->n_segs, sizeof(*r->segs), cmp_rseg);
	}
	return 0;
}

/* Open, check the header and size, and map one segment. */
static int seg_map(struct wal *w, struct rseg *s, char *errmsg)
{
	struct stat st;
	uint8_t hdr[WAL_SEG_HDR_BYTES];
	const char *why = "";

	s->fd = openat(w->dir_fd, s->name, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) != 0) {
		wal__errf(errmsg, "%s/%s: %s", w->dir, s->name,
			  strerror(errno));
		return FR_IO;
	}
	s->size = (uint64_t)st.st_size;
	if (s->size < WAL_SEG_HDR_BYTES ||
	    wal__pread_full(s->fd, hdr, sizeof(hdr), 0) != sizeof(hdr)) {
		wal__errf(errmsg,
			  "%s/%s: truncated to %" PRIu64 " bytes; "
			  "refusing to start",
			  w->dir, s->name, s->size);
		return FR_CORRUPT;
	}
	if (wal__seg_hdr_decode(&s->hdr, hdr, &why) != 0) {
		wal__errf(errmsg, "%s/%s: offset 0: %s; refusing to start",
			  w->dir, s->name, why);
		return FR_CORRUPT;
	}
	if (s->hdr.cluster_id != w->o.cluster_id ||
	    s->hdr.node_id != w->o.node_id) {
		wal__errf(errmsg,
			  "%s/%s belongs to cluster %#" PRIx64 " node %" PRIu32
			  ", not this one; refusing to start",
			  w->dir, s->name, s->hdr.cluster_id, s->hdr.node_id);
		return FR_MISMATCH;
	}
	if (s->hdr.seg_no != s->seg_no || s->size < s->hdr.alloc_bytes) {
		wal__errf(errmsg, "%s/%s: %s; refusing to start", w->dir,
			  s->name,
			  s->hdr.seg_no != s->seg_no
			      ? "header names another segment"
			      : "file shorter than its preallocated size "
				"(truncated)");
		return FR_CORRUPT;
	}
	/* What a killed writer left in the page cache is about to become
	 * part of the log: make it durable before anything builds on it. */
	if (fsync(s->fd) != 0) {
		wal__errf(errmsg, "%s/%s: fsync: %s", w->dir, s->name,
			  strerror(errno));
		return wal__errno_code(errno);
	}
	s->map = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		wal__errf(errmsg, "%s/%s: mmap: %s", w->dir, s->name,
			  strerror(errno));
		return FR_IO;
	}
	return 0;
}

/* A valid record with prev_batch > S at or after @from in segment @i or
 * anywhere in a later segment?  Reports where. */
static bool later_data(const struct rstate *r, uint32_t i, uint64_t from,
		       uint32_t *seg, uint64_t *off)
{
	for (; i < r->n_segs; i++) {
		const struct rseg *s = &r->segs[i];
		uint64_t o = (from + 7) & ~(uint64_t)7;
		for (; o + WAL_REC_HDR_BYTES <= s->size; o += 8) {
			struct wal_rec_hdr h;
			const uint8_t *p = s->map + o;
			if (p[4] != 0x46 || p[5] != 0x52 || p[6] != 0x52 ||
			    p[7] != 0x43) {
				continue; /* not the "FRRC" magic */
			}
			if (wal__rec_hdr_plausible(&h, p, s->size - o) &&
			    h.prev_batch > r->S) {
				*seg = i;
				*off = o;
				return true;
			}
		}
		from = WAL_SEG_HDR_BYTES;
	}
	return false;
}

static int ent_push(struct rstate *r, uint32_t seg, uint64_t off,
		    const struct wal_rec_hdr *h)
{
	uint32_t n = r->n_ents + r->n_pending;
	struct rentry *e =
	    wal__grow(r->ents, n, &r->cap_ents, 1024, sizeof(*e));
	if (e == NULL) {
		return FR_NOMEM;
	}
	r->ents = e;
	r->ents[n] = (struct rentry){
	    .seg = seg,
	    .off = off,
	    .index = h->index,
	    .term = h->term,
	    .len = h->len,
	    .type = h->type,
	};
	r->n_pending++;
	return 0;
}

/* Check a valid record against the log so far; NULL if consistent. */
static const char *rec_inconsistent(const struct rstate *r,
				    const struct wal_rec_hdr *h)
{
	if (r->open != 0 ? h->batch != r->open
			 : h->batch <= r->S || h->prev_batch != r->S) {
		return "batch numbers out of sequence";
	}
	if (h->kind == WAL_REC_ENTRY) {
		if (h->index != r->next) {
			return "entry index out of sequence";
		}
		if (h->term < r->last_term) {
			return "entry term decreases";
		}
	} else if (h->index != r->next - 1) {
		return "marker index out of sequence";
	} else if (h->kind == WAL_REC_ROLL && !(h->flags & WAL_REC_F_LAST)) {
		return "segment-roll marker not at the end of its batch";
	}
	return NULL;
}

/* Accept a valid, consistent record. */
static int rec_accept(struct rstate *r, uint32_t seg, uint64_t off,
		      const struct wal_rec_hdr *h)
{
	int rv;
	if (r->open == 0) {
		r->open = h->batch;
		r->open_off = off;
	}
	if (h->batch > r->max_batch) {
		r->max_batch = h->batch;
	}
	if (h->kind == WAL_REC_ENTRY) {
		if ((rv = ent_push(r, seg, off, h)) != 0) {
			return rv;
		}
		r->next = h->index + 1;
		r->last_term = h->term;
	}
	if (h->flags & WAL_REC_F_LAST) {
		r->S = h->batch;
		r->open = 0;
		r->n_ents += r->n_pending;
		r->n_pending = 0;
		r->sealed = h->kind == WAL_REC_CLOSE;
		r->end_off = off + wal_rec_size(h->len);
		r->rolled = h->kind == WAL_REC_ROLL;
	}
	return 0;
}

/*
 * Can a torn write explain the bad record at @off of @s?  A torn write
 * leaves whole 512-byte sectors unwritten, and every block the log writes
 * into held zeros before (zero-filled or fallocated space, zeros of a
 * repair) or the same bytes (the rewritten partial block).  So the bad
 * record must have a sector whose part inside the record is all zero; if
 * every such part holds data, the record was written completely and
 * damaged afterwards: corruption.  The record spans its header and
 * payload (not its zero padding), its header only when the header itself
 * is bad (its length is not to be trusted); each sector is looked at from
 * the record's start to the sector's end.  Zeros there that are data (a
 * payload with a zero run to the end of a sector, the record ending the
 * log with zero bytes) make damage look torn: the old behaviour.
 */
static bool torn_explains(const struct rseg *s, uint64_t off)
{
	struct wal_rec_hdr h;
	uint64_t end = off + WAL_REC_HDR_BYTES;
	if (off + WAL_REC_HDR_BYTES <= s->size &&
	    wal__rec_hdr_plausible(&h, s->map + off, s->size - off) &&
	    h.len <= RAFT_MAX_ENTRY_BYTES) {
		end = off + WAL_REC_HDR_BYTES + h.len; /* padding is zero */
	}
	if (end > s->size) {
		return true; /* runs past the file: not ours to judge */
	}
	for (uint64_t sec = off & ~(uint64_t)511; sec < end; sec += 512) {
		/* From the record on, the whole sector belongs to the same
		 * write: the record, the batch's next ones, or the zeros
		 * after it (so a payload ending in zero bytes is not taken
		 * for an unwritten sector when more data follows). */
		uint64_t a = sec > off ? sec : off;
		uint64_t b = sec + 512 < s->size ? sec + 512 : s->size;
		bool zero = true;
		for (uint64_t k = a; k < b && zero; k++) {
			zero = s->map[k] == 0;
		}
		if (zero) {
			return true;
		}
	}
	return false;
}

/* The highest entry index named by an intact record header from @from of
 * segment @i on, and whether the last of them closes its batch. */
static raft_index later_max_index(const struct rstate *r, uint32_t i,
				  uint64_t from, bool *closed)
{
	raft_index max = 0;
	*closed = false;
	for (; i < r->n_segs; i++) {
		const struct rseg *s = &r->segs[i];
		for (uint64_t o = (from + 7) & ~(uint64_t)7;
		     o + WAL_REC_HDR_BYTES <= s->size; o += 8) {
			struct wal_rec_hdr h;
			if (s->map[o + 4] == 0x46 &&
			    wal__rec_hdr_plausible(&h, s->map + o,
						   s->size - o) &&
			    h.kind == WAL_REC_ENTRY && h.index >= max) {
				max = h.index;
				*closed = (h.flags & WAL_REC_F_LAST) != 0;
			}
		}
		from = WAL_SEG_HDR_BYTES;
	}
	return max;
}

/*
 * Flushed records are damaged at @x of segment @i (o.recover_damage):
 * cut the log before the batch holding them, as for a torn tail, and
 * note the highest index the cut may have removed (X): what this node may
 * have acknowledged.  X is exact when an intact header closes the damaged
 * range; when none does, one more entry is assumed.
 */
static int damage_cut(struct rstate *r, uint32_t i, uint64_t x, const char *why,
		      const char *name)
{
	bool closed;
	raft_index seen =
	    later_max_index(r, i, r->open != 0 ? r->open_off : x, &closed);
	raft_index X = seen > r->next ? seen : r->next;
	if (!closed && seen + 1 > X) {
		X = seen + 1;
	}
	uint64_t cut = r->open != 0 ? r->open_off : x;
	fr_log(FR_LOG_ERROR, "wal",
	       "%s offset %" PRIu64 ": %s in data that was flushed (and may "
	       "have been acknowledged): CORRUPTION, not a torn write; cutting "
	       "the log at offset %" PRIu64 " (entries from %" PRIu64
	       "); this node is recovering (counts toward no commit, votes "
	       "by the recovering rules) until a leader has repaired its log "
	       "through index %" PRIu64,
	       name, x, why, cut, r->next, X);
	r->corrupt = true;
	r->torn = true;
	if (X > r->recover_index) {
		r->recover_index = X;
	}
	r->n_pending = 0;
	r->open = 0;
	r->end_seg = i;
	r->end_off = cut;
	return 0;
}

/*
 * The data of segment @i ends at @x (zeros, end of file or a bad record,
 * @why says which).  Decide: clean end, torn tail, or damage.  Sets
 * *@stop when the log ends in this segment.
 */
static int seg_end(struct wal *w, struct rstate *r, uint32_t i, uint64_t x,
		   const char *why, bool *stop, char *errmsg)
{
	const struct rseg *s = &r->segs[i];
	uint32_t dseg;
	uint64_t doff;

	*stop = true;
	bool later = later_data(r, i, x, &dseg, &doff);
	if (w->o.recover_damage &&
	    (later || (why != NULL && !torn_explains(s, x)))) {
		return damage_cut(r, i, x, why != NULL ? why : "missing data",
				  s->name);
	}
	if (later) {
		wal__errf(errmsg,
			  "%s/%s: offset %" PRIu64 ": %s, but valid "
			  "data written later follows (%s offset %" PRIu64
			  "); refusing to start",
			  w->dir, s->name, x, why, r->segs[dseg].name, doff);
		return FR_CORRUPT;
	}
	uint64_t cut = r->open != 0 ? r->open_off : x;
	bool clean = r->open == 0 && why == NULL;
	if (!clean) {
		r->torn = true;
		fr_log(FR_LOG_WARN, "wal",
		       "%s offset %" PRIu64 ": torn tail "
		       "(%s): dropping the unfinished last batch from offset "
		       "%" PRIu64,
		       s->name, x, why != NULL ? why : "incomplete batch", cut);
	}
	r->n_pending = 0;
	r->open = 0;
	r->end_seg = i;
	r->end_off = cut;
	return 0;
}

/* Scan the records of segment @i. */
static int seg_scan(struct wal *w, struct rstate *r, uint32_t i, bool *stop,
		    char *errmsg)
{
	struct rseg *s = &r->segs[i];
	uint64_t off = WAL_SEG_HDR_BYTES;
	int rv;

	if (i == 0) {
		r->next = s->hdr.first_index;
		r->S = s->hdr.base_batch;
		r->max_batch = r->S;
	} else if (s->hdr.first_index != r->next) {
		wal__errf(errmsg,
			  "%s/%s: first index %" PRIu64 ", expected %" PRIu64
			  "; refusing to start",
			  w->dir, s->name, s->hdr.first_index, r->next);
		return FR_CORRUPT;
	}
	r->end_seg = i;
	r->end_off = off;
	r->rolled = false;
	for (;;) {
		struct wal_rec_hdr h;
		const char *why = NULL;
		int st = wal__rec_decode(&h, s->map + off, s->size - off, &why);
		if (st != WAL_REC_OK) {
			if (st == WAL_REC_ZERO && r->open == 0 &&
			    i + 1 == r->n_segs) {
				why = NULL; /* clean end of the log */
			} else if (st == WAL_REC_ZERO) {
				why = r->open != 0 ? "incomplete batch"
						   : "segment ends without a "
						     "roll marker";
			}
			return seg_end(w, r, i, off, why, stop, errmsg);
		}
		const char *bad = rec_inconsistent(r, &h);
		if (bad != NULL && w->o.recover_damage) {
			/* Checksums hold but it does not belong here: a
			 * misdirected or lost write. */
			*stop = true;
			return damage_cut(r, i, off, bad, s->name);
		}
		if (bad != NULL) {
			wal__errf(errmsg,
				  "%s/%s: offset %" PRIu64 ": %s; "
				  "refusing to start",
				  w->dir, s->name, off, bad);
			return FR_CORRUPT;
		}
		if ((rv = rec_accept(r, i, off, &h)) != 0) {
			return rv;
		}
		off += wal_rec_size(h.len);
		if (r->rolled && r->open == 0) {
			*stop = false;
			return 0;
		}
	}
}

/* Apply the end found by the scan: delete later segments (newest first)
 * and zero the end segment after the end of the log. */
static int tail_repair(struct wal *w, struct rstate *r, char *errmsg)
{
	for (uint32_t i = r->n_segs; i > r->end_seg + 1; i--) {
		struct rseg *s = &r->segs[i - 1];
		fr_log(FR_LOG_WARN, "wal",
		       "deleting %s: it follows a torn tail", s->name);
		if (unlinkat(w->dir_fd, s->name, 0) != 0 ||
		    fsync(w->dir_fd) != 0) {
			wal__errf(errmsg, "%s/%s: unlink: %s", w->dir, s->name,
				  strerror(errno));
			return FR_IO;
		}
	}
	if (!r->torn) {
		return 0;
	}
	/* Zero what the torn batch left, by writing: punching a hole and
	 * preallocating again would leave unwritten extents, which make
	 * every later append's fdatasync commit an extent conversion.
	 * Blocks past the last non-zero byte already read as zeros. */
	struct rseg *s = &r->segs[r->end_seg];
	uint64_t end = s->size, word;
	while (end > r->end_off && end % 8 != 0 && s->map[end - 1] == 0) {
		end--;
	}
	while (end >= r->end_off + 8 && end % 8 == 0 &&
	       (memcpy(&word, s->map + end - 8, 8), word == 0)) {
		end -= 8;
	}
	while (end > r->end_off && s->map[end - 1] == 0) {
		end--;
	}
	int fd = openat(w->dir_fd, s->name, O_RDWR | O_CLOEXEC);
	int e = fd < 0 ? errno : wal__zero_write(fd, r->end_off, end);
	if (e == 0 && fd >= 0 && fsync(fd) != 0) {
		e = errno;
	}
	if (fd >= 0) {
		close(fd);
	}
	if (e != 0) {
		wal__errf(errmsg, "%s/%s: zeroing the torn tail: %s", w->dir,
			  s->name, strerror(e));
		return wal__errno_code(e);
	}
	return 0;
}

/* The last entry the recovered log holds (the snapshot's place when the
 * segments hold none). */
static raft_index log_end(const struct rstate *r)
{
	if (r->n_ents > 0) {
		return r->ents[r->n_ents - 1].index;
	}
	return r->n_segs > 0 ? r->segs[0].hdr.first_index - 1 : 0;
}

/* The newest segment's tail slot against the end of the log: a log that
 * ends before the claim lost flushed batches (or was torn by a power cut
 * during their flush).  Only with o.recover_damage.  Reads r->claim. */
static bool claim_check(struct wal *w, struct rstate *r)
{
	if (r->n_segs == 0) {
		return false;
	}
	const struct rseg *s = &r->segs[r->n_segs - 1];
	wal__claim_read(s->name, s->map, &s->hdr, &r->claim);
	return w->o.recover_damage && r->claim.index > log_end(r);
}

/* The claim's term as the recovering bound's term.  An entry is flushed
 * only after the term it carries was saved in meta (the runtime saves
 * term and vote before it submits the update's entries), so a claim of a
 * newer term than meta's is not believed: the index stands (the safe
 * side), the term is reported unknown (0) rather than handing the core a
 * term it would refuse. */
static raft_term claim_term(const struct wal *w, const struct wal_slot *c)
{
	if (c->term <= w->term) {
		return c->term;
	}
	fr_log(FR_LOG_WARN, "wal",
	       "tail slot claims term %" PRIu64
	       ", newer than the saved term %" PRIu64
	       ": recovering up to its index with the term unknown",
	       c->term, w->term);
	return 0;
}

/*
 * After the cut: the slot of the segment that now ends the log must not
 * claim more than it holds, or every later start would find the same loss
 * again after meta already recorded it (and after wal_recovering_clear()
 * cleared it).  Rewritten to the last entry left in that segment (nothing
 * when none is), only with o.recover_damage (without, nothing was
 * recorded and the claim stays for a later start); a slot claiming less (a kill
 * between a batch's write and its slot's) is left for the next flush.
 */
static int slot_fix(struct wal *w, struct rstate *r, char *errmsg)
{
	if (!w->o.recover_damage) {
		return 0; /* nothing recorded: keep the evidence */
	}
	const struct rseg *s = &r->segs[r->end_seg];
	struct wal_slot c, t = {0};
	const char *why = "";
	int st = wal__slot_decode(&c, s->map, &s->hdr, &why);
	if (r->n_ents > 0 && r->ents[r->n_ents - 1].seg == r->end_seg) {
		t.index = r->ents[r->n_ents - 1].index;
		t.term = r->ents[r->n_ents - 1].term;
		t.batch = r->S;
	}
	if (st == WAL_SLOT_EMPTY || (st == WAL_SLOT_OK && c.index <= t.index)) {
		return 0;
	}
	return wal__slot_rewrite(w, s->name, &t, errmsg);
}

/* Copy the accepted entries out of the maps into rec. */
static int entries_build(struct wal *w, struct rstate *r,
			 struct wal_recovered *rec)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < r->n_ents; i++) {
		total += r->ents[i].len;
	}
	if (r->n_ents == 0) {
		return 0;
	}
	w->rec_entries = fr_calloc(r->n_ents, sizeof(*w->rec_entries));
	w->rec_payload = fr_malloc(total > 0 ? (size_t)total : 1);
	if (w->rec_entries == NULL || w->rec_payload == NULL) {
		return FR_NOMEM;
	}
	uint8_t *p = w->rec_payload;
	for (uint32_t i = 0; i < r->n_ents; i++) {
		const struct rentry *e = &r->ents[i];
		memcpy(p, r->segs[e->seg].map + e->off + WAL_REC_HDR_BYTES,
		       e->len);
		w->rec_entries[i] = (struct raft_entry){
		    .term = e->term,
		    .index = e->index,
		    .type = e->type,
		    .len = e->len,
		    .buf = p,
		};
		p += e->len;
	}
	rec->entries = w->rec_entries;
	rec->n_entries = r->n_ents;
	return 0;
}

/* Fill the queued view and writer state of @w from the scan. */
static int state_build(struct wal *w, struct rstate *r)
{
	uint32_t k = 0;
	int rv;
	for (uint32_t i = 0; i < r->n_segs && i <= r->end_seg; i++) {
		struct rseg *rs = &r->segs[i];
		struct wal_seg *s;
		uint64_t alloc = rs->size & ~(uint64_t)(WAL_BLOCK - 1);
		if ((rv = wal__segs_add(w, rs->seg_no, rs->hdr.first_index,
					alloc, &s)) != 0) {
			return rv;
		}
		for (; k < r->n_ents && r->ents[k].seg == i; k++) {
			if ((rv = wal__seg_push(s, r->ents[k].off,
						r->ents[k].term)) != 0) {
				return rv;
			}
		}
		s->rolled = i < r->end_seg || r->rolled;
		s->end = i < r->end_seg ? alloc : r->end_off;
	}
	if (w->n_segs == 0) {
		return 0;
	}
	w->base_index = w->segs[0].first_index - 1;
	w->last_index = r->next - 1;
	if (r->n_ents > 0) {
		w->last_index = r->ents[r->n_ents - 1].index;
		w->last_term = r->ents[r->n_ents - 1].term;
	} else {
		w->last_index = w->base_index;
	}
	w->durable_index = w->last_index;
	w->durable_term = w->last_term;
	wal__durable_publish_locked(w);
	w->next_seg_no = w->segs[w->n_segs - 1].seg_no + 1;
	w->next_batch = r->max_batch + 1;
	w->prev_batch = r->S;
	w->sealed = r->sealed;
	struct wal_seg *last = &w->segs[w->n_segs - 1];
	int e = wal__seg_open_fd(w, last->seg_no);
	if (e == 0) {
		e = wal__tail_load(w, w->seg_fd, last->end);
	}
	return e == 0 ? 0 : wal__errno_code(e);
}

static void rstate_free(struct rstate *r)
{
	for (uint32_t i = 0; i < r->n_segs; i++) {
		if (r->segs[i].map != NULL) {
			munmap(r->segs[i].map, r->segs[i].size);
		}
		if (r->segs[i].fd >= 0) {
			close(r->segs[i].fd);
		}
	}
	fr_free(r->segs);
	fr_free(r->ents);
}

int wal__recover_log(struct wal *w, struct wal_recovered *rec, char *errmsg)
{
	struct rstate r;
	bool stop = false;
	int rv;

	memset(&r, 0, sizeof(r));
	if ((rv = list_segments(w, &r, errmsg)) != 0) {
		goto out;
	}
	for (uint32_t i = 0; i < r.n_segs; i++) {
		if ((rv = seg_map(w, &r.segs[i], errmsg)) != 0) {
			goto out;
		}
	}
	if (r.n_segs > 0 && fsync(w->dir_fd) != 0) {
		wal__errf(errmsg, "%s: fsync: %s", w->dir, strerror(errno));
		rv = FR_IO;
		goto out;
	}
	for (uint32_t i = 0; i < r.n_segs && !stop; i++) {
		if ((rv = seg_scan(w, &r, i, &stop, errmsg)) != 0) {
			goto out;
		}
	}
	bool lost = claim_check(w, &r);
	if (r.corrupt || lost) {
		/* Persist what may be lost before cutting it: a crash during
		 * the repair must not forget it (raft.h note 7). */
		raft_index X = r.recover_index;
		raft_term xt = 0; /* a damaged record's term is unknown */
		if (lost) {
			wal__claim_merge(&X, &xt, r.claim.index,
					 claim_term(w, &r.claim));
		}
		wal__claim_merge(&X, &xt, w->recover_index, w->recover_term);
		if ((rv = wal__meta_save_recover(w, X, xt, errmsg)) != 0) {
			goto out;
		}
		if (lost && !r.corrupt) {
			wal__claim_lost_log(w->dir, r.segs[r.n_segs - 1].name,
					    log_end(&r), &r.claim, X);
		}
		r.corrupt = true;
	}
	if (r.n_segs > 0 && ((rv = tail_repair(w, &r, errmsg)) != 0 ||
			     (rv = slot_fix(w, &r, errmsg)) != 0 ||
			     (rv = entries_build(w, &r, rec)) != 0 ||
			     (rv = state_build(w, &r)) != 0)) {
		if (rv == FR_IO && errmsg != NULL && errmsg[0] == '\0') {
			wal__errf(errmsg, "%s: reopening the last segment: %s",
				  w->dir, strerror(errno));
		}
		goto out;
	}
	rec->torn_tail = r.torn && !r.corrupt;
	rec->corrupt = r.corrupt;
	fr_log(FR_LOG_INFO, "wal", "recovered %u entries from %u segment(s)%s",
	       r.n_ents, w->n_segs,
	       r.torn ? " after dropping a torn tail" : "");
out:
	rstate_free(&r);
	return rv;
}
