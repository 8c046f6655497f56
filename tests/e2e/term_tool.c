/* term_tool.c — test helper for e2e_terms.sh: a member that misbehaves
 * (sends every kind of message with a huge term, holding the cluster's
 * secret) and a way to put a stopped node's durable term near
 * RAFT_TERM_MAX.  Not a product tool: it exists to attack and to stage.
 *
 *   term_tool rogue PROVIDER SELF PEERS CLUSTER_ID SECRET_FILE TERM
 *       PEERS as fabraftd's --peers (1=127.0.0.1:7001,...); SELF is the
 *       member it impersonates (whose daemon is stopped).  Exits 0 once
 *       every message was queued to every peer that came up.
 *   term_tool set-term DATA_DIR CLUSTER_ID NODE_ID TERM
 *   term_tool forge PROVIDER SELF PEERS CLUSTER_ID TERM
 *       An attacker on the network WITHOUT the secret (e2e_forge.sh): takes
 *       member SELF's address (its daemon stopped) and for 2 s sends every
 *       peer well-formed, CRC-correct frames of every Raft kind claiming
 *       to come from SELF with @TERM, plain and with a made-up MAC.  Prints
 *       how many frames it sent.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"
#include "err.h"
#include "fab.h"
#include "fab_wire.h"
#include "le.h"
#include "raft.h"
#include "raft_msgs.h"
#include "wal.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	*v = strtoull(s, &end, 0);
	return *s != '\0' && *end == '\0' ? 0 : -1;
}

static int parse_peers(const char *s, struct fab_peer_addr *p, uint32_t *n)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (char *save, *tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned id, port;
		char host[64];
		if (*n == RAFT_MAX_SERVERS ||
		    sscanf(tok, "%u=%63[^:]:%u", &id, host, &port) != 3) {
			return -1;
		}
		p[*n].id = (raft_id)id;
		snprintf(p[*n].host, sizeof(p[*n].host), "%s", host);
		p[*n].port = (uint16_t)port;
		(*n)++;
	}
	return *n >= 2 ? 0 : -1;
}

static void ignore(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	(void)m;
}

static void poll_for(struct fab *f, uint64_t ms)
{
	uint64_t end = now_ms() + ms;
	while (now_ms() < end) {
		(void)fab_poll(f, ignore, NULL);
		struct timespec d = {0, 1000000};
		nanosleep(&d, NULL);
	}
}

/* Every kind of message a member can send, each with @term. */
static int send_all(struct fab *f, raft_id self, raft_id to, raft_term term)
{
	for (size_t i = 0; i < TEST_RAFT_MSG_KINDS; i++) {
		struct raft_message m;
		test_raft_msg(i, self, to, term, &m);
		int rv = fab_send(f, &m);
		if (rv != 0) {
			fprintf(stderr, "term_tool: send to %u: %s\n", to,
				fr_strerror(rv));
			return -1;
		}
	}
	return 0;
}

/* Who the tool stands in for: PROVIDER SELF PEERS CLUSTER_ID at
 * @argv[0..3], the arguments rogue and forge share. */
struct member {
	const char *provider;
	uint64_t self;
	struct fab_peer_addr peers[RAFT_MAX_SERVERS];
	uint32_t n;
	uint64_t cluster;
};

static int parse_member(char **argv, struct member *m)
{
	m->provider = argv[0];
	return parse_u64(argv[1], &m->self) != 0 ||
		       parse_peers(argv[2], m->peers, &m->n) != 0 ||
		       parse_u64(argv[3], &m->cluster) != 0
		   ? -1
		   : 0;
}

