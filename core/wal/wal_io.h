/* wal_io.h — small file-system helpers of the wal (private). */
#ifndef FABRAFT_WAL_IO_H
#define FABRAFT_WAL_IO_H

#include <stddef.h>
#include <stdint.h>

/** printf into @errmsg (FR_ERRMSG_SIZE bytes) if it is not NULL. */
void wal__errf(char *errmsg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** The FR_* code for an errno value: FR_NOSPACE for ENOSPC, EFBIG and
 * EDQUOT, FR_NOMEM for ENOMEM, FR_IO otherwise. */
int wal__errno_code(int e);

/** Write all of @buf at @off, retrying short writes.  Returns 0 or an errno
 * (a write that makes no progress gives ENOSPC). */
int wal__pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/** Read up to @len bytes at @off (less only at end of file).  Returns the
 * bytes read or -errno. */
long long wal__pread_full(int fd, void *buf, size_t len, uint64_t off);

/** fsync a directory (after a create, rename or unlink in it).  0 or errno. */
int wal__fsync_fd(int fd);

/** Write zeros over [@from, @to) of @fd (buffered; the caller syncs), so
 * the blocks stay written extents.  0 or errno. */
int wal__zero_write(int fd, uint64_t from, uint64_t to);

/** Allocate @size bytes aligned to WAL_BLOCK through fr_malloc; *@raw
 * receives the pointer to pass to fr_free.  NULL when out of memory. */
void *wal__aligned_alloc(size_t size, void **raw);

/**
 * Room for entry @n of the array @arr (@size-byte entries, *@cap of them
 * allocated): when @n == *@cap it is reallocated through fr_realloc to
 * twice as many (@first when *@cap is 0) and *@cap updated.  Returns the
 * array, maybe moved, or NULL when out of memory (then @arr, still the
 * caller's, and *@cap are unchanged).
 */
void *wal__grow(void *arr, uint32_t n, uint32_t *cap, uint32_t first,
		size_t size);

/**
 * Replace @name in the directory @dir_fd with @len bytes of @buf
 * atomically: write @tmp, fsync it, rename it over @name, fsync the
 * directory.  Returns 0 or an errno; @step names the failing step.
 */
int wal__replace_file(int dir_fd, const char *name, const char *tmp,
		      const void *buf, size_t len, const char **step);

#endif /* FABRAFT_WAL_IO_H */
