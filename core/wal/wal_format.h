/* wal_format.h — on-disk encoding of the wal's files (format version 1);
 * docs/storage.md describes the same layout for humans. */
#ifndef FABRAFT_WAL_FORMAT_H
#define FABRAFT_WAL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

/*
 * All integers are little endian.  Every structure carries a CRC32C, and
 * decoders check every field before anything trusts it: a decoder never
 * reads past the length it is given.
 */

#define WAL_FORMAT_VERSION 1u
/* Alignment of O_DIRECT I/O and size of the segment header block. */
#define WAL_BLOCK	  4096u
#define WAL_SEG_HDR_BYTES WAL_BLOCK
#define WAL_SEG_HDR_USED  72u
#define WAL_REC_HDR_BYTES 56u
#define WAL_REC_MAGIC	  0x43525246u /* "FRRC" */
#define WAL_META_BYTES	  96u	      /* versions 2 and 3 */
#define WAL_META_V1_BYTES 64u	      /* version 1: read, never written */
#define WAL_META_VERSION  3u	      /* 2 is read, never written */
/* The tail slot: one 512-byte sector of the segment header block,
 * rewritten with every flush (docs/storage.md "Tail slot"). */
#define WAL_SLOT_OFF	       512u
#define WAL_SLOT_BYTES	       512u
#define WAL_SLOT_USED	       40u
#define WAL_SNAP_HDR_BYTES     312u
#define WAL_SNAP_TRAILER_BYTES 32u

/* Record kinds. */
enum wal_rec_kind {
	WAL_REC_ENTRY = 1, /* a Raft entry */
	WAL_REC_ROLL = 2,  /* last record of a segment: go on in the next */
	WAL_REC_CLOSE = 3, /* written at clean close: the batch before it is
			      complete */
};

#define WAL_REC_F_LAST 0x01u /* last record of its batch */

struct wal_seg_hdr {
	uint64_t cluster_id;  /* owner cluster */
	uint32_t node_id;     /* owner node */
	uint64_t seg_no;      /* equals the number in the file name */
	uint64_t first_index; /* index of the first entry it holds */
	uint64_t alloc_bytes; /* preallocated size; the file is never shorter */
	uint64_t base_batch;  /* last batch written before this segment's
				 first batch */
};

struct wal_rec_hdr {
	uint64_t index;	     /* entry index; for markers the last index */
	uint64_t term;	     /* entry term; for markers the last term */
	uint64_t batch;	     /* batch sequence number, increasing */
	uint64_t prev_batch; /* the batch before it in the log (written and
				synced before this one was written) */
	uint32_t len;	     /* payload bytes */
	uint32_t pcrc;	     /* CRC32C of the payload */
	uint8_t kind;	     /* enum wal_rec_kind */
	uint8_t type;	     /* enum raft_entry_type for entries, else 0 */
	uint8_t flags;	     /* WAL_REC_F_* */
};

/* What the tail slot claims: the last entry of the last batch flushed into
 * the segment (its fdatasync covered the slot too). */
struct wal_slot {
	uint64_t index; /* last entry index flushed, 0 = no claim */
	uint64_t term;	/* its term */
	uint64_t batch; /* number of the batch that wrote it */
};

struct wal_meta {
	uint64_t cluster_id;
	uint32_t node_id;
	uint64_t term;
	uint32_t vote;
	uint64_t recover_index; /* v2: recovering up to this index, 0 = no */
	uint64_t durable_index; /* v2: last durable entry when saved */
	uint64_t durable_term;	/* v2: its term */
	uint64_t recover_term;	/* v3: term of recover_index, 0 = unknown */
};

struct wal_snap_hdr {
	uint64_t cluster_id;
	uint32_t node_id;
	uint64_t index;
	uint64_t term;
	struct raft_config config;
};

struct wal_snap_trailer {
	uint64_t data_len; /* content bytes between header and trailer */
	uint32_t data_crc; /* CRC32C of the content */
};

/** Bytes a record with @len payload bytes occupies (8-byte aligned). */
static inline uint64_t wal_rec_size(uint64_t len)
{
	return WAL_REC_HDR_BYTES + ((len + 7u) & ~(uint64_t)7u);
}

/** Parse exactly 16 lower-case hex digits at @p (file names carry indices
 * that way).  Returns false on any other character. */
bool wal__parse_hex16(const char *p, uint64_t *out);

void wal__seg_hdr_encode(const struct wal_seg_hdr *h, uint8_t *buf);
/** Decode a WAL_SEG_HDR_BYTES block; 0 or FR_CORRUPT with @why set. */
int wal__seg_hdr_decode(struct wal_seg_hdr *h, const uint8_t *buf,
			const char **why);

enum wal_slot_status {
	WAL_SLOT_OK = 0, /* a valid claim */
	WAL_SLOT_EMPTY,	 /* all zero: no claim (a segment of an older build,
			    or no entry flushed into it yet) */
	WAL_SLOT_BAD,	 /* damaged: no claim, warn */
};

/** Encode @s into the WAL_SLOT_BYTES sector at @sector. */
void wal__slot_encode(const struct wal_slot *s, uint8_t *sector);
/**
 * Decode the slot of a segment header block (@blk, WAL_SEG_HDR_BYTES) whose
 * header @h decoded: magic, checksum, zero padding, then plausibility
 * against @h (the index lies in what a segment of that size can hold, a
 * term, a batch after the segment's base batch).  Returns enum
 * wal_slot_status; sets @why for WAL_SLOT_BAD.
 */
int wal__slot_decode(struct wal_slot *s, const uint8_t *blk,
		     const struct wal_seg_hdr *h, const char **why);

/** Encode the header of a record; the caller has set pcrc. */
void wal__rec_hdr_encode(const struct wal_rec_hdr *h, uint8_t *buf);

enum wal_rec_status {
	WAL_REC_OK = 0, /* a valid record */
	WAL_REC_ZERO,	/* zeros or end of file: no record here */
	WAL_REC_BAD,	/* something that is not a valid record */
};

/**
 * Decode the record at @buf with @avail readable bytes: header checksum,
 * magic, kind, type, length (<= RAFT_MAX_ENTRY_BYTES and within @avail),
 * payload checksum and zero padding.  Returns enum wal_rec_status; sets
 * @why for WAL_REC_BAD.
 */
int wal__rec_decode(struct wal_rec_hdr *h, const uint8_t *buf, uint64_t avail,
		    const char **why);
/** Cheap check used when scanning ahead: header checksum and magic only. */
bool wal__rec_hdr_plausible(struct wal_rec_hdr *h, const uint8_t *buf,
			    uint64_t avail);

/** Writer: stamp the batch numbers and flags of an encoded record header and
 * recompute its checksum. */
void wal__rec_hdr_stamp(uint8_t *buf, uint64_t batch, uint64_t prev_batch,
			bool last);
/** Payload length of an encoded record header (trusted: our own buffer). */
uint32_t wal__rec_hdr_len(const uint8_t *buf);

void wal__meta_encode(const struct wal_meta *m, uint8_t *buf);
int wal__meta_decode(struct wal_meta *m, const uint8_t *buf, size_t len,
		     const char **why);

void wal__snap_hdr_encode(const struct wal_snap_hdr *h, uint8_t *buf);
int wal__snap_hdr_decode(struct wal_snap_hdr *h, const uint8_t *buf,
			 const char **why);
void wal__snap_trailer_encode(const struct wal_snap_trailer *t, uint8_t *buf);
int wal__snap_trailer_decode(struct wal_snap_trailer *t, const uint8_t *buf,
			     const char **why);

#endif /* FABRAFT_WAL_FORMAT_H */