/* Open the transport as @m with @secret; NULL (and a message) on failure. */
static struct fab *open_member(const struct member *m, const void *secret,
			       size_t secret_len, int rma, const char *what)
{
	struct fab_options o;
	memset(&o, 0, sizeof(o));
	o.provider = m->provider;
	o.rma = rma;
	o.self = (raft_id)m->self;
	o.peers = m->peers;
	o.n_peers = m->n;
	o.cluster_id = m->cluster;
	o.secret = secret;
	o.secret_len = secret_len;
	char err[FR_ERRMSG_SIZE];
	struct fab *f;
	if (fab_open(&f, &o, err) != 0) {
		fprintf(stderr, "term_tool %s: %s\n", what, err);
		return NULL;
	}
	return f;
}

static int rogue(char **argv)
{
	struct member mb;
	uint64_t term;
	if (parse_member(argv, &mb) != 0 || parse_u64(argv[5], &term) != 0) {
		fprintf(stderr, "term_tool rogue: bad arguments\n");
		return 2;
	}
	const struct fab_peer_addr *peers = mb.peers;
	uint32_t n = mb.n;
	uint64_t self = mb.self;
	unsigned char secret[256];
	FILE *sf = fopen(argv[4], "rb");
	size_t slen = sf != NULL ? fread(secret, 1, sizeof(secret), sf) : 0;
	if (sf != NULL) {
		fclose(sf);
	}
	/* As fabraftd reads it: trailing line ends are not part of it. */
	while (slen > 0 &&
	       (secret[slen - 1] == '\n' || secret[slen - 1] == '\r')) {
		slen--;
	}
	/* rma -1, as the daemons: a ring when the provider has RMA. */
	struct fab *f = open_member(&mb, secret, slen, -1, "rogue");
	if (f == NULL) {
		return 1;
	}
	int sent = 0;
	uint64_t end = now_ms() + 8000;
	bool done[RAFT_ID_MAX + 1] = {false};
	while (now_ms() < end && sent < (int)n - 1) {
		poll_for(f, 20);
		for (uint32_t i = 0; i < n; i++) {
			raft_id to = peers[i].id;
			if (to == self || done[to] || !fab_peer_up(f, to)) {
				continue;
			}
			if (send_all(f, (raft_id)self, to, term) != 0) {
				fab_close(f);
				return 1;
			}
			done[to] = true;
			sent++;
		}
	}
	poll_for(f, 1000); /* let the frames leave */
	fab_close(f);
	printf("term_tool: sent term %" PRIu64 " to %d peers\n", term, sent);
	return sent == (int)n - 1 ? 0 : 1;
}

/* Frame @m into @buf; with @auth, as an authenticated frame whose MAC is
 * made up (all but the key: flag, sender, trailer, correct CRCs). */
static size_t forge_frame(const struct raft_message *m, bool auth, uint64_t seq,
			  uint8_t *buf, size_t cap)
{
	size_t len;
	if (fab_wire_encode(m, buf, cap - 24, &len) != 0) {
		return 0;
	}
	if (!auth) {
		return len;
	}
	uint32_t plen = (uint32_t)(len - FAB_WIRE_HDR_SIZE + 24);
	le_put_u64(buf + len, seq);
	for (int i = 0; i < 16; i++) {
		buf[len + 8 + i] = (uint8_t)(seq * 31 + (uint64_t)i);
	}
	le_put_u16(buf + 6, 1); /* FAB_WIRE_FLAG_AUTH */
	le_put_u32(buf + 8, plen);
	le_put_u32(buf + 12, 0); /* authenticated: the tag replaces the CRC */
	le_put_u32(buf + 16, m->from);
	le_put_u32(buf + 20, fr_crc32c(0, buf, 20));
	return len + 24;
}

/* The messages a forger sends: each Raft kind that can move a term or a
 * leader, from @self to @to with @term. */
