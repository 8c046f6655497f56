/* fabraft_secret.c — write a fresh cluster secret file (the fabraftd
 * --secret-file that peers authenticate with). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fabraft_secret.h"

int cl_secret_write(const char *path)
{
	unsigned char raw[16];
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
