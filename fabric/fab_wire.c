/* fab_wire.c — frame header, checksums, kinds and the CREDIT frame. */
#include "fab_wire.h"

#include <assert.h>
#include <string.h>

#include "crc32c.h"
#include "le.h"

/* Header field offsets (fab_wire.h has the table). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_KIND = 5,
	OFF_FLAGS = 6,
	OFF_LEN = 8,
	OFF_PCRC = 12,
	OFF_SENDER = 16,
	OFF_HCRC = 20,
};

_Static_assert(OFF_HCRC + 4 == FAB_WIRE_HDR_SIZE, "header layout");
_Static_assert(FAB_WIRE_HDR_SIZE % 8 == 0, "frames keep 8-byte alignment");
_Static_assert(FAB_WIRE_MAX_PAYLOAD < UINT32_MAX - FAB_WIRE_HDR_SIZE,
	       "a frame length fits in 32 bits");

/* Smallest authenticated payload: the trailer (fab_auth.h: seq + tag). */
#define AUTH_TRAILER_MIN 24u

/* Kinds that travel authenticated once a session exists. */
static bool auth_kind(unsigned kind)
{
	return (kind >= FAB_WIRE_VOTE && kind <= FAB_WIRE_TIMEOUT_NOW) ||
	       kind == FAB_WIRE_CREDIT;
}

bool fab_wire_kind_known(unsigned kind)
{
	switch (kind) {
	case FAB_WIRE_VOTE:
	case FAB_WIRE_VOTE_RESP:
	case FAB_WIRE_APPEND:
	case FAB_WIRE_APPEND_RESP:
	case FAB_WIRE_SNAPSHOT:
	case FAB_WIRE_SNAPSHOT_RESP:
	case FAB_WIRE_TIMEOUT_NOW:
	case FAB_WIRE_HELLO:
	case FAB_WIRE_HELLO_ACK:
	case FAB_WIRE_HELLO_CONFIRM:
	case FAB_WIRE_REJECT:
	case FAB_WIRE_CREDIT:
		return true;
	default:
		return false;
	}
}

const char *fab_wire_kind_name(unsigned kind)
{
	switch (kind) {
	case FAB_WIRE_VOTE:
		return "VOTE";
	case FAB_WIRE_VOTE_RESP:
		return "VOTE_RESP";
	case FAB_WIRE_APPEND:
		return "APPEND";
	case FAB_WIRE_APPEND_RESP:
		return "APPEND_RESP";
	case FAB_WIRE_SNAPSHOT:
		return "SNAPSHOT";
	case FAB_WIRE_SNAPSHOT_RESP:
		return "SNAPSHOT_RESP";
	case FAB_WIRE_TIMEOUT_NOW:
		return "TIMEOUT_NOW";
	case FAB_WIRE_HELLO:
		return "HELLO";
	case FAB_WIRE_HELLO_ACK:
		return "HELLO_ACK";
	case FAB_WIRE_HELLO_CONFIRM:
		return "HELLO_CONFIRM";
	case FAB_WIRE_REJECT:
		return "REJECT";
	case FAB_WIRE_CREDIT:
		return "CREDIT";
	default:
		return "UNKNOWN";
	}
}

static int parse(const void *buf, size_t len, struct fab_wire_frame *f,
		 bool check_payload);

int fab_wire_parse(const void *buf, size_t len, struct fab_wire_frame *f)
{
	return parse(buf, len, f, true);
}

int fab_wire_parse_trusted(const void *buf, size_t len,
			   struct fab_wire_frame *f)
{
	return parse(buf, len, f, false);
}