static uint32_t forged_messages(raft_id self, raft_id to, raft_term term,
				struct raft_message *out, struct raft_entry *e)
{
	uint32_t n = 0;
	for (size_t i = 0; i < TEST_RAFT_MSG_KINDS; i++) {
		struct raft_message *m = &out[n++];
		test_raft_msg(i, self, to, term, m);
		if (m->type == RAFT_MSG_VOTE_RESP) {
			m->vote_resp.granted = 1;
		}
		if (m->type == RAFT_MSG_APPEND) {
			/* A leader's APPEND that would overwrite index 1. */
			*e = (struct raft_entry){.index = 1,
						 .term = term,
						 .type = RAFT_ENTRY_NORMAL,
						 .len = 5,
						 .buf = "forge"};
			m->append.commit = 1;
			m->append.n_entries = 1;
			m->append.entries = e;
		}
		if (m->type == RAFT_MSG_APPEND_RESP) {
			m->append_resp.success = 1;
			m->append_resp.index = UINT64_C(1) << 40;
		}
	}
	return n;
}

static int forge(char **argv)
{
	struct member mb;
	uint64_t term;
	if (parse_member(argv, &mb) != 0 || parse_u64(argv[4], &term) != 0) {
		fprintf(stderr, "term_tool forge: bad arguments\n");
		return 2;
	}
	const struct fab_peer_addr *peers = mb.peers;
	uint32_t n = mb.n;
	uint64_t self = mb.self;
	/* Not the cluster's secret: a guess is all an outsider has. */
	static const char guess[] = "an outsider's guess at the secret";
	struct fab *f = open_member(&mb, guess, sizeof(guess) - 1, 0, "forge");
	if (f == NULL) {
		return 1;
	}
	uint64_t sent = 0;
	uint64_t seq = 1;
	uint64_t end = now_ms() + 2000;
	while (now_ms() < end) {
		for (uint32_t i = 0; i < n; i++) {
			raft_id to = peers[i].id;
			struct raft_message ms[8];
			struct raft_entry e;
			if (to == self) {
				continue;
			}
			uint32_t k =
			    forged_messages((raft_id)self, to, term, ms, &e);
			for (uint32_t j = 0; j < 2 * k; j++) {
				static uint8_t buf[512];
				size_t len = forge_frame(
				    &ms[j / 2], j % 2, seq++, buf, sizeof(buf));
				if (len != 0 &&
				    fab_test_send_raw(f, to, buf, len) == 0) {
					sent++;
				}
			}
		}
		poll_for(f, 50);
	}
	poll_for(f, 500); /* let the frames leave */
	fab_close(f);
	printf("term_tool: forged %" PRIu64 " frames with term %" PRIu64 "\n",
	       sent, term);
	return sent > 0 ? 0 : 1;
}

static int set_term(char **argv)
{
	uint64_t cluster, id, term;
	if (parse_u64(argv[1], &cluster) != 0 || parse_u64(argv[2], &id) != 0 ||
	    parse_u64(argv[3], &term) != 0) {
		fprintf(stderr, "term_tool set-term: bad arguments\n");
		return 2;
	}
	struct wal_options wo;
	wal_options_default(&wo, argv[0], cluster, (uint32_t)id);
	struct wal_recovered rec;
	char err[FR_ERRMSG_SIZE];
	struct wal *w;
	int rv = wal_open(&w, &wo, &rec, err);
	if (rv == 0) {
		rv = wal_hardstate_save(w, term, 0);
		wal_close(w);
	}
	if (rv != 0) {
		fprintf(stderr, "term_tool set-term: %s\n", fr_strerror(rv));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 8 && strcmp(argv[1], "rogue") == 0) {
		return rogue(argv + 2);
	}
	if (argc == 6 && strcmp(argv[1], "set-term") == 0) {
		return set_term(argv + 2);
	}
	if (argc == 7 && strcmp(argv[1], "forge") == 0) {
		return forge(argv + 2);
	}
	fprintf(stderr,
		"usage: term_tool rogue PROVIDER SELF PEERS CLUSTER_ID "
		"SECRET_FILE TERM\n       term_tool set-term DATA_DIR "
		"CLUSTER_ID NODE_ID TERM\n       term_tool forge PROVIDER "
		"SELF PEERS CLUSTER_ID TERM\n");
	return 2;
}
