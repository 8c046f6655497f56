/* fuzz_seed_put.h — the seed generators' one output routine: write a file
 * of the corpus directory or exit. */
#ifndef FABRAFT_FUZZ_SEED_PUT_H
#define FABRAFT_FUZZ_SEED_PUT_H

#include <stdio.h>
#include <stdlib.h>

/* Write @len bytes of @buf (borrowed) to @dir/@name; exit(1) on failure. */
static inline void seed_put(const char *dir, const char *name, const void *buf,
			    size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

#endif /* FABRAFT_FUZZ_SEED_PUT_H */