static int parse(const void *buf, size_t len, struct fab_wire_frame *f,
		 bool check_payload)
{
	const uint8_t *b = buf;

	memset(f, 0, sizeof(*f));
	/* Refuse a foreign stream as soon as its first bytes are visible. */
	if (len >= 4 && le_get_u32(b + OFF_MAGIC) != FAB_WIRE_MAGIC)
		return FR_MALFORMED;
	if (len < FAB_WIRE_HDR_SIZE)
		return FR_AGAIN;
	if (fr_crc32c(0, b, OFF_HCRC) != le_get_u32(b + OFF_HCRC))
		return FR_CORRUPT;
	if (b[OFF_VERSION] != FAB_WIRE_VERSION)
		return FR_UNSUPPORTED;
	if (!fab_wire_kind_known(b[OFF_KIND]))
		return FR_MALFORMED;
	uint16_t flags = le_get_u16(b + OFF_FLAGS);
	uint32_t sender = le_get_u32(b + OFF_SENDER);
	uint32_t plen = le_get_u32(b + OFF_LEN);
	if (flags & ~FAB_WIRE_FLAG_AUTH)
		return FR_MALFORMED;
	if (flags == 0 && sender != 0)
		return FR_MALFORMED;
	if (flags != 0 && (!auth_kind(b[OFF_KIND]) || sender == 0 ||
			   sender > RAFT_ID_MAX || plen < AUTH_TRAILER_MIN))
		return FR_MALFORMED;
	if (plen > FAB_WIRE_MAX_PAYLOAD)
		return FR_TOOBIG;

	f->kind = b[OFF_KIND];
	f->version = b[OFF_VERSION];
	f->flags = flags;
	f->sender = sender;
	f->payload_len = plen;
	f->frame_len = (size_t)FAB_WIRE_HDR_SIZE + plen;
	if (len < f->frame_len)
		return FR_AGAIN;
	f->payload = b + FAB_WIRE_HDR_SIZE;
	if (flags & FAB_WIRE_FLAG_AUTH) {
		/* The tag covers the payload (fab_auth.h): no CRC is sent,
		 * and the caller opens the frame before using a byte. */
		if (le_get_u32(b + OFF_PCRC) != 0) {
			f->payload = NULL;
			return FR_MALFORMED;
		}
		return 0;
	}
	if (check_payload &&
	    fr_crc32c(0, f->payload, plen) != le_get_u32(b + OFF_PCRC)) {
		f->payload = NULL;
		return FR_CORRUPT;
	}
	return 0;
}

int fab_wire_seal(void *frame, unsigned kind, uint32_t payload_len)
{
	return fab__wire_seal(frame, kind, payload_len, true);
}

int fab__wire_seal(void *frame, unsigned kind, uint32_t payload_len,
		   bool payload_crc)
{
	uint8_t *b = frame;

	if (!fab_wire_kind_known(kind))
		return FR_INVALID;
	if (payload_len > FAB_WIRE_MAX_PAYLOAD)
		return FR_TOOBIG;
	le_put_u32(b + OFF_MAGIC, FAB_WIRE_MAGIC);
	b[OFF_VERSION] = FAB_WIRE_VERSION;
	b[OFF_KIND] = (uint8_t)kind;
	le_put_u16(b + OFF_FLAGS, 0);
	le_put_u32(b + OFF_LEN, payload_len);
	le_put_u32(
	    b + OFF_PCRC,
	    payload_crc ? fr_crc32c(0, b + FAB_WIRE_HDR_SIZE, payload_len) : 0);
	le_put_u32(b + OFF_SENDER, 0);
	le_put_u32(b + OFF_HCRC, fr_crc32c(0, b, OFF_HCRC));
	return 0;
}

void fab_wire_auth_begin(uint8_t *frame, uint32_t sender, uint32_t trailer)
{
	assert(auth_kind(frame[OFF_KIND]) && sender >= 1 &&
	       sender <= RAFT_ID_MAX);
	le_put_u16(frame + OFF_FLAGS, FAB_WIRE_FLAG_AUTH);
	le_put_u32(frame + OFF_SENDER, sender);
	le_put_u32(frame + OFF_LEN, le_get_u32(frame + OFF_LEN) + trailer);
}

void fab_wire_auth_finish(uint8_t *frame)
{
	le_put_u32(frame + OFF_PCRC, 0); /* the tag covers the payload */
	le_put_u32(frame + OFF_HCRC, fr_crc32c(0, frame, OFF_HCRC));
}

int fab_wire_credit_encode(const struct fab_wire_credit *c, void *buf,
			   size_t cap, size_t *len)
{
	uint8_t *b = buf;

	*len = FAB_WIRE_CREDIT_SIZE;
	if (c->from == 0 || c->from > RAFT_ID_MAX)
		return FR_INVALID;
	if (cap < FAB_WIRE_CREDIT_SIZE)
		return FR_NOSPACE;
	uint8_t *p = b + FAB_WIRE_HDR_SIZE;
	le_put_u32(p, c->from);
	le_put_u32(p + 4, c->generation);
	le_put_u64(p + 8, c->consumed);
	int rv = fab_wire_seal(b, FAB_WIRE_CREDIT, 16);
	assert(rv == 0);
	return rv;
}

int fab_wire_credit_decode(const struct fab_wire_frame *f,
			   struct fab_wire_credit *c)
{
	if (f->kind != FAB_WIRE_CREDIT)
		return FR_INVALID;
	if (f->payload_len != 16)
		return FR_MALFORMED;
	c->from = le_get_u32(f->payload);
	c->generation = le_get_u32(f->payload + 4);
	c->consumed = le_get_u64(f->payload + 8);
	if (c->from == 0 || c->from > RAFT_ID_MAX)
		return FR_MALFORMED;
	return 0;
}
