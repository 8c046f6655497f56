/* fuzz_wal_decode.c — libFuzzer target for the wal's on-disk decoders: a
 * segment image (header block, then records walked as recovery walks them),
 * the meta file, and snapshot headers and trailers.  Decoders must never
 * read past the input or accept what they cannot vouch for. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wal_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_records(const uint8_t *p, uint64_t size)
{
	uint64_t off = 0;
	while (off < size) {
		struct wal_rec_hdr h;
		const char *why = NULL;
		int st = wal__rec_decode(&h, p + off, size - off, &why);
		if (st != WAL_REC_OK) {
			if (st == WAL_REC_BAD && why == NULL) {
				abort(); /* a rejection always says why */
			}
			return;
		}
		uint64_t rs = wal_rec_size(h.len);
		if (rs > size - off || h.len > RAFT_MAX_ENTRY_BYTES) {
			abort(); /* accepted a record that does not fit */
		}
		off += rs;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	struct wal_meta m;
	(void)wal__meta_decode(&m, data, size, &why);
	if (size >= WAL_SNAP_HDR_BYTES) {
		struct wal_snap_hdr sh;
		if (wal__snap_hdr_decode(&sh, data, &why) == 0 &&
		    sh.config.n > RAFT_MAX_SERVERS) {
			abort();
		}
	}
	if (size >= WAL_SNAP_TRAILER_BYTES) {
		struct wal_snap_trailer t;
		(void)wal__snap_trailer_decode(&t, data, &why);
	}
	if (size >= WAL_SEG_HDR_BYTES) {
		struct wal_seg_hdr h;
		struct wal_slot sl;
		/* The tail slot is judged against a header that decoded; a
		 * claim it accepts lies inside what the segment can hold. */
		if (wal__seg_hdr_decode(&h, data, &why) == 0 &&
		    wal__slot_decode(&sl, data, &h, &why) == WAL_SLOT_OK &&
		    (sl.index < h.first_index || sl.term == 0 ||
		     sl.batch <= h.base_batch)) {
			abort();
		}
		walk_records(data + WAL_SEG_HDR_BYTES,
			     size - WAL_SEG_HDR_BYTES);
	}
	/* Records from the start too, so short inputs reach the decoder. */
	walk_records(data, size);
	return 0;
}
