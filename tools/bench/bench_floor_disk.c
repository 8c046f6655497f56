/* bench_floor_disk.c — the floor's files: each node's zero-filled file
 * written with the log's I/O pattern (docs/storage.md), and the socket
 * helpers the nodes share. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_floor_int.h"

int fl_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			return k < 0 ? errno : EIO;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* 0, or -1 at end of stream, or an errno. */
int fl_read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t k = read(fd, p, len);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k == 0) {
			return -1;
		}
		if (k < 0) {
			return errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t k = pwrite(fd, p, len, (off_t)off);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			return k < 0 ? errno : EIO;
		}
		p += k;
		len -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* The file, zero-filled and synced before the run (the log's spares are
 * too: appends then flush data only).  0 or an errno. */
int fl_disk_open(struct fl_disk *d, const char *dir, uint32_t id, bool buffered,
		 size_t max_append)
{
	snprintf(d->path, sizeof(d->path), "%s/fabraft-floor-%ld-%u.tmp", dir,
		 (long)getpid(), id);
	d->fd = -1;
	if (!buffered) {
		d->fd = open(d->path,
			     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT,
			     0600);
	}
	d->direct = d->fd >= 0;
	if (d->fd < 0 && (buffered || errno == EINVAL)) {
		d->fd =
		    open(d->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (d->fd < 0) {
		d->path[0] = '\0'; /* not ours to remove */
		return errno;
	}
	/* The tail block's bytes, then the largest append behind them. */
	d->cap = (max_append + 2 * (size_t)FL_BLOCK - 1) / FL_BLOCK * FL_BLOCK;
	if (posix_memalign((void **)&d->blk, FL_BLOCK, d->cap + FL_BLOCK) !=
	    0) {
		return ENOMEM;
	}
	d->hdr = d->blk + d->cap;
	memset(d->blk, 0, d->cap + FL_BLOCK);
	for (uint64_t off = 0; off < FL_FILE_BYTES; off += FL_BLOCK) {
		int e = pwrite_all(d->fd, d->blk, FL_BLOCK, off);
		if (e != 0) {
			return e;
		}
	}
	if (fdatasync(d->fd) != 0) {
		return errno;
	}
	d->off = FL_BLOCK;
	if (d->direct && syscall(SYS_io_setup, 2, &d->aio) != 0) {
		d->aio = 0; /* written one after the other, as the log does */
	}
	return 0;
}

int fl_disk_forked(struct fl_disk *d)
{
	if (d->aio == 0) {
		return 0; /* no AIO in the parent either: the same I/O */
	}
	d->aio = 0; /* the parent's: not usable here, destroyed by it */
	if (syscall(SYS_io_setup, 2, &d->aio) != 0) {
		d->aio = 0;
		return errno;
	}
	return 0;
}

void fl_disk_close(struct fl_disk *d)
{
	if (d->aio != 0) {
		syscall(SYS_io_destroy, d->aio);
	}
	if (d->fd >= 0) {
		close(d->fd);
	}
	if (d->path[0] != '\0') {
		unlink(d->path);
	}
	free(d->blk);
}

static void iocb_set(struct iocb *cb, int fd, const void *buf, uint64_t off,
		     uint64_t bytes)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = IOCB_CMD_PWRITE;
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_buf = (uint64_t)(uintptr_t)buf;
	cb->aio_nbytes = bytes;
	cb->aio_offset = (int64_t)off;
}

/* The data (@bytes, whole blocks) and the slot block in one submission, the
 * data first, as wal_aio.c does. */
static int disk_write2(struct fl_disk *d, uint64_t start, uint64_t bytes)
{
	struct iocb cbs[2], *p[2] = {&cbs[0], &cbs[1]};
	struct io_event ev[2];
	long got = 0;

	iocb_set(&cbs[0], d->fd, d->blk, start, bytes);
	iocb_set(&cbs[1], d->fd, d->hdr, 0, FL_BLOCK);
	if (syscall(SYS_io_submit, d->aio, 2, p) != 2) {
		return errno != 0 ? errno : EIO;
	}
	while (got < 2) {
		long r = syscall(SYS_io_getevents, d->aio, 2 - got, 2 - got,
				 ev + got, NULL);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return r < 0 ? errno : EIO;
		}
		got += r;
	}
	for (int i = 0; i < 2; i++) {
		const struct iocb *cb =
		    (const struct iocb *)(uintptr_t)ev[i].obj;
		if (ev[i].res != (int64_t)cb->aio_nbytes) {
			return ev[i].res < 0 ? (int)-ev[i].res : EIO;
		}
	}
	return 0;
}

