/* fabraft_secret.c — write a fresh cluster secret file (the fabraftd
 * --secret-file that peers authenticate with). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fab.h"
#include "fabraft_secret.h"

/* 256 random bits, written as hex: printable, and as long as the HMAC-SHA256
 * key can usefully be. */
#define CL_SECRET_RAW_BYTES 32u
_Static_assert(2 * CL_SECRET_RAW_BYTES >= FAB_SECRET_BYTES_MIN &&
		   2 * CL_SECRET_RAW_BYTES <= FAB_SECRET_BYTES_MAX,
	       "the written secret must pass fabraftd --secret-file");

int cl_secret_write(const char *path)
{
	unsigned char raw[CL_SECRET_RAW_BYTES];
	FILE *f;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	close(fd);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		fprintf(f, "%02x", raw[i]);
	}
	fprintf(f, "\n");
	return fclose(f) == 0 ? 0 : -1;
}
