/* wal_io.c — file-system helpers: full writes, fsync, zeroing, atomic
 * replace; aligned and growing allocations. */
#include "wal_io.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "heap.h"
#include "wal_format.h"

void wal__errf(char *errmsg, const char *fmt, ...)
{
	if (errmsg == NULL) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, FR_ERRMSG_SIZE, fmt, ap);
	va_end(ap);
}

int wal__errno_code(int e)
{
	switch (e) {
	case ENOSPC:
	case EFBIG:
	case EDQUOT:
		return FR_NOSPACE;
	case ENOMEM:
		return FR_NOMEM;
	default:
		return FR_IO;
	}
}

int wal__pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return errno;
		}
		if (n == 0) {
			return ENOSPC;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

long long wal__pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n =
		    pread(fd, p + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -(long long)errno;
		}
		if (n == 0) {
			break;
		}
		done += (size_t)n;
	}
	return (long long)done;
}

int wal__fsync_fd(int fd)
{
	return fsync(fd) == 0 ? 0 : errno;
}

int wal__zero_write(int fd, uint64_t from, uint64_t to)
{
	static const uint8_t zeros[WAL_BLOCK];
	while (from < to) {
		size_t n = to - from < sizeof(zeros) ? (size_t)(to - from)
						     : sizeof(zeros);
		int e = wal__pwrite_all(fd, zeros, n, from);
		if (e != 0) {
			return e;
		}
		from += n;
	}
	return 0;
}

void *wal__aligned_alloc(size_t size, void **raw)
{
	uint8_t *p = fr_malloc(size + WAL_BLOCK);
	*raw = p;
	if (p == NULL) {
		return NULL;
	}
	uintptr_t a =
	    ((uintptr_t)p + WAL_BLOCK - 1) & ~(uintptr_t)(WAL_BLOCK - 1);
	return (void *)a;
}

void *wal__grow(void *arr, uint32_t n, uint32_t *cap, uint32_t first,
		size_t size)
{
	assert(n <= *cap && first > 0);
	if (n < *cap) {
		return arr;
	}
	assert(*cap <= UINT32_MAX / 2);
	uint32_t next = *cap != 0 ? 2 * *cap : first;
	void *p = fr_realloc(arr, (size_t)next * size);
	if (p != NULL) {
		*cap = next;
	}
	return p;
}

int wal__replace_file(int dir_fd, const char *name, const char *tmp,
		      const void *buf, size_t len, const char **step)
{
	int fd =
	    openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		*step = "create";
		return errno;
	}
	int e = wal__pwrite_all(fd, buf, len, 0);
	if (e != 0) {
		*step = "write";
		goto err_close;
	}
	if (fsync(fd) != 0) {
		e = errno;
		*step = "fsync";
		goto err_close;
	}
	close(fd);
	if (renameat(dir_fd, tmp, dir_fd, name) != 0) {
		e = errno;
		*step = "rename";
		goto err_unlink;
	}
	if (fsync(dir_fd) != 0) {
		*step = "fsync of the directory";
		return errno;
	}
	return 0;

err_close:
	close(fd);
err_unlink:
	unlinkat(dir_fd, tmp, 0);
	return e;
}
