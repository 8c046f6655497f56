/* fuzz_fab_wire_seeds.c — writes the seed corpus of fuzz_fab_wire: one valid
 * frame of every kind, a ring record, and a multi-frame stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seed_put.h"

#include "fab_hello.h"
#include "fab_ring.h"
#include "fab_wire.h"

static const char *dir;

static void put(const char *name, const void *buf, size_t len)
{
	seed_put(dir, name, buf, len);
}

static size_t enc(const struct raft_message *m, uint8_t *buf, size_t cap)
{
	size_t len;
	if (fab_wire_encode(m, buf, cap, &len) != 0) {
		fprintf(stderr, "cannot encode type %u\n", m->type);
		exit(1);
	}
	return len;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16], stream[1 << 16];
	static const uint8_t data[] = "some entry payload bytes";
	size_t len, slen = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];

	struct raft_entry e[3] = {
	    {.term = 2,
	     .index = 5,
	     .type = RAFT_ENTRY_NORMAL,
	     .len = 24,
	     .buf = data},
	    {.term = 3, .index = 6, .type = RAFT_ENTRY_NOOP},
	    {.term = 3,
	     .index = 7,
	     .type = RAFT_ENTRY_CONFIG,
	     .len = 8,
	     .buf = data},
	};
	struct raft_message m[7] = {
	    {.type = RAFT_MSG_VOTE,
	     .from = 1,
	     .to = 2,
	     .term = 3,
	     .vote = {.last_index = 9, .last_term = 2, .flags = 1}},
	    {.type = RAFT_MSG_VOTE_RESP,
	     .from = 2,
	     .to = 1,
	     .term = 3,
	     .vote_resp = {.granted = 1}},
	    {.type = RAFT_MSG_APPEND,
	     .from = 1,
	     .to = 2,
	     .term = 3,
	     .append = {.prev_index = 4,
			.prev_term = 2,
			.commit = 4,
			.seq = 1,
			.n_entries = 3,
			.entries = e}},
	    {.type = RAFT_MSG_APPEND_RESP,
	     .from = 2,
	     .to = 1,
	     .term = 3,
	     .append_resp =
		 {.success = 1, .index = 7, .last_index = 7, .seq = 1}},
	    {.type = RAFT_MSG_SNAPSHOT,
	     .from = 1,
	     .to = 3,
	     .term = 3,
	     .snapshot = {.last_index = 7,
			  .last_term = 3,
			  .config = {.n = 2,
				     .servers = {{1, RAFT_VOTER},
						 {3, RAFT_LEARNER}}},
			  .offset = 0,
			  .total = 24,
			  .done = 1,
			  .len = 24,
			  .data = data}},
	    {.type = RAFT_MSG_SNAPSHOT_RESP,
	     .from = 3,
	     .to = 1,
	     .term = 3,
	     .snapshot_resp = {.last_index = 7, .offset = 24, .done = 1}},
	    {.type = RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 3},
	};
	for (int i = 0; i < 7; i++) {
		char name[64];
		len = enc(&m[i], buf, sizeof(buf));
		snprintf(name, sizeof(name), "msg_%s",
			 fab_wire_kind_name(m[i].type));
		put(name, buf, len);
		memcpy(stream + slen, buf, len);
		slen += len;
	}
	/* A conditional grant (raft.h note 7). */
	m[1].vote_resp.granted = RAFT_GRANT_CONDITIONAL;
	len = enc(&m[1], buf, sizeof(buf));
	put("msg_VOTE_RESP_conditional", buf, len);

	/* Handshake frames with the fuzzer's key (cluster 42, secret below,
	 * receiver 2, member 1) so they authenticate. */
	static const char s[] = "fuzzing cluster secret";
	struct fab_hello_key k1;
	if (fab_hello_key_init(&k1, 42, 1, s, sizeof(s) - 1) != 0)
		return 1;
	struct fab_hello h = {.cluster_id = 42,
			      .from = 1,
			      .to = 2,
			      .version = FAB_HELLO_VERSION,
			      .nonce = 7,
			      .incarnation = 99,
			      .has_ring = true};
	if (fab_hello_encode(&k1, FAB_WIRE_HELLO, &h, buf, sizeof(buf), &len))
		return 1;
	put("hello", buf, len);
	h.has_ring = false;
	h.echo = 7;
	h.nonce = 8;
	if (fab_hello_encode(&k1, FAB_WIRE_HELLO_ACK, &h, buf, sizeof(buf),
			     &len))
		return 1;
	put("hello_ack", buf, len);
	struct fab_hello_confirm c = {
	    .cluster_id = 42, .from = 1, .to = 2, .nonce = 7, .echo = 8};
	if (fab_hello_confirm_encode(&k1, &c, buf, sizeof(buf), &len))
		return 1;
	put("hello_confirm", buf, len);
	if (fab_hello_reject_encode(FR_AUTH, 7, buf, sizeof(buf), &len))
		return 1;
	put("reject", buf, len);
	struct fab_wire_credit cr = {
	    .from = 2, .generation = 1, .consumed = 4096};
	if (fab_wire_credit_encode(&cr, buf, sizeof(buf), &len))
		return 1;
	put("credit", buf, len);
	memcpy(stream + slen, buf, len);
	slen += len;
	put("stream", stream, slen);

	/* A ring input: 8 bytes of CQ data, then the ring memory holding one
	 * record (generation = the CQ data's top byte) carrying the APPEND. */
	struct fab_ring_writer w;
	struct fab_ring_desc d = {.size = 4096, .generation = 1};
	struct fab_ring_slot slot;
	size_t alen = enc(&m[2], buf + 8 + FAB_RING_HDR_SIZE, 4000);
	if (fab_ring_writer_init(&w, &d) ||
	    fab_ring_writer_reserve(&w, (uint32_t)alen, &slot))
		return 1;
	fab_ring_record_seal(buf + 8, &slot, 3, 1);
	memcpy(buf, &slot.cq_data, 8); /* host order, as the fuzzer reads */
	put("ring_append", buf, 8 + slot.rec_size);
	return 0;
}
