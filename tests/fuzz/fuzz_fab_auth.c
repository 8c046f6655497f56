/* fuzz_fab_auth.c — libFuzzer target for the authenticated frame decoder,
 * the ring record MAC check and the sealed ring descriptor (fab_auth.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "fab_auth.h"
#include "fab_hello.h"
#include "fab_ring.h"
#include "fab_wire.h"
#include "le.h"

/*
 * One fixed session between node 1 (sender, initiator) and node 2
 * (receiver), restarted for every input so each run is deterministic.
 * Four passes:
 *  1. raw: the input as a frame arriving at node 2, exactly as anyone on
 *     the network could send it: parse, open (MAC, replay), decode.
 *     Oracle: no crash, no sanitizer report.  (Seeds sealed with this
 *     session's keys open; their mutants do not.)
 *  2. sealed: the input's bytes 1.. as the payload of a frame of kind
 *     input[0], sealed by node 1: it must open at node 2, exactly once
 *     (the replay is refused), and then decode or be refused cleanly --
 *     so mutations reach the Raft decoders behind the MAC.  Then one byte
 *     (chosen by the input) is flipped and the header CRC fixed up: it
 *     must no longer open.
 *  3. ring: the input as ring memory, with CQ data from its first 8
 *     bytes, read with the MAC check on.
 *  4. the input's first bytes as a sealed ring descriptor.
 */

#define RING_SIZE 4096u

/* The session's parameters; fuzz_fab_auth_seeds.c seals with the same. */
#include "fuzz_fab_auth_keys.h"

static struct fab_auth_keys keys;
static struct fab_auth_session tx, rx;
static struct raft_entry entries[RAFT_MAX_BATCH_ENTRIES];
static uint8_t frame[FAB_WIRE_HDR_SIZE + 70000 + FAB_AUTH_TRAILER_SIZE];

static void init_once(void)
{
	static int ready;
	if (ready)
		return;
	if (fuzz_auth_keys(&keys) != 0 || fab_auth_session_init(&tx) != 0 ||
	    fab_auth_session_init(&rx) != 0)
		abort();
	ready = 1;
}

static void restart(void)
{
	if (fab_auth_session_start(&tx, &keys, true, 1, 2) != 0 ||
	    fab_auth_session_start(&rx, &keys, false, 2, 1) != 0)
		abort();
}

/* Open @buf at node 2 and decode what opens.  Returns the open result. */
static int receive(const uint8_t *buf, size_t len)
{
	struct fab_wire_frame f, in;
	struct raft_message m;
	struct fab_wire_credit c;

	if (fab_wire_parse(buf, len, &f) != 0 || f.frame_len != len)
		return FR_MALFORMED;
	if (!(f.flags & FAB_WIRE_FLAG_AUTH))
		return FR_MALFORMED;
	if (f.sender != rx.peer)
		return FR_MALFORMED;
	int rv = fab_auth_frame_open(&rx, &f, &in);
	if (rv != 0)
		return rv;
	if (in.kind == FAB_WIRE_CREDIT)
		(void)fab_wire_credit_decode(&in, &c);
	else
		(void)fab_wire_decode_frame(&in, &m, entries,
					    RAFT_MAX_BATCH_ENTRIES);
	return 0;
}

static void pass_sealed(const uint8_t *data, size_t size)
{
	size_t plen = size - 1;
	unsigned kind = data[0] % 24;

	if (plen + FAB_WIRE_HDR_SIZE + FAB_AUTH_TRAILER_SIZE > sizeof(frame))
		return;
	bool auth_kind =
	    (kind >= FAB_WIRE_VOTE && kind <= FAB_WIRE_TIMEOUT_NOW) ||
	    kind == FAB_WIRE_CREDIT;
	memcpy(frame + FAB_WIRE_HDR_SIZE, data + 1, plen);
	if (!auth_kind || fab_wire_seal(frame, kind, (uint32_t)plen) != 0)
		return;
	size_t len = FAB_WIRE_HDR_SIZE + plen;
	if (fab_auth_frame_seal(&tx, frame, len) != 0)
		return; /* over the limit with the trailer */
	len += FAB_AUTH_TRAILER_SIZE;
	if (receive(frame, len) != 0)
		abort(); /* sealed by the peer, yet refused */
	if (receive(frame, len) != FR_STALE)
		abort(); /* a replay got through */
	/* One flipped byte, the header CRC fixed up as an attacker would. */
	size_t at =
	    (size > 2 ? data[1] | (size_t)data[size - 1] << 8 : 0) % len;
	if ((at >= 12 && at < 16) || (at >= 20 && at < 24))
		return; /* the CRC fields themselves */
	frame[at] ^= 0x01;
	le_put_u32(frame + 20, fr_crc32c(0, frame, 20));
	restart();
	if (receive(frame, len) == 0)
		abort(); /* a modified frame verified */
}

static void pass_ring(const uint8_t *data, size_t size)
{
	static uint8_t mem[RING_SIZE];
	struct fab_ring_reader r;
	struct fab_ring_rec rec;

	if (size < 8)
		return;
	uint64_t cq = le_get_u64(data);
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + 8, size - 8 < RING_SIZE ? size - 8 : RING_SIZE);
	if (fab_ring_reader_init(&r, RING_SIZE, (uint32_t)(cq >> 56)) != 0)
		abort();
	r.verify = fab_auth_ring_verify;
	r.verify_ctx = &rx;
	(void)fab_ring_reader_next(&r, mem, cq, &rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fab_ring_desc d;

	init_once();
	restart();
	(void)receive(data, size);
	if (size >= 1) {
		restart();
		pass_sealed(data, size);
	}
	restart();
	pass_ring(data, size);
	if (size >= FAB_AUTH_BOX_SIZE)
		(void)fab_auth_desc_open(keys.desc_a2i, data, &d);
	return 0;
}