/* The slot's next claim, in the header block written with the data. */
static void claim_next(struct fl_disk *d)
{
	d->seq++;
	memcpy(d->hdr + 512, &d->seq, sizeof(d->seq));
}

/* The slot and the data written, then fdatasync: O_DIRECT writes the
 * blocks from @start (@span bytes, whole blocks) with the slot block in one
 * submission; buffered writes the @len new bytes at @start + @in. */
static int disk_write(struct fl_disk *d, uint64_t start, size_t in, size_t len,
		      size_t span, const struct fl_opts *o)
{
	int e;

	if (!d->direct) {
		e = pwrite_all(d->fd, d->blk + in, len, start + in);
		if (e == 0 && o->slot) {
			e = pwrite_all(d->fd, d->hdr + 512, 512, 512);
		}
	} else if (o->slot && d->aio != 0) {
		e = disk_write2(d, start, span);
	} else {
		e = pwrite_all(d->fd, d->blk, span, start);
		if (e == 0 && o->slot) {
			e = pwrite_all(d->fd, d->hdr, FL_BLOCK, 0);
		}
	}
	if (e == 0 && fdatasync(d->fd) != 0) {
		e = errno;
	}
	return e;
}

/* Append @len bytes of @buf durably.  0 or an errno. */
int fl_disk_append(struct fl_disk *d, const uint8_t *buf, uint32_t len,
		   const struct fl_opts *o)
{
	if (d->off + len > FL_FILE_BYTES) {
		d->off = FL_BLOCK;
	}
	uint64_t start = d->off - d->off % FL_BLOCK;
	uint32_t in = (uint32_t)(d->off - start);

	if (in + len > FL_BLOCK) { /* the block is full: start the next */
		start += FL_BLOCK;
		d->off = start;
		in = 0;
		memset(d->blk, 0, FL_BLOCK);
	}
	memcpy(d->blk + in, buf, len);
	d->off += len;
	if (o->fresh) { /* the rest of the block stays zeros: padding */
		d->off = start + FL_BLOCK;
	}
	claim_next(d);
	return disk_write(d, start, in, len, FL_BLOCK, o);
}

int fl_disk_append_batch(struct fl_disk *d, const uint8_t *buf, size_t len,
			 const struct fl_opts *o)
{
	if (len + FL_BLOCK > d->cap) {
		return EMSGSIZE;
	}
	if (d->off + len + FL_BLOCK > FL_FILE_BYTES) {
		d->off = FL_BLOCK; /* wrap: an empty tail block */
	}
	uint64_t start = d->off - d->off % FL_BLOCK;
	size_t in = (size_t)(d->off - start); /* blk[0, in) holds the tail */
	size_t end = in + len;
	size_t span = (end + FL_BLOCK - 1) / FL_BLOCK * FL_BLOCK;
	int e;

	memcpy(d->blk + in, buf, len);
	memset(d->blk + end, 0, span - end);
	claim_next(d);
	e = disk_write(d, start, in, len, span, o);
	if (e != 0) {
		return e;
	}
	/* The partial last block becomes the next batch's tail. */
	size_t whole = end - end % FL_BLOCK;
	memmove(d->blk, d->blk + whole, end - whole);
	d->off = start + end;
	return 0;
}
