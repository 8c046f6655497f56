/* fuzz_fab_auth_keys.h — the fixed session of fuzz_fab_auth and its seeds. */
#ifndef FABRAFT_FUZZ_FAB_AUTH_KEYS_H
#define FABRAFT_FUZZ_FAB_AUTH_KEYS_H

#include "fab_auth.h"

/* Node 1 (initiator) and node 2 of cluster 42, fixed nonces: the same keys
 * in every run, so that seeds sealed once keep opening. */
static inline int fuzz_auth_keys(struct fab_auth_keys *keys)
{
	static const char s[] = "fuzzing cluster secret";
	struct fab_hello_key k;
	const struct fab_auth_params pp = {.cluster_id = 42,
					   .initiator = 1,
					   .acceptor = 2,
					   .nonce_i = 7,
					   .nonce_a = 8,
					   .inc_i = 9,
					   .inc_a = 10};

	if (fab_hello_key_init(&k, 42, 2, s, sizeof(s) - 1) != 0)
		return -1;
	return fab_auth_derive(&k, &pp, keys) == 0 ? 0 : -1;
}

#endif /* FABRAFT_FUZZ_FAB_AUTH_KEYS_H */
