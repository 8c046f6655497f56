/* fuzz_fab_auth_seeds.c — writes the seed corpus of fuzz_fab_auth: frames
 * sealed with its fixed session (pass 1), [kind][payload] inputs (pass 2),
 * and a ring record with its MAC (pass 3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seed_put.h"

#include "fuzz_fab_auth_keys.h"
#include "le.h"

static const char *dir;

static void put(const char *name, const void *buf, size_t len)
{
	seed_put(dir, name, buf, len);
}

int main(int argc, char **argv)
{
	static uint8_t buf[4096], in[4096], ring[8 + 4096];
	static const uint8_t data[] = "some entry payload bytes";
	struct fab_auth_keys keys;
	struct fab_auth_session tx;
	struct raft_entry e[2] = {
	    {.index = 11,
	     .term = 3,
	     .type = RAFT_ENTRY_NORMAL,
	     .len = 24,
	     .buf = data},
	    {.index = 12,
	     .term = 3,
	     .type = RAFT_ENTRY_NORMAL,
	     .len = 5,
	     .buf = data},
	};
	struct raft_message ms[3] = {
	    {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 3},
	    {.type = RAFT_MSG_APPEND_RESP, .from = 1, .to = 2, .term = 3},
	    {.type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 4},
	};
	static const char *names[3] = {"append", "append_resp", "vote"};
	size_t len;
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	ms[0].append = (struct raft_append){.prev_index = 10,
					    .prev_term = 3,
					    .commit = 10,
					    .seq = 5,
					    .n_entries = 2,
					    .entries = e};
	ms[1].append_resp.success = 1;
	ms[1].append_resp.index = 12;
	ms[2].vote.last_index = 12;
	ms[2].vote.last_term = 3;
	if (fuzz_auth_keys(&keys) != 0 || fab_auth_session_init(&tx) != 0 ||
	    fab_auth_session_start(&tx, &keys, true, 1, 2) != 0)
		return 1;
	for (int i = 0; i < 3; i++) {
		if (fab_wire_encode(&ms[i], buf, sizeof(buf) - 24, &len) != 0)
			return 1;
		/* pass 2: kind byte, then the payload */
		in[0] = buf[5];
		memcpy(in + 1, buf + FAB_WIRE_HDR_SIZE,
		       len - FAB_WIRE_HDR_SIZE);
		snprintf(name, sizeof(name), "payload_%s", names[i]);
		put(name, in, 1 + len - FAB_WIRE_HDR_SIZE);
		/* pass 1: the sealed frame (seq 1 after a restart) */
		if (fab_auth_session_start(&tx, &keys, true, 1, 2) != 0 ||
		    fab_auth_frame_seal(&tx, buf, len) != 0)
			return 1;
		snprintf(name, sizeof(name), "sealed_%s", names[i]);
		put(name, buf, len + FAB_AUTH_TRAILER_SIZE);
	}
	/* pass 3: an APPEND as ring record 0 of generation 5 */
	struct fab_ring_desc d = {.size = 4096, .generation = 5};
	struct fab_ring_writer w;
	struct fab_ring_slot slot;
	if (fab_wire_encode(&ms[0], buf, sizeof(buf), &len) != 0 ||
	    fab_ring_writer_init(&w, &d) != 0 ||
	    fab_ring_writer_reserve(&w, (uint32_t)len, &slot) != 0)
		return 1;
	memcpy(ring + 8 + FAB_RING_HDR_SIZE, buf, len);
	fab_ring_record_seal(ring + 8, &slot, 3, 5);
	if (fab_auth_ring_seal(&tx, ring + 8, slot.rec_size, 5, slot.pos) != 0)
		return 1;
	le_put_u64(ring, slot.cq_data);
	put("ring_append", ring, 8 + slot.rec_size);
	fab_auth_session_close(&tx);
	fab_auth_keys_wipe(&keys);
	return 0;
}
