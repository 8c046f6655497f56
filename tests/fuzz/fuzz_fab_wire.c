/* fuzz_fab_wire.c — libFuzzer target for the frame, handshake and ring
 * decoders. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fab_hello.h"
#include "fab_ring.h"
#include "fab_wire.h"

/*
 * Three passes over every input:
 *  1. raw: the input as a byte stream of frames, exactly as a peer could
 *     send it (checksums included, so mutations mostly test the CRC path);
 *  2. resealed: the input's payload (bytes 24..) under a freshly computed
 *     header of the input's kind (byte 5), so mutations reach the payload
 *     decoders past the checksums — what a hostile peer can do;
 *  3. ring: the input as ring memory with CQ data from its first 8 bytes.
 * Oracle: no crash, no sanitizer report, and anything that decodes
 * re-encodes to the very same bytes (the format is canonical).
 */

#define RING_SIZE 4096u

static struct raft_entry entries[RAFT_MAX_BATCH_ENTRIES];
static uint8_t scratch[FAB_WIRE_HDR_SIZE + 256 * 1024];

static void check_reencode(const struct raft_message *m,
			   const struct fab_wire_frame *f, const uint8_t *frame)
{
	size_t len;
	if (f->frame_len > sizeof(scratch))
		return;
	int rv = fab_wire_encode(m, scratch, sizeof(scratch), &len);
	if (rv != 0 || len != f->frame_len || memcmp(scratch, frame, len) != 0)
		abort(); /* decoded but not canonical, or not re-encodable */
}

static const struct fab_hello_key *key(void)
{
	static struct fab_hello_key k;
	static int ready;
	if (!ready) {
		static const char s[] = "fuzzing cluster secret";
		if (fab_hello_key_init(&k, 42, 2, s, sizeof(s) - 1) != 0 ||
		    fab_hello_key_add_member(&k, 1) != 0)
			abort();
		ready = 1;
	}
	return &k;
}

static void decode_one(const struct fab_wire_frame *f, const uint8_t *frame)
{
	struct raft_message m;
	struct fab_wire_credit c;
	struct fab_hello h;
	size_t consumed;
	int reason;
	uint64_t echo;

	switch (f->kind) {
	case FAB_WIRE_CREDIT:
		(void)fab_wire_credit_decode(f, &c);
		break;
	case FAB_WIRE_HELLO:
	case FAB_WIRE_HELLO_ACK:
		(void)fab_hello_decode(key(), f->kind, 7, frame, f->frame_len,
				       &h, &consumed, NULL);
		break;
	case FAB_WIRE_HELLO_CONFIRM:
		(void)fab_hello_confirm_decode(
		    key(), 1, 7, 8, frame, f->frame_len, NULL, &consumed, NULL);
		break;
	case FAB_WIRE_REJECT:
		(void)fab_hello_reject_decode(frame, f->frame_len, &reason,
					      &echo, &consumed);
		break;
	default:
		if (fab_wire_decode_frame(f, &m, entries,
					  RAFT_MAX_BATCH_ENTRIES) == 0)
			check_reencode(&m, f, frame);
		break;
	}
}

static void raw_stream(const uint8_t *data, size_t size)
{
	struct fab_wire_frame f;
	size_t off = 0;

	while (off < size && fab_wire_parse(data + off, size - off, &f) == 0) {
		assert(f.frame_len <= size - off);
		decode_one(&f, data + off);
		off += f.frame_len;
	}
}

static void resealed(const uint8_t *data, size_t size)
{
	struct fab_wire_frame f;

	if (size < FAB_WIRE_HDR_SIZE)
		return;
	size_t plen = size - FAB_WIRE_HDR_SIZE;
	/* An exactly sized copy, so any read past the end is caught. */
	uint8_t *frame = malloc(size);
	if (frame == NULL)
		return;
	memcpy(frame, data, size);
	if (fab_wire_seal(frame, data[5], (uint32_t)plen) == 0 &&
	    fab_wire_parse(frame, size, &f) == 0)
		decode_one(&f, frame);
	free(frame);
}

static void ring(const uint8_t *data, size_t size)
{
	static uint8_t mem[RING_SIZE];
	struct fab_ring_reader r;
	struct fab_ring_rec rec;
	uint64_t cq = 0;

	if (size < 8)
		return;
	memcpy(&cq, data, 8);
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + 8, size - 8 < RING_SIZE ? size - 8 : RING_SIZE);
	if (fab_ring_reader_init(&r, RING_SIZE, (uint32_t)(cq >> 56)) != 0)
		abort();
	if (fab_ring_reader_next(&r, mem, cq, &rec) == 0) {
		if (rec.payload < mem ||
		    rec.payload + rec.len > mem + RING_SIZE)
			abort();
		raw_stream(rec.payload, rec.len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	raw_stream(data, size);
	resealed(data, size);
	ring(data, size);
	return 0;
}
