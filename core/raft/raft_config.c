/* raft_config.c — cluster configurations: validation, lookup, encoding. */
#include <string.h>

#include "raft_private.h"

int raft_config_validate(const struct raft_config *c)
{
	if (c->n == 0 || c->n > RAFT_MAX_SERVERS) {
		return FR_INVALID;
	}
	uint32_t voters = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct raft_server *s = &c->servers[i];
		if (s->id == 0 || s->id > RAFT_ID_MAX) {
			return FR_INVALID;
		}
		if (s->role != RAFT_VOTER && s->role != RAFT_LEARNER) {
			return FR_INVALID;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (c->servers[j].id == s->id) {
				return FR_INVALID;
			}
		}
		voters += s->role == RAFT_VOTER;
	}
	return voters > 0 ? 0 : FR_INVALID;
}

int raft__config_slot(const struct raft_config *c, raft_id id)
{
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->servers[i].id == id) {
			return (int)i;
		}
	}
	return -1;
}

bool raft__config_is_voter(const struct raft_config *c, raft_id id)
{
	int slot = raft__config_slot(c, id);
	return slot >= 0 && c->servers[slot].role == RAFT_VOTER;
}

uint32_t raft__config_voters(const struct raft_config *c)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		n += c->servers[i].role == RAFT_VOTER;
	}
	return n;
}

/* Encoding: u8 version (1), u8 n, then n x (u8 id, u8 role).  Ids fit a
 * byte because RAFT_ID_MAX is 255. */
#define CONFIG_VERSION 1u

size_t raft_config_encoded_size(const struct raft_config *c)
{
	return 2 + 2 * (size_t)c->n;
}

int raft_config_encode(const struct raft_config *c, void *buf, size_t size)
{
	if (raft_config_encoded_size(c) > size || c->n > RAFT_MAX_SERVERS) {
		return FR_TOOBIG;
	}
	unsigned char *p = buf;
	*p++ = CONFIG_VERSION;
	*p++ = (unsigned char)c->n;
	for (uint32_t i = 0; i < c->n; i++) {
		*p++ = (unsigned char)c->servers[i].id;
		*p++ = c->servers[i].role;
	}
	return 0;
}

int raft_config_decode(struct raft_config *c, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	if (p == NULL || len < 2 || p[0] != CONFIG_VERSION) {
		return FR_MALFORMED;
	}
	uint32_t n = p[1];
	if (n > RAFT_MAX_SERVERS || len != 2 + 2 * (size_t)n) {
		return FR_MALFORMED;
	}
	struct raft_config tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.n = n;
	for (uint32_t i = 0; i < n; i++) {
		tmp.servers[i].id = p[2 + 2 * i];
		tmp.servers[i].role = p[3 + 2 * i];
	}
	int rv = raft_config_validate(&tmp);
	if (rv != 0) {
		return rv;
	}
	*c = tmp;
	return 0;
}
